package resourcemanager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"golang.org/x/sync/singleflight"
)

// Credentials are one set of Alibaba Cloud credentials. SecurityToken is set
// for STS credentials.
//
// Printing Credentials with any fmt verb, or marshalling them to JSON, shows
// a masked AccessKeyID and never the secret or the token.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// valid reports whether c can sign a request.
func (c Credentials) valid() bool { return c.AccessKeyID != "" && c.AccessKeySecret != "" }

// String describes c without its secret or token.
func (c Credentials) String() string {
	tok := "none"
	if c.SecurityToken != "" {
		tok = "[redacted]"
	}
	sec := "none"
	if c.AccessKeySecret != "" {
		sec = "[redacted]"
	}
	return "Credentials{AccessKeyID: " + maskID(c.AccessKeyID) + ", AccessKeySecret: " + sec + ", SecurityToken: " + tok + "}"
}

// GoString is String, so that %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, ...) print String.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	io.WriteString(f, c.String())
}

// MarshalJSON writes the redacted form, so that a logger that marshals
// values (zerolog's Interface, encoding/json) cannot leak the secret.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%q", c.String()), nil
}

// maskID keeps the first four characters of an AccessKey ID (the "LTAI" or
// "STS." prefix says which kind it is) and hides the rest.
func maskID(id string) string {
	switch {
	case id == "":
		return "none"
	case len(id) <= 4:
		return "****"
	}
	return id[:4] + "****"
}

// CredentialsProvider supplies credentials for each request.
type CredentialsProvider interface {
	Credentials(ctx context.Context) (Credentials, error)
}

type staticProvider struct{ c Credentials }

func (p staticProvider) Credentials(context.Context) (Credentials, error) { return p.c, nil }

// StaticCredentials returns a provider that always supplies c: an AccessKey
// pair, or STS credentials when c.SecurityToken is set.
func StaticCredentials(c Credentials) CredentialsProvider { return staticProvider{c} }

// DefaultCredentials returns a provider backed by the credentials-go default
// chain (environment variables, OIDC, CLI profile, credentials file, ECS RAM
// role, credentials URI). The chain is consulted lazily, on the first
// request that has no per-invocation credentials (see WithCredentials), so
// that a function which always gets its credentials from the platform never
// needs a chain that resolves.
func DefaultCredentials() (CredentialsProvider, error) {
	cred, err := credentials.NewCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("resourcemanager: default credentials chain: %w", err)
	}
	return &chainProvider{cred: cred, now: time.Now}, nil
}

// chainProvider adapts a credentials-go Credential.
//
// What the chain returns is kept for chainCacheTTL: a sweep signs up to
// hundreds of requests a second, and the chain's providers of temporary
// credentials renew them minutes before they expire (credentials-go:
// 180 s), far more than the cache keeps them. Calls that find the cache
// empty or stale at the same time share one call to the chain (which
// remembers the provider it last used without a lock, and may go over the
// network); since the chain takes no context, that call runs in a
// goroutine each caller can stop waiting for (the chain's own HTTP
// timeouts bound it).
type chainProvider struct {
	cred   credentials.Credential
	now    func() time.Time
	flight singleflight.Group

	mu      sync.Mutex
	cached  Credentials
	fetched time.Time // zero: nothing cached
}

// fresh returns the cached credentials while they are fresh.
func (p *chainProvider) fresh() (Credentials, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.fetched.IsZero() && p.now().Sub(p.fetched) < chainCacheTTL {
		return p.cached, true
	}
	return Credentials{}, false
}

// chainCacheTTL is how long credentials from the chain are reused.
const chainCacheTTL = 10 * time.Second

// ErrNoCredentials is wrapped by the error a call returns when no
// credentials could be found.
var ErrNoCredentials = errors.New("resourcemanager: no credentials")

func (p *chainProvider) Credentials(ctx context.Context) (Credentials, error) {
	if c, ok := p.fresh(); ok {
		return c, nil
	}
	ch := p.flight.DoChan("chain", func() (any, error) {
		// A flight that ended between this caller's miss and this call
		// has filled the cache: no second call to the chain.
		if c, ok := p.fresh(); ok {
			return c, nil
		}
		c, err := p.fetch()
		if err == nil && c.valid() {
			p.mu.Lock()
			p.cached, p.fetched = c, p.now()
			p.mu.Unlock()
		}
		return c, err
	})
	select {
	case r := <-ch:
		c, _ := r.Val.(Credentials)
		return c, r.Err
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
}

// fetch asks the chain.
func (p *chainProvider) fetch() (Credentials, error) {
	m, err := p.cred.GetCredential()
	if err != nil {
		// credentials-go errors name the sources it tried, never a secret.
		return Credentials{}, fmt.Errorf("%w: default chain: %w", ErrNoCredentials, err)
	}
	var c Credentials
	if m.AccessKeyId != nil {
		c.AccessKeyID = *m.AccessKeyId
	}
	if m.AccessKeySecret != nil {
		c.AccessKeySecret = *m.AccessKeySecret
	}
	if m.SecurityToken != nil {
		c.SecurityToken = *m.SecurityToken
	}
	return c, nil
}

type credentialsKey struct{}

// WithCredentials returns a context carrying c for the calls made with it.
// Per-invocation credentials (Function Compute hands each invocation its
// role's key, secret and token, which rotate) take precedence over the
// Client's provider and are never kept by the Client.
func WithCredentials(ctx context.Context, c Credentials) context.Context {
	return context.WithValue(ctx, credentialsKey{}, c)
}

// credentialsFor picks the credentials for one attempt: the context's, else
// the provider's.
func (c *Client) credentialsFor(ctx context.Context) (Credentials, error) {
	if cr, ok := ctx.Value(credentialsKey{}).(Credentials); ok && cr.valid() {
		return cr, nil
	}
	if c.creds == nil {
		return Credentials{}, fmt.Errorf("%w: none in the context and no provider configured", ErrNoCredentials)
	}
	cr, err := c.creds.Credentials(ctx)
	if err != nil {
		if errors.Is(err, ErrNoCredentials) || ctx.Err() != nil {
			return Credentials{}, err
		}
		return Credentials{}, fmt.Errorf("%w: %w", ErrNoCredentials, err)
	}
	if !cr.valid() {
		return Credentials{}, fmt.Errorf("%w: the provider returned an empty AccessKey ID or secret", ErrNoCredentials)
	}
	return cr, nil
}
