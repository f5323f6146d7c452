package organizations_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// The Pacer owns retries: each retryable exception is retried with a new
// request, each request one SDK attempt (the SDK retryer is off, so the
// requests the emulator saw are exactly the attempts counted); a
// definitive answer ends the call at once; the verdict is the table's.
func TestCancelInvitationRetriesWhatTheTableSaysAndNothingElse(t *testing.T) {
	cases := []struct {
		name     string
		state    string
		script   string // FailNext code, or ""
		failures int
		attempts int
		verdict  directory.Verdict
		code     string
	}{
		{"success", orgemu.StateOpen, "", 0, 1, directory.Cancelled, ""},
		{"throttled twice", orgemu.StateOpen, "TooManyRequestsException", 2, 3, directory.Cancelled, ""},
		{"concurrent modification", orgemu.StateOpen, "ConcurrentModificationException", 1, 2, directory.Cancelled, ""},
		{"service exception", orgemu.StateOpen, "ServiceException", 2, 3, directory.Cancelled, ""},
		{"access denied is not retried", orgemu.StateOpen, "AccessDeniedException", 1, 1, directory.Failed, "AccessDeniedException"},
		{"throttled past the attempts", orgemu.StateOpen, "TooManyRequestsException", -1, 3, directory.Retryable, "TooManyRequestsException"},
		{"already cancelled", orgemu.StateCanceled, "", 0, 1, directory.Skipped, "HandshakeAlreadyInStateException"},
		{"accepted", orgemu.StateAccepted, "", 0, 1, directory.Skipped, "InvalidHandshakeTransitionException"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newEmu(t, orgemu.Options{}, organizations.Options{MaxAttempts: 3})
			id := "h-retrytable0" + string(rune('a'+i))
			h := invite(id, "111122223333", time.Hour)
			h.State = tc.state
			if tc.state != orgemu.StateOpen {
				h.FinishedAt = time.Now().Add(-time.Minute)
			}
			seed(t, srv, h)
			if tc.script != "" {
				if err := srv.FailNext(id, tc.script, tc.failures); err != nil {
					t.Fatal(err)
				}
			}
			ans, err := c.CancelInvitation(context.Background(), directory.ID(id))
			cls := c.Classify(err)
			if cls.Verdict != tc.verdict || cls.Code != tc.code || ans.Attempts != tc.attempts {
				t.Errorf("%+v, %v: verdict %s code %q after %d attempts; want %s %q after %d", ans, err, cls.Verdict, cls.Code, ans.Attempts, tc.verdict, tc.code, tc.attempts)
			}
			if n := callsTo(srv, id); n != ans.Attempts {
				t.Errorf("the emulator saw %d requests for %d attempts: the SDK retried behind the Pacer", n, ans.Attempts)
			}
			if tc.verdict == directory.Cancelled && (srv.State(id) == orgemu.StateOpen || ans.Invitation.Status == "" || ans.Invitation.Open) {
				t.Errorf("cancelled, but the emulator says %s and the answer %+v", srv.State(id), ans.Invitation)
			}
		})
	}
}

func TestCancelInvitationStartsNoAttemptWithoutTheTimeoutAndReserveLeft(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{})
	seed(t, srv, invite("h-budgetpaced1", "111122223333", time.Hour))
	// An API timeout of 1s and its reserve need 2s; 1.5s are left.
	ctx := deadline.NewContext(context.Background(), deadline.New(time.Now().Add(1500*time.Millisecond), time.Second))
	ans, err := c.CancelInvitation(ctx, "h-budgetpaced1")
	if !errors.Is(err, organizations.ErrDeadline) || c.Classify(err).Code != organizations.CodeDeadlineExceeded || ans.Attempts != 0 {
		t.Errorf("%+v, %v: want ErrDeadline and no attempt", ans, err)
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestThrottlingSlowsThePacer(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{QPS: 50, MaxAttempts: 3})
	seed(t, srv, invite("h-throttlerate", "111122223333", time.Hour))
	srv.ThrottleNext("h-throttlerate", 1)
	if _, err := c.CancelInvitation(context.Background(), "h-throttlerate"); err != nil {
		t.Fatal(err)
	}
	if r := c.Rate(); r >= 50 {
		t.Errorf("rate %v after a throttle, want less than the configured 50", r)
	}
}

func TestDescribeInvitationReadsTheCurrentRecord(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{})
	h := invite("h-describeme01", "someone@example.com", time.Hour)
	seed(t, srv, h)
	ans, err := c.DescribeInvitation(context.Background(), "h-describeme01")
	inv := ans.Invitation
	if err != nil || inv.ID != h.ID || !inv.Open || inv.Status != orgemu.StateOpen || inv.Target != "someone@example.com" || inv.TargetType != "Email" || inv.Created.IsZero() || ans.Attempts != 1 {
		t.Errorf("%+v, %v", ans, err)
	}
	if srv.State("h-describeme01") != orgemu.StateOpen {
		t.Error("describing changed the state")
	}
	_, err = c.DescribeInvitation(context.Background(), "h-nosuchthing1")
	if cls := c.Classify(err); cls.Verdict != directory.NotFound || cls.Code != "HandshakeNotFoundException" || !cls.Answered {
		t.Errorf("%v: %+v, want not_found", err, cls)
	}
}

func TestKindAndParseIDAreOrganizations(t *testing.T) {
	_, c := newEmu(t, orgemu.Options{}, organizations.Options{})
	if c.Kind() != directory.AWSOrganizations {
		t.Errorf("Kind = %+v", c.Kind())
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{{"h-abcdefgh", true}, {"h-ABCDEFGH", false}, {"h-abc", false}, {"h-0123456789abcdef", true}} {
		if _, err := c.ParseID(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseID(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// An answer cut off mid-body (headers sent, the connection closed before
// the body's end) is a retryable NetworkError, not an unreadable answer:
// the paced call tries again, and the second answer is read.
func TestAnAnswerCutOffMidBodyIsRetried(t *testing.T) {
	srv := orgemu.New(orgemu.Options{})
	seed(t, srv, invite("h-cutoffbody01", "111122223333", time.Hour))
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 { // the single attempt below, then the first of the paced listing
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: cut-1\r\nContent-Length: 4000\r\n\r\n{\"Handshakes\":[{\"Id\":\"h-cut")
			buf.Flush()
			conn.Close()
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := organizations.New(organizations.Options{Config: staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, ""), QPS: 1000, BaseEndpoint: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPage(context.Background(), ""); organizations.Classify(err).Code != organizations.CodeNetworkError || organizations.Classify(err).Verdict != organizations.VerdictRetryable {
		t.Errorf("a cut-off answer: %v (%+v), want a retryable NetworkError", err, organizations.Classify(err))
	}
	n := 0
	for inv, err := range c.Invitations(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if inv.ID == "h-cutoffbody01" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("listed the invitation %d times, want once", n)
	}
}
