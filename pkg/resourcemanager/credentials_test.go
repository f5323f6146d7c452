package resourcemanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
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
	p, err := DefaultCredentials()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cp := p.(*chainProvider)
	cp.sem <- struct{}{} // another call holds the chain
	defer func() { <-cp.sem }()
	if _, err := p.Credentials(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// chainStub is a credentials-go Credential that counts GetCredential calls
// and hands out a new key each time, or fails.
type chainStub struct {
	oracleCredential
	calls int
	fail  bool
}

func (s *chainStub) GetCredential() (*credentials.CredentialModel, error) {
	s.calls++
	if s.fail {
		return nil, errors.New("no source")
	}
	id := fmt.Sprintf("key-%d", s.calls)
	return &credentials.CredentialModel{AccessKeyId: &id, AccessKeySecret: &id}, nil
}

func TestChainCredentialsAreReusedForAFewSecondsOnly(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	stub := &chainStub{}
	p := &chainProvider{cred: stub, sem: make(chan struct{}, 1), now: clk.now}
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
	if stub.calls != 2 {
		t.Fatalf("chain asked %d times, want 2", stub.calls)
	}
}

func TestChainFailuresAreNotCached(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	stub := &chainStub{fail: true}
	p := &chainProvider{cred: stub, sem: make(chan struct{}, 1), now: clk.now}
	for range 3 {
		if _, err := p.Credentials(context.Background()); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("err %v, want ErrNoCredentials", err)
		}
	}
	stub.fail = false
	if c, err := p.Credentials(context.Background()); err != nil || c.AccessKeyID != "key-4" {
		t.Fatalf("%v, %v after the chain recovered; want key-4", c, err)
	}
}
