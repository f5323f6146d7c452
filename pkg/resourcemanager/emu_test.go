package resourcemanager

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// The Client against the emulator over real HTTP on 127.0.0.1.

// actionGet is an action the Client does not call (production has no use
// for it) but the emulator serves: the signature oracle signs it too.
const actionGet = "GetHandshake"

var (
	testAK  = Credentials{AccessKeyID: rmemu.TestAccessKeyID, AccessKeySecret: rmemu.TestAccessKeySecret}
	testSTS = Credentials{AccessKeyID: rmemu.TestSTSAccessKeyID, AccessKeySecret: rmemu.TestSTSAccessKeySecret, SecurityToken: rmemu.TestSecurityToken}
)

type emu struct {
	*rmemu.Server
	url string
}

func newEmu(t *testing.T, opts rmemu.Options) *emu {
	t.Helper()
	srv := rmemu.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &emu{Server: srv, url: hs.URL}
}

// fastClient is a Client for tests: quick backoff, high rate limit, the
// emulator's test credentials unless opts says otherwise.
func fastClient(t *testing.T, endpoint string, opts Options) *Client {
	t.Helper()
	opts.Endpoint = endpoint
	if opts.Credentials == nil {
		opts.Credentials = StaticCredentials(testAK)
	}
	if opts.QPS == 0 {
		opts.QPS = 1000
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	setBackoff(t, c, opts, time.Millisecond, 4*time.Millisecond)
	return c
}

// setBackoff gives c a Pacer of opts whose backoff is base and cap.
func setBackoff(t *testing.T, c *Client, opts Options, base, cap time.Duration) {
	t.Helper()
	p, err := pacing.New(pacing.Options{QPS: opts.QPS, MaxAttempts: opts.MaxAttempts, BackoffBase: base, BackoffCap: cap})
	if err != nil {
		t.Fatal(err)
	}
	c.pacer = p
}

// withAPITimeout returns ctx carrying the Budget of its deadline with
// apiTimeout: the attempts of a call in it take at most apiTimeout.
func withAPITimeout(ctx context.Context, apiTimeout time.Duration) context.Context {
	return deadline.NewContext(ctx, deadline.For(ctx, apiTimeout))
}

func mustID(t *testing.T, s string) handshake.ID {
	t.Helper()
	id, err := handshake.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// seedOne adds a Pending invitation (or one in status st) and returns its ID.
func (e *emu) seedOne(t *testing.T, id string, st handshake.Status) handshake.ID {
	t.Helper()
	if err := e.Seed(handshake.Handshake{HandshakeID: id, Status: st, TargetEntity: "someone@example.com", Note: "Welcome"}); err != nil {
		t.Fatal(err)
	}
	return mustID(t, id)
}

func TestEmuCancelOutcomes(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	c := fastClient(t, e.url, Options{})
	ctx := context.Background()
	pending := e.seedOne(t, "h-Pending000000001", handshake.StatusPending)

	res, err := c.CancelHandshake(ctx, pending)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if res.Handshake.Status != handshake.StatusCancelled || res.Handshake.HandshakeID != string(pending) || res.RequestID == "" || res.Attempts != 1 {
		t.Fatalf("cancel result %+v", res)
	}
	if e.Status(string(pending)) != handshake.StatusCancelled {
		t.Fatalf("emulator status %s, want Cancelled", e.Status(string(pending)))
	}

	tests := []struct {
		name  string
		id    handshake.ID
		check func(error) bool
		code  string
	}{
		{"already cancelled", pending, IsStatusMismatch, "HandshakeStatusMismatch"},
		{"accepted", e.seedOne(t, "h-Accepted00000001", handshake.StatusAccepted), IsStatusMismatch, "HandshakeStatusMismatch"},
		{"declined", e.seedOne(t, "h-Declined00000001", handshake.StatusDeclined), IsStatusMismatch, "HandshakeStatusMismatch"},
		{"expired", e.seedOne(t, "h-Expired000000001", handshake.StatusExpired), IsStatusMismatch, "HandshakeStatusMismatch"},
		{"not found", mustID(t, "h-Unknown000000001"), IsNotFound, "EntityNotExists.Handshake"},
		// An ID the API refuses although it reached the client (the type
		// conversion stands for a local check that let it through).
		{"invalid", handshake.ID("h-short"), IsInvalidID, "InvalidParameter.HandshakeId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.CancelHandshake(ctx, tt.id)
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if ErrorCode(err) != tt.code || IsRetryable(err) {
				t.Fatalf("code %q retryable %v, want %q and not retryable", ErrorCode(err), IsRetryable(err), tt.code)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.RequestID == "" || ae.HostID == "" || ae.Message == "" {
				t.Fatalf("API error fields missing: %+v", ae)
			}
			if res.Attempts != 1 || res.RequestID != ae.RequestID {
				t.Fatalf("result %+v, want 1 attempt and the error's request ID %s", res, ae.RequestID)
			}
		})
	}
}

func TestEmuZeroIDMakesNoCall(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	c := fastClient(t, e.url, Options{})
	_, err := c.CancelHandshake(context.Background(), "")
	if !errors.Is(err, handshake.ErrInvalidID) {
		t.Fatalf("err = %v, want ErrInvalidID", err)
	}
	if n := e.Stats().Requests; n != 0 {
		t.Fatalf("%d requests sent for an empty ID", n)
	}
}

func TestEmuCancelReadsEveryField(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	c := fastClient(t, e.url, Options{})
	id := e.seedOne(t, "h-ReadMe0000000001", handshake.StatusPending)
	res, err := c.CancelHandshake(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := e.Get(string(id))
	if res.Handshake != want || want.Status != handshake.StatusCancelled {
		t.Fatalf("CancelHandshake =\n%+v\nwant\n%+v", res.Handshake, want)
	}
}

func TestEmuSTSCredentials(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	c := fastClient(t, e.url, Options{Credentials: StaticCredentials(testSTS)})
	id := e.seedOne(t, "h-Sts0000000000001", "")
	if _, err := c.CancelHandshake(context.Background(), id); err != nil {
		t.Fatalf("cancel with STS credentials: %v", err)
	}
	calls := e.Calls()
	if len(calls) != 1 || !calls[0].STS || calls[0].AccessKeyID != testSTS.AccessKeyID || calls[0].Auth != rmemu.MethodV3 {
		t.Fatalf("emulator saw %+v, want one V3 call with the STS token", calls)
	}
}

func TestEmuRejectsWrongCredentials(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	id := e.seedOne(t, "h-Wrong00000000001", "")
	tests := []struct {
		name  string
		creds Credentials
		code  string
	}{
		{"wrong secret", Credentials{AccessKeyID: testAK.AccessKeyID, AccessKeySecret: "wrong-secret-0123456789"}, "SignatureDoesNotMatch"},
		{"unknown key", Credentials{AccessKeyID: "LTAIunknownkey00001", AccessKeySecret: "whatever-secret-123"}, "InvalidAccessKeyId.NotFound"},
		{"STS key without its token", Credentials{AccessKeyID: testSTS.AccessKeyID, AccessKeySecret: testSTS.AccessKeySecret}, ""},
		{"wrong token", Credentials{AccessKeyID: testSTS.AccessKeyID, AccessKeySecret: testSTS.AccessKeySecret, SecurityToken: "CAISwrongtoken0123456789"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fastClient(t, e.url, Options{Credentials: StaticCredentials(tt.creds)})
			res, err := c.CancelHandshake(context.Background(), id)
			if err == nil {
				t.Fatal("call with bad credentials succeeded")
			}
			if tt.code != "" && ErrorCode(err) != tt.code {
				t.Fatalf("code %q, want %q (%v)", ErrorCode(err), tt.code, err)
			}
			if IsRetryable(err) || res.Attempts != 1 {
				t.Fatalf("retryable %v after %d attempts; an authentication error is final", IsRetryable(err), res.Attempts)
			}
			assertNoSecrets(t, err, tt.creds)
		})
	}
	if e.Status(string(id)) != handshake.StatusPending {
		t.Fatal("an unauthenticated call changed the invitation")
	}
}

func TestEmuInvocationCredentialsTakePrecedence(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	id := e.seedOne(t, "h-Invoke0000000001", "")
	bad := &countingProvider{c: Credentials{AccessKeyID: testAK.AccessKeyID, AccessKeySecret: "wrong-secret-0123456789"}}
	c := fastClient(t, e.url, Options{Credentials: bad})
	ctx := WithCredentials(context.Background(), testSTS)
	if _, err := c.CancelHandshake(ctx, id); err != nil {
		t.Fatalf("with the invocation's credentials: %v", err)
	}
	if bad.calls != 0 {
		t.Fatal("the provider was asked although the invocation carried credentials")
	}
	// The next call without them uses the provider: nothing was kept.
	if _, err := c.CancelHandshake(context.Background(), id); ErrorCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("without the invocation's credentials: %v, want the provider's wrong secret refused", err)
	}
}

func TestEmuDefaultCredentialsFromEnvironment(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", testSTS.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", testSTS.AccessKeySecret)
	t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", testSTS.SecurityToken)
	p, err := DefaultCredentials()
	if err != nil {
		t.Fatal(err)
	}
	e := newEmu(t, rmemu.Options{})
	id := e.seedOne(t, "h-Chain00000000001", "")
	c := fastClient(t, e.url, Options{Credentials: p})
	if _, err := c.CancelHandshake(context.Background(), id); err != nil {
		t.Fatalf("cancel with the default chain: %v", err)
	}
}

func TestEmuRetryCounts(t *testing.T) {
	tests := []struct {
		name        string
		script      func(e *emu, id string)
		maxAttempts int
		attempts    int
		code        string // "" for success
	}{
		{"throttled twice then cancelled", func(e *emu, id string) { e.ThrottleNext(id, 2) }, 5, 3, ""},
		{"503 once then cancelled", func(e *emu, id string) { e.FailNext(id, 1) }, 5, 2, ""},
		{"throttled beyond max attempts", func(e *emu, id string) { e.ThrottleNext(id, 10) }, 3, 3, "Throttling.User"},
		{"503 always", func(e *emu, id string) { e.FailAlways(id) }, 4, 4, "ServiceUnavailable"},
		// The cancel is applied but its answer lost; the retry then finds
		// the invitation no longer Pending.
		{"answer dropped after the cancel", func(e *emu, id string) { e.DropAfterCancel(id) }, 5, 2, "HandshakeStatusMismatch"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t, rmemu.Options{})
			id := e.seedOne(t, fmt.Sprintf("h-Retry%011d", i), "")
			tt.script(e, string(id))
			c := fastClient(t, e.url, Options{MaxAttempts: tt.maxAttempts})
			res, err := c.CancelHandshake(context.Background(), id)
			if ErrorCode(err) != tt.code {
				t.Fatalf("err %v (code %q), want code %q", err, ErrorCode(err), tt.code)
			}
			if res.Attempts != tt.attempts {
				t.Fatalf("Attempts = %d, want %d", res.Attempts, tt.attempts)
			}
			if n := e.Stats().Requests; n != tt.attempts {
				t.Fatalf("emulator saw %d requests, Result says %d attempts", n, tt.attempts)
			}
			if tt.code != "" && tt.code != "HandshakeStatusMismatch" && !IsRetryable(err) {
				t.Fatalf("exhausted retries on %v: want IsRetryable for the platform to redeliver", err)
			}
		})
	}
}

