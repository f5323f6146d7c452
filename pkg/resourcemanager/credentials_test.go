package resourcemanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aliyun/credentials-go/credentials"
)

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := Credentials{AccessKeyID: "LTAI5tSecretishID", AccessKeySecret: "very-secret-value", SecurityToken: "CAISsecret-token"}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	jp, _ := json.Marshal(&c)
	outs := []string{
		c.String(), c.GoString(),
		fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%s", c), fmt.Sprintf("%q", c), fmt.Sprintf("%x", c), fmt.Sprintf("%v", &c),
		fmt.Sprintf("%+v", struct{ C Credentials }{c}), fmt.Sprintf("%#v", []Credentials{c}),
		string(j), string(jp),
	}
	for _, s := range outs {
		for _, secret := range []string{c.AccessKeySecret, c.SecurityToken, "SecretishID"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
	}
	if !strings.Contains(c.String(), "LTAI****") {
		t.Errorf("String() = %q, want the masked key ID", c.String())
	}
}

// countingProvider counts its calls.
type countingProvider struct {
	c     Credentials
	err   error
	calls int
}

func (p *countingProvider) Credentials(context.Context) (Credentials, error) {
	p.calls++
	return p.c, p.err
}

func TestCredentialsForPrefersTheContext(t *testing.T) {
	p := &countingProvider{c: Credentials{AccessKeyID: "provider", AccessKeySecret: "s"}}
	c := &Client{creds: p}
	inv := Credentials{AccessKeyID: "STS.invocation", AccessKeySecret: "s2", SecurityToken: "t"}
	got, err := c.credentialsFor(WithCredentials(context.Background(), inv))
	if err != nil || got != inv {
		t.Fatalf("credentialsFor = %v, %v; want the invocation's", got, err)
	}
	if p.calls != 0 {
		t.Fatalf("provider called %d times although the context had credentials", p.calls)
	}
	// Empty context credentials fall back to the provider.
	got, err = c.credentialsFor(WithCredentials(context.Background(), Credentials{}))
	if err != nil || got.AccessKeyID != "provider" {
		t.Fatalf("credentialsFor = %v, %v; want the provider's", got, err)
	}
}

func TestCredentialsForErrors(t *testing.T) {
	tests := []struct {
		name string
		c    *Client
	}{
		{"no provider", &Client{}},
		{"provider fails", &Client{creds: &countingProvider{err: errors.New("imds down")}}},
		{"provider returns nothing", &Client{creds: &countingProvider{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.credentialsFor(context.Background())
			if !errors.Is(err, ErrNoCredentials) || ErrorCode(err) != "NoCredentials" {
				t.Fatalf("err = %v (code %q), want ErrNoCredentials", err, ErrorCode(err))
			}
		})
	}
}

func TestDefaultCredentialsReadsTheChain(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIfromenv")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
	t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
	p, err := DefaultCredentials()
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{AccessKeyID: "LTAIfromenv", AccessKeySecret: "env-secret", SecurityToken: "env-token"}
	if got != want {
		t.Fatalf("Credentials = %v, want %v", got, want)
	}
}

func TestDefaultCredentialsHonoursContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	p := &chainProvider{cred: &chainStub{block: release}, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The chain hangs; the caller does not wait for it.
	if _, err := p.Credentials(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentCacheMissesShareOneChainCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		stub := &chainStub{block: release}
		p := &chainProvider{cred: stub, now: time.Now}
		const callers = 16
		got := make(chan Credentials, callers)
		for range callers {
			go func() {
				c, err := p.Credentials(context.Background())
				if err != nil {
					t.Error(err)
				}
				got <- c
			}()
		}
		// Every caller has missed the cache and is waiting: one in the
		// chain, the others for its answer.
		synctest.Wait()
		close(release)
		for range callers {
			if c := <-got; c.AccessKeyID != "key-1" {
				t.Fatalf("a caller got %v, want the one fetch's key-1", c)
			}
		}
		if n := stub.count(); n != 1 {
			t.Fatalf("chain asked %d times by %d concurrent callers, want once", n, callers)
		}
	})
}

// chainStub is a credentials-go Credential that counts GetCredential calls
// and hands out a new key each time, or fails.
// It waits for block to be closed first, when set.
type chainStub struct {
	oracleCredential
	block chan struct{}

	mu    sync.Mutex
	calls int
	fail  bool
}

func (s *chainStub) GetCredential() (*credentials.CredentialModel, error) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail {
		return nil, errors.New("no source")
	}
	id := fmt.Sprintf("key-%d", s.calls)
	return &credentials.CredentialModel{AccessKeyId: &id, AccessKeySecret: &id}, nil
}

func (s *chainStub) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestChainCredentialsAreReusedForAFewSecondsOnly(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	stub := &chainStub{}
	p := &chainProvider{cred: stub, now: clk.now}
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		wantID  string
	}{
		{0, "key-1"},
		{time.Second, "key-1"},
		{chainCacheTTL - time.Second - time.Nanosecond, "key-1"},
		{time.Nanosecond, "key-2"}, // chainCacheTTL after the first fetch
		{time.Second, "key-2"},
	}
	for i, st := range steps {
		clk.advance(st.advance)
		c, err := p.Credentials(ctx)
		if err != nil || c.AccessKeyID != st.wantID {
			t.Fatalf("step %d: %v, %v; want %s", i, c, err, st.wantID)
		}
	}
	if stub.count() != 2 {
		t.Fatalf("chain asked %d times, want 2", stub.calls)
	}
}

func TestChainFailuresAreNotCached(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	stub := &chainStub{fail: true}
	p := &chainProvider{cred: stub, now: clk.now}
	for range 3 {
		if _, err := p.Credentials(context.Background()); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("err %v, want ErrNoCredentials", err)
		}
	}
	stub.mu.Lock()
	stub.fail = false
	stub.mu.Unlock()
	if c, err := p.Credentials(context.Background()); err != nil || c.AccessKeyID != "key-4" {
		t.Fatalf("%v, %v after the chain recovered; want key-4", c, err)
	}
}
