package alisecret

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

var (
	keyA = resourcemanager.Credentials{AccessKeyID: "LTAI5tKeyA000000001", AccessKeySecret: "secret-of-key-a"}
	keyB = resourcemanager.Credentials{AccessKeyID: "LTAI5tKeyB000000002", AccessKeySecret: "secret-of-key-b"}
)

// fakeSecret is a secret store with a clock the test moves.
type fakeSecret struct {
	mu    sync.Mutex
	value resourcemanager.Credentials
	err   error
	reads int
	gate  chan struct{} // when set, a read waits for it
	t     time.Time
}

func (f *fakeSecret) read(context.Context) (resourcemanager.Credentials, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.value, f.err
}

func (f *fakeSecret) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeSecret) set(c resourcemanager.Credentials, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.err = c, err
}

func (f *fakeSecret) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func (f *fakeSecret) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func newFake(t *testing.T, ttl time.Duration) (*fakeSecret, *Provider) {
	t.Helper()
	f := &fakeSecret{value: keyA, t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := newProvider(context.Background(), f.read, ttl, f.now)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func mustCreds(t *testing.T, p *Provider, want resourcemanager.Credentials) {
	t.Helper()
	got, err := p.Credentials(context.Background())
	if err != nil || got != want {
		t.Fatalf("Credentials = %v, %v; want %v", got, err, want)
	}
}

func TestProviderReadsTheSecretAgainAfterItsTTL(t *testing.T) {
	f, p := newFake(t, 5*time.Minute)
	f.set(keyB, nil) // rotated
	f.advance(5*time.Minute - time.Second)
	mustCreds(t, p, keyA) // within the TTL: what was read at cold start
	if n := f.count(); n != 1 {
		t.Fatalf("%d reads within the TTL, want the cold start's only", n)
	}
	f.advance(time.Second)
	mustCreds(t, p, keyB)
	mustCreds(t, p, keyB)
	if n := f.count(); n != 2 {
		t.Fatalf("%d reads, want 2: the cold start's and one at the TTL", n)
	}
}

func TestProviderKeepsWhatItReadWhenAReadAtTheTTLFails(t *testing.T) {
	f, p := newFake(t, time.Minute)
	f.set(resourcemanager.Credentials{}, errors.New("Secrets Manager unavailable"))
	f.advance(time.Minute)
	mustCreds(t, p, keyA)
	mustCreds(t, p, keyA) // no new read before retryAfterFailure
	if n := f.count(); n != 2 {
		t.Fatalf("%d reads, want 2: a failed read is not tried again at once", n)
	}
	f.set(keyB, nil)
	f.advance(retryAfterFailure)
	mustCreds(t, p, keyB)
}

func TestProviderReadsAgainAtOnceWhenTheCredentialsAreRejected(t *testing.T) {
	f, p := newFake(t, time.Hour)
	f.set(keyB, nil)
	f.advance(minReread)
	got, err := p.Refresh(context.Background(), keyA)
	if err != nil || got != keyB {
		t.Fatalf("Refresh = %v, %v; want %v", got, err, keyB)
	}
	mustCreds(t, p, keyB)
	// A call that was signed with the old key and is rejected later does
	// not read again: the provider already holds other credentials.
	if got, err := p.Refresh(context.Background(), keyA); err != nil || got != keyB || f.count() != 2 {
		t.Fatalf("Refresh(old) = %v, %v after %d reads; want %v and no new read", got, err, f.count(), keyB)
	}
	// The new key rejected right after it was read: no read within minReread.
	if got, _ := p.Refresh(context.Background(), keyB); got != keyB || f.count() != 2 {
		t.Fatalf("Refresh(new, at once) = %v after %d reads, want %v and no new read", got, f.count(), keyB)
	}
	// A secret that cannot be read: the error, for the call to report.
	f.set(resourcemanager.Credentials{}, errors.New("AccessDeniedException"))
	f.advance(minReread)
	if _, err := p.Refresh(context.Background(), keyB); err == nil || f.count() != 3 {
		t.Fatalf("Refresh with the secret unreadable: %v after %d reads, want an error after 3", err, f.count())
	}
}

func TestProviderConcurrentRejectionsShareOneRead(t *testing.T) {
	f, p := newFake(t, time.Hour)
	f.set(keyB, nil)
	f.advance(minReread)
	f.gate = make(chan struct{})
	var wg sync.WaitGroup
	results := make(chan resourcemanager.Credentials, 8)
	for range 8 {
		wg.Go(func() {
			c, err := p.Refresh(context.Background(), keyA)
			if err != nil {
				t.Error(err)
			}
			results <- c
		})
	}
	time.Sleep(20 * time.Millisecond) // let them pile up on the one read
	close(f.gate)
	wg.Wait()
	close(results)
	for c := range results {
		if c != keyB {
			t.Errorf("a caller got %v, want %v", c, keyB)
		}
	}
	if n := f.count(); n != 2 {
		t.Errorf("%d reads, want 2: the cold start's and one shared by the 8 rejections", n)
	}
}
