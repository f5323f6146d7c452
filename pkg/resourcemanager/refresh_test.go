package resourcemanager

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// store is a RefreshingProvider over a value that can be rotated: what a
// secret store holds. Credentials returns what was last read; Refresh reads
// the store again, unless what was read is not the rejected credentials.
type store struct {
	mu        sync.Mutex
	value     Credentials // what the store holds now
	read      Credentials // what the provider read last
	readErr   error       // the next read fails with this
	refreshes int         // calls of Refresh that read the store
}

func newStore(c Credentials) *store { return &store{value: c, read: c} }

func (s *store) Credentials(context.Context) (Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read, nil
}

func (s *store) Refresh(_ context.Context, rejected Credentials) (Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.read != rejected {
		return s.read, nil
	}
	s.refreshes++
	if s.readErr != nil {
		return Credentials{}, s.readErr
	}
	s.read = s.value
	return s.read, nil
}

func (s *store) rotate(c Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value = c
}

func (s *store) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

var rotatedAK = Credentials{AccessKeyID: "LTAI5tRotatedKey00002", AccessKeySecret: "rotated-secret-for-the-emulator"}

func TestRejectedCredentialsAreReadAgainOnceAndTheCallSentAgain(t *testing.T) {
	// What the emulator accepts after the rotation, for each way the old
	// credentials can be refused.
	tests := []struct {
		name     string
		old      Credentials
		accepted map[string]rmemu.Credential
		code     string
	}{
		{"old key deleted", testAK,
			map[string]rmemu.Credential{rotatedAK.AccessKeyID: {AccessKeySecret: rotatedAK.AccessKeySecret}},
			"InvalidAccessKeyId.NotFound"},
		{"old key disabled", testAK,
			map[string]rmemu.Credential{rotatedAK.AccessKeyID: {AccessKeySecret: rotatedAK.AccessKeySecret}, testAK.AccessKeyID: {AccessKeySecret: testAK.AccessKeySecret, Disabled: true}},
			"InvalidAccessKeyId.Inactive"},
		{"secret changed", Credentials{AccessKeyID: rotatedAK.AccessKeyID, AccessKeySecret: "the-secret-before-rotation"},
			map[string]rmemu.Credential{rotatedAK.AccessKeyID: {AccessKeySecret: rotatedAK.AccessKeySecret}},
			"SignatureDoesNotMatch"},
		{"STS token expired", testSTS,
			map[string]rmemu.Credential{testSTS.AccessKeyID: {AccessKeySecret: testSTS.AccessKeySecret, SecurityToken: testSTS.SecurityToken, Expiration: time.Now().Add(-time.Minute)}, rotatedAK.AccessKeyID: {AccessKeySecret: rotatedAK.AccessKeySecret}},
			"InvalidSecurityToken.Expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t, rmemu.Options{})
			id := e.seedOne(t, "h-Rotate0000000001", "")
			e.SetCredentials(tt.accepted)
			s := newStore(tt.old)
			s.rotate(rotatedAK)
			c := fastClient(t, e.url, Options{Credentials: s})
			res, err := c.CancelHandshake(context.Background(), id)
			if err != nil {
				t.Fatalf("cancel after the rotation: %v", err)
			}
			if res.Attempts != 2 || s.count() != 1 {
				t.Errorf("%d attempts, %d reads of the store; want 2 and 1", res.Attempts, s.count())
			}
			calls := e.Calls()
			if len(calls) != 2 || calls[0].Code != tt.code || calls[1].AccessKeyID != rotatedAK.AccessKeyID || calls[1].Status != 200 {
				t.Errorf("emulator saw %+v, want %s then a success with the new key", calls, tt.code)
			}
			if e.Status(string(id)) != handshake.StatusCancelled {
				t.Errorf("invitation %s", e.Status(string(id)))
			}
		})
	}
}

