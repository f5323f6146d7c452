package alisecret

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"

	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// Provider serves the credentials of one secret to the function's
// resourcemanager.Client, so that a rotated secret reaches a warm instance:
//
//   - NewProvider reads the secret (at cold start: a bad secret stops
//     start-up).
//   - Credentials older than the TTL are read again before use. When that
//     read fails, the credentials already read are kept (they may still be
//     valid) and the read is tried again after retryAfterFailure, or
//     at the next rejection.
//   - When the API rejects the credentials (resourcemanager.RefreshingProvider),
//     the secret is read again at once, unless it was read less than
//     minReread ago or another call has already replaced the rejected
//     credentials; the client then retries the call once.
//
// Reads that fall due at the same time share one GetSecretValue. Each read
// is logged (reason, and whether the credentials changed) on the
// invocation's logger, never with any part of the value.
type Provider struct {
	read   func(ctx context.Context) (resourcemanager.Credentials, error)
	ttl    time.Duration
	now    func() time.Time
	flight singleflight.Group

	mu      sync.Mutex
	creds   resourcemanager.Credentials
	readAt  time.Time // when creds were read
	retryAt time.Time // after a failed read: none before this
}

const (
	// minReread bounds how often a rejection re-reads the secret: a wrong
	// secret makes every call fail, and each would read it again.
	minReread = time.Second
	// retryAfterFailure: after a failed read past the TTL, the next read
	// waits this long (at most the TTL).
	retryAfterFailure = 30 * time.Second
	// readTimeout bounds one read, which calls waiting at the same time
	// share: it does not end with the context of the call that started it.
	readTimeout = 10 * time.Second
)

var _ resourcemanager.RefreshingProvider = (*Provider)(nil)

// NewProvider reads the secret secretID as Load does and returns a Provider
// that reads it again once what it read is older than ttl (> 0).
func NewProvider(ctx context.Context, awsCfg aws.Config, secretID string, ttl time.Duration) (*Provider, error) {
	return newProvider(ctx, func(ctx context.Context) (resourcemanager.Credentials, error) {
		return Load(ctx, awsCfg, secretID)
	}, ttl, time.Now)
}

func newProvider(ctx context.Context, read func(context.Context) (resourcemanager.Credentials, error), ttl time.Duration, now func() time.Time) (*Provider, error) {
	c, err := read(ctx)
	if err != nil {
		return nil, err
	}
	return &Provider{read: read, ttl: ttl, now: now, creds: c, readAt: now()}, nil
}

// Credentials returns the credentials read last, after reading the secret
// again when they are older than the TTL.
func (p *Provider) Credentials(ctx context.Context) (resourcemanager.Credentials, error) {
	p.mu.Lock()
	c, due := p.creds, p.dueLocked()
	p.mu.Unlock()
	if !due {
		return c, nil
	}
	fresh, err := p.reread(ctx, "ttl", nil)
	if err != nil {
		return c, nil // kept: see the type's doc comment
	}
	return fresh, nil
}

// dueLocked reports whether the TTL asks for a read now.
func (p *Provider) dueLocked() bool {
	now := p.now()
	return now.Sub(p.readAt) >= p.ttl && !now.Before(p.retryAt)
}

// Refresh reads the secret again after the API rejected the credentials
// rejected, and returns what the provider holds then.
func (p *Provider) Refresh(ctx context.Context, rejected resourcemanager.Credentials) (resourcemanager.Credentials, error) {
	return p.reread(ctx, "rejected", &rejected)
}

// reread reads the secret, once for every caller waiting at the same time,
// unless (for a rejection) the credentials held are not the rejected ones
// or were read less than minReread ago.
func (p *Provider) reread(ctx context.Context, reason string, rejected *resourcemanager.Credentials) (resourcemanager.Credentials, error) {
	ch := p.flight.DoChan("read", func() (any, error) {
		p.mu.Lock()
		held, readAt := p.creds, p.readAt
		skip := false
		if rejected != nil {
			skip = held != *rejected || p.now().Sub(readAt) < minReread
		} else {
			skip = !p.dueLocked() // a read that ended meanwhile served this one
		}
		p.mu.Unlock()
		if skip {
			return held, nil
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
		defer cancel()
		c, err := p.read(rctx)
		p.mu.Lock()
		defer p.mu.Unlock()
		log := zerolog.Ctx(ctx)
		if err != nil {
			p.retryAt = p.now().Add(min(retryAfterFailure, p.ttl))
			log.Warn().Str("reason", reason).Err(err).Msg("credentials secret could not be read again; keeping the credentials read before")
			return held, err
		}
		changed := c != p.creds
		p.creds, p.readAt, p.retryAt = c, p.now(), time.Time{}
		log.Info().Str("reason", reason).Bool("changed", changed).Msg("credentials secret read again")
		return c, nil
	})
	select {
	case r := <-ch:
		c, _ := r.Val.(resourcemanager.Credentials)
		return c, r.Err
	case <-ctx.Done():
		return resourcemanager.Credentials{}, ctx.Err()
	}
}