func TestEmuNoAttemptAfterDeadline(t *testing.T) {
	e := newEmu(t, rmemu.Options{Faults: rmemu.Faults{Latency: 20 * time.Millisecond}})
	id := e.seedOne(t, "h-Deadline00000001", "")
	e.FailAlways(string(id))
	opts := Options{MaxAttempts: 20}
	c := fastClient(t, e.url, opts)
	setBackoff(t, c, opts, 10*time.Millisecond, 40*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	ctx = withAPITimeout(ctx, 30*time.Millisecond)
	res, err := c.CancelHandshake(ctx, id)
	if ErrorCode(err) != "DeadlineExceeded" || !errors.Is(err, ErrDeadline) {
		t.Fatalf("err %v (code %q), want DeadlineExceeded", err, ErrorCode(err))
	}
	// The last answer is kept inside.
	var ae *APIError
	if res.Attempts > 1 && (!errors.As(err, &ae) || ae.Code != "ServiceUnavailable") {
		t.Fatalf("err %v does not carry the last answer", err)
	}
	if res.Attempts < 1 || res.Attempts >= 20 {
		t.Fatalf("Attempts = %d", res.Attempts)
	}
	calls := e.Calls()
	if len(calls) != res.Attempts {
		t.Fatalf("emulator saw %d calls, Result says %d", len(calls), res.Attempts)
	}
	for _, call := range calls {
		if !call.Time.Before(deadline) {
			t.Fatalf("a call arrived at %v, after the deadline %v", call.Time, deadline)
		}
	}
}

func TestEmuTooLittleTimeMakesNoCall(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	id := e.seedOne(t, "h-NoTime0000000001", "")
	c := fastClient(t, e.url, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ctx = withAPITimeout(ctx, time.Second) // needs 2 s: the timeout and the reserve
	res, err := c.CancelHandshake(ctx, id)
	if ErrorCode(err) != "DeadlineExceeded" || res.Attempts != 0 {
		t.Fatalf("err %v, %d attempts; want DeadlineExceeded and none", err, res.Attempts)
	}
	if n := e.Stats().Requests; n != 0 {
		t.Fatalf("%d requests sent with less time left than the deadline budget allows", n)
	}

	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	res, err = c.CancelHandshake(canceled, id)
	if ErrorCode(err) != "Canceled" || res.Attempts != 0 || IsRetryable(err) {
		t.Fatalf("canceled context: err %v, %d attempts", err, res.Attempts)
	}
	if e.Status(string(id)) != handshake.StatusPending {
		t.Fatal("the invitation changed")
	}
}

func TestEmuPagingOver250(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	if err := e.Seed(rmemu.Generate(rmemu.GenerateOptions{Count: 250, Seed: 7})...); err != nil {
		t.Fatal(err)
	}
	c := fastClient(t, e.url, Options{})
	seen := map[string]bool{}
	for h, err := range c.Handshakes(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[h.HandshakeID] {
			t.Fatalf("%s listed twice", h.HandshakeID)
		}
		if h.CreateTime.IsZero() || h.Status == "" {
			t.Fatalf("incomplete handshake %+v", h)
		}
		seen[h.HandshakeID] = true
	}
	if len(seen) != 250 {
		t.Fatalf("listed %d invitations, want 250", len(seen))
	}
	if n := e.Stats().Calls[actionList]; n != 3 {
		t.Fatalf("%d list calls, want 3 pages of 100", n)
	}

	// Breaking out early stops the paging.
	e.ResetStats()
	n := 0
	for _, err := range c.Handshakes(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 5 {
			break
		}
	}
	if calls := e.Stats().Calls[actionList]; calls != 1 {
		t.Fatalf("%d list calls after breaking on the first page, want 1", calls)
	}
}

func TestEmuPagingExactMultiple(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	if err := e.Seed(rmemu.Generate(rmemu.GenerateOptions{Count: 200, Seed: 8})...); err != nil {
		t.Fatal(err)
	}
	c := fastClient(t, e.url, Options{})
	n := 0
	for _, err := range c.Handshakes(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	// Two full pages, then the empty third one ends the listing:
	// TotalCount is not trusted to.
	if n != 200 || e.Stats().Calls[actionList] != 3 {
		t.Fatalf("listed %d in %d calls, want 200 in 3", n, e.Stats().Calls[actionList])
	}
}

func TestEmuPagingErrorIsYieldedOnce(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	c := fastClient(t, e.url, Options{Credentials: StaticCredentials(Credentials{AccessKeyID: testAK.AccessKeyID, AccessKeySecret: "wrong-secret-0123456789"})})
	var errs []error
	for _, err := range c.Handshakes(context.Background()) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || ErrorCode(errs[0]) != "SignatureDoesNotMatch" || !strings.Contains(errs[0].Error(), "page 1") {
		t.Fatalf("errors %v, want one SignatureDoesNotMatch naming page 1", errs)
	}
}

func TestEmuAdaptiveRateBacksOffWhenThrottled(t *testing.T) {
	e := newEmu(t, rmemu.Options{Faults: rmemu.Faults{RateLimit: 1, RateBurst: 1}})
	id := e.seedOne(t, "h-Rate000000000001", "")
	c := fastClient(t, e.url, Options{QPS: 50, MaxAttempts: 1})
	throttled := 0
	for range 6 {
		if _, err := c.CancelHandshake(context.Background(), id); classify(err) == pacing.Throttled {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("the emulator never throttled; the test proves nothing")
	}
	if r := c.Rate(); r >= 50 {
		t.Fatalf("rate %v after %d throttles, want below the configured 50", r, throttled)
	}
}

func TestEmuSharedLimiterUnderConcurrency(t *testing.T) {
	e := newEmu(t, rmemu.Options{})
	if err := e.Seed(rmemu.Generate(rmemu.GenerateOptions{Count: 40, Seed: 9})...); err != nil {
		t.Fatal(err)
	}
	c := fastClient(t, e.url, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for _, h := range e.Handshakes() {
		wg.Go(func() {
			_, err := c.CancelHandshake(context.Background(), mustID(t, h.HandshakeID))
			if IsStatusMismatch(err) {
				err = nil // not Pending: an answer all the same
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Fresh nonces on every request: the emulator refuses a replayed one.
	if n := e.Stats().Codes["SignatureNonceUsed"]; n != 0 {
		t.Fatalf("%d nonces reused", n)
	}
}

// assertNoSecrets fails when err's text, however printed, holds the secret
// or the token of creds.
func assertNoSecrets(t *testing.T, err error, creds Credentials) {
	t.Helper()
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, secret := range []string{creds.AccessKeySecret, creds.SecurityToken} {
			if secret != "" && strings.Contains(s, secret) {
				t.Fatalf("error text holds a secret: %q", s)
			}
		}
	}
}

func TestEmuSecretsAbsentFromEveryError(t *testing.T) {
	e := newEmu(t, rmemu.Options{Faults: rmemu.Faults{Latency: 5 * time.Millisecond}})
	id := e.seedOne(t, "h-Secret0000000001", "")
	e.FailAlways(string(id))
	missing := mustID(t, "h-Missing000000001")
	ctx := context.Background()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	for _, creds := range []Credentials{testAK, testSTS, {AccessKeyID: testSTS.AccessKeyID, AccessKeySecret: "wrong-secret-9876543210", SecurityToken: "CAISwrong-token-9876543210"}} {
		c := fastClient(t, e.url, Options{Credentials: StaticCredentials(creds), MaxAttempts: 2})
		down := fastClient(t, "http://127.0.0.1:1", Options{Credentials: StaticCredentials(creds), MaxAttempts: 2})
		var errs []error
		_, err := c.CancelHandshake(ctx, id) // 503 always
		errs = append(errs, err)
		_, err = c.CancelHandshake(ctx, missing)
		errs = append(errs, err)
		_, err = c.CancelHandshake(short(), id) // deadline
		errs = append(errs, err)
		_, err = down.CancelHandshake(ctx, missing) // connection refused
		errs = append(errs, err)
		for _, err := range c.Handshakes(WithCredentials(ctx, Credentials{AccessKeyID: creds.AccessKeyID, AccessKeySecret: "another-wrong-secret-42", SecurityToken: creds.SecurityToken})) {
			errs = append(errs, err)
		}
		for _, err := range errs {
			if err == nil {
				continue
			}
			assertNoSecrets(t, err, creds)
			assertNoSecrets(t, err, Credentials{AccessKeySecret: "another-wrong-secret-42"})
		}
	}
}
