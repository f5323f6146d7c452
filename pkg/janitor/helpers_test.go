package janitor_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// epoch is the service's clock in tests that need a fixed "now".
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// emulator starts an rmemu Server over real HTTP on 127.0.0.1 and seeds it;
// its clock is fixedClock unless opts says otherwise.
func emulator(t *testing.T, opts rmemu.Options, seed ...handshake.Handshake) (*rmemu.Server, *httptest.Server) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = fixedClock // the invitations' times count back from epoch
	}
	return testkit.Emulator(t, opts, seed...)
}

// testID returns a valid handshake ID that differs for every n.
func testID(n int) string { return fmt.Sprintf("h-Test%012d", n) }

// pendingSet returns n Pending invitations created an hour ago, and their
// IDs.
func pendingSet(n int) (seed []handshake.Handshake, ids []string) {
	for i := range n {
		seed = append(seed, invitation(testID(i), time.Hour))
		ids = append(ids, testID(i))
	}
	return seed, ids
}

// invitation is a Pending invitation created age ago on epoch's clock.
func invitation(id string, age time.Duration) handshake.Handshake {
	return handshake.Handshake{HandshakeID: id, Status: handshake.StatusPending, CreateTime: epoch.Add(-age), TargetEntity: "1000000000000001"}
}

// withStatus returns h with status s.
func withStatus(h handshake.Handshake, s handshake.Status) handshake.Handshake {
	h.Status = s
	return h
}

// fixedClock is epoch, for the emulator and the engine alike.
func fixedClock() time.Time { return epoch }

// settle waits (bounded) until the emulator serves no request: it logs a
// call after answering it, so a client can see the answer first.
func settle(emu *rmemu.Server) {
	for range 200 {
		if emu.Stats().InFlight == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cancelCalls counts the CancelHandshake requests the emulator received,
// per HandshakeId.
func cancelCalls(emu *rmemu.Server) map[string]int {
	settle(emu)
	n := make(map[string]int)
	for _, c := range emu.Calls() {
		if c.Action == "CancelHandshake" {
			n[c.HandshakeID]++
		}
	}
	return n
}

// byID indexes a Report's Results by HandshakeID, failing on a duplicate.
func byID(t *testing.T, rep janitor.Report) map[string]janitor.Result {
	t.Helper()
	m := make(map[string]janitor.Result, len(rep.Results))
	for _, r := range rep.Results {
		if _, dup := m[r.HandshakeID]; dup {
			t.Errorf("two Results for %s", r.HandshakeID)
		}
		m[r.HandshakeID] = r
	}
	return m
}

// ids returns the HandshakeIDs of rs in order.
func ids(rs []janitor.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.HandshakeID
	}
	return out
}

// checkSummary verifies that the Summary counts the Results.
func checkSummary(t *testing.T, rep janitor.Report) {
	t.Helper()
	want := janitor.Summary{}
	for _, r := range rep.Results {
		if !slices.Contains(handshake.Outcomes(), r.Outcome) {
			t.Errorf("%s: outcome %q is none of handshake.Outcomes", r.HandshakeID, r.Outcome)
		}
		want[r.Outcome]++
	}
	if !maps.Equal(rep.Summary, want) {
		t.Errorf("Summary = %+v, want %+v (counted from Results)", rep.Summary, want)
	}
}

// logged returns a context whose logger writes JSON lines to a buffer, as
// the function adapters set it up.
func logged(t *testing.T, inv logging.Invocation) (context.Context, *testkit.LogBuffer) {
	t.Helper()
	buf := &testkit.LogBuffer{}
	logger := logging.New(buf, -1) // trace: everything
	return logging.WithInvocation(context.Background(), logger, inv), buf
}

// failPages wraps h so that listing pages from the given number on are
// answered 503 ServiceUnavailable, as a service failing mid-listing would.
func failPages(h http.Handler, from int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("Action") == "ListHandshakesForResourceDirectory" || r.Header.Get("x-acs-action") == "ListHandshakesForResourceDirectory" {
			var page int
			fmt.Sscan(q.Get("PageNumber"), &page)
			if page >= from {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `{"RequestId":"FAIL-PAGE","Code":"ServiceUnavailable","Message":"The request has failed due to a temporary failure of the server."}`)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// withAPITimeout returns ctx carrying the Budget of its deadline with
// apiTimeout (zero: the default).
func withAPITimeout(ctx context.Context, apiTimeout time.Duration) context.Context {
	return deadline.NewContext(ctx, deadline.For(ctx, apiTimeout))
}