func TestRejectedCredentialsAreReadAgainOnlyOncePerCall(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	id := e.seedOne(t, "h-Rotate0000000002", "")
	wrong := Credentials{AccessKeyID: testAK.AccessKeyID, AccessKeySecret: "wrong-secret-0123456789"}

	t.Run("the store holds the same rejected value: no second attempt", func(t *testing.T) {
		s := newStore(wrong)
		c := fastClient(t, e.url, Options{Credentials: s})
		res, err := c.CancelHandshake(context.Background(), id)
		if ErrorCode(err) != "SignatureDoesNotMatch" || res.Attempts != 1 || s.count() != 1 {
			t.Fatalf("%v after %d attempts, %d reads; want SignatureDoesNotMatch after 1 attempt and 1 read", err, res.Attempts, s.count())
		}
		assertNoSecrets(t, err, wrong)
	})
	t.Run("the new value is rejected too: one retry, then the error", func(t *testing.T) {
		s := newStore(wrong)
		alsoWrong := Credentials{AccessKeyID: "LTAI5tNoSuchKey000003", AccessKeySecret: "also-wrong-secret-0123"}
		s.rotate(alsoWrong)
		c := fastClient(t, e.url, Options{Credentials: s})
		res, err := c.CancelHandshake(context.Background(), id)
		if ErrorCode(err) != "InvalidAccessKeyId.NotFound" || res.Attempts != 2 || s.count() != 1 {
			t.Fatalf("%v after %d attempts, %d reads; want InvalidAccessKeyId.NotFound after 2 attempts and 1 read", err, res.Attempts, s.count())
		}
		assertNoSecrets(t, err, alsoWrong)
	})
	t.Run("the store cannot be read: the API's error and the store's", func(t *testing.T) {
		s := newStore(wrong)
		s.readErr = errors.New("secret store unreachable")
		c := fastClient(t, e.url, Options{Credentials: s})
		res, err := c.CancelHandshake(context.Background(), id)
		if ErrorCode(err) != "SignatureDoesNotMatch" || res.Attempts != 1 || !errors.Is(err, s.readErr) {
			t.Fatalf("%v (code %s) after %d attempts; want SignatureDoesNotMatch wrapping the store's error after 1 attempt", err, ErrorCode(err), res.Attempts)
		}
		assertNoSecrets(t, err, wrong)
	})
	t.Run("the invocation's own credentials are never refreshed", func(t *testing.T) {
		s := newStore(testAK)
		c := fastClient(t, e.url, Options{Credentials: s})
		res, err := c.CancelHandshake(WithCredentials(context.Background(), wrong), id)
		if ErrorCode(err) != "SignatureDoesNotMatch" || res.Attempts != 1 || s.count() != 0 {
			t.Fatalf("%v after %d attempts, %d reads; want SignatureDoesNotMatch after 1 attempt and no read", err, res.Attempts, s.count())
		}
	})
	if e.Status(string(id)) != handshake.StatusPending {
		t.Fatal("a call with rejected credentials changed the invitation")
	}
}

func TestConcurrentRejectionsReadTheStoreOnce(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	e.SetCredentials(map[string]rmemu.Credential{rotatedAK.AccessKeyID: {AccessKeySecret: rotatedAK.AccessKeySecret}})
	s := newStore(testAK)
	s.rotate(rotatedAK)
	c := fastClient(t, e.url, Options{Credentials: s})
	ids := []string{"h-Rotate0000000011", "h-Rotate0000000012", "h-Rotate0000000013", "h-Rotate0000000014"}
	var wg sync.WaitGroup
	for _, raw := range ids {
		id := e.seedOne(t, raw, "")
		wg.Go(func() {
			if _, err := c.CancelHandshake(context.Background(), id); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		})
	}
	wg.Wait()
	if n := s.count(); n != 1 {
		t.Errorf("the store was read %d times for one rotation, want 1", n)
	}
}

func TestCredentialsRejectedCodes(t *testing.T) {
	for code, want := range map[string]bool{
		"InvalidAccessKeyId":                         true,
		"InvalidAccessKeyId.NotFound":                true,
		"InvalidAccessKeyId.Inactive":                true,
		"SignatureDoesNotMatch":                      true,
		"InvalidSecurityToken.Expired":               true,
		"InvalidSecurityToken.Malformed":             true,
		"InvalidSecurityToken.MismatchWithAccessKey": true,
		"InvalidAccessKeyIdX":                        false,
		"SignatureNonceUsed":                         false,
		"Forbidden.RAM":                              false,
		"Throttling.User":                            false,
		"HandshakeStatusMismatch":                    false,
	} {
		if got := (&APIError{Code: code}).credentialsRejected(); got != want {
			t.Errorf("%s: credentialsRejected = %v, want %v", code, got, want)
		}
	}
}
