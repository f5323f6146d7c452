package janitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestRunGivesEachInvitationItsOutcomeAndCallsOnlyForValidDistinctIDs(t *testing.T) {
	var (
		pending   = testID(1)
		cancelled = testID(2)
		accepted  = testID(3)
		expired   = testID(4) // stored Pending, past its ExpireTime: reads Expired
		missing   = testID(5)
		invalid   = "h-short"
		garbage   = strings.Repeat("x", 200)
	)
	emu, hs := emulator(t, rmemu.Options{},
		invitation(pending, time.Hour),
		withStatus(invitation(cancelled, time.Hour), handshake.StatusCancelled),
		withStatus(invitation(accepted, time.Hour), handshake.StatusAccepted),
		handshake.Handshake{HandshakeID: expired, Status: handshake.StatusPending,
			CreateTime: epoch.Add(-20 * 24 * time.Hour), ExpireTime: epoch.Add(-6 * 24 * time.Hour)},
	)
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{})}
	decodeErr := errors.New("record body is not JSON")
	job := janitor.Job{Items: []janitor.Item{
		{Key: "m1", IDs: []string{pending, invalid, cancelled}},
		{Key: "m2", IDs: []string{accepted, missing, pending}},
		{Key: "m3", Err: decodeErr},
		{Key: "m4", IDs: []string{expired, garbage}},
	}}

	rep, err := e.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSummary(t, rep)

	// Results in order of first appearance, one per distinct input.
	wantOrder := []string{pending, invalid, cancelled, accepted, missing, expired, garbage[:64] + "..."}
	if got := ids(rep.Results); !slices.Equal(got, wantOrder) {
		t.Errorf("Result order = %q, want %q", got, wantOrder)
	}
	want := map[string]struct {
		outcome handshake.Outcome
		code    string
	}{
		pending:              {handshake.OutcomeCancelled, ""},
		invalid:              {handshake.OutcomeInvalid, ""},
		cancelled:            {handshake.OutcomeSkipped, "HandshakeStatusMismatch"},
		accepted:             {handshake.OutcomeSkipped, "HandshakeStatusMismatch"},
		missing:              {handshake.OutcomeNotFound, "EntityNotExists.Handshake"},
		expired:              {handshake.OutcomeSkipped, "HandshakeStatusMismatch"},
		garbage[:64] + "...": {handshake.OutcomeInvalid, ""},
	}
	got := byID(t, rep)
	for id, w := range want {
		r := got[id]
		if r.Outcome != w.outcome || r.ErrorCode != w.code {
			t.Errorf("%s: outcome %q code %q, want %q code %q (%+v)", id, r.Outcome, r.ErrorCode, w.outcome, w.code, r)
		}
		calledAPI := w.outcome != handshake.OutcomeInvalid
		if calledAPI && (r.Attempts != 1 || r.APIRequestID == "") {
			t.Errorf("%s: attempts %d, api request ID %q: want 1 attempt with the answer's request ID", id, r.Attempts, r.APIRequestID)
		}
		if !calledAPI && (r.Attempts != 0 || r.Error == "") {
			t.Errorf("%s: invalid with attempts %d, error %q: want no attempt and a reason", id, r.Attempts, r.Error)
		}
	}
	if r := got[pending]; r.Status != handshake.StatusCancelled {
		t.Errorf("cancelled result status = %q, want Cancelled (from the response)", r.Status)
	}
	if s := emu.Status(pending); s != handshake.StatusCancelled {
		t.Errorf("emulator status of %s = %q, want Cancelled", pending, s)
	}

	// Only the valid distinct IDs reached the emulator, once each.
	wantCalls := map[string]int{pending: 1, cancelled: 1, accepted: 1, missing: 1, expired: 1}
	if calls := cancelCalls(emu); !mapsEqual(calls, wantCalls) {
		t.Errorf("CancelHandshake calls = %v, want %v", calls, wantCalls)
	}

	wantItems := []janitor.ItemReport{
		{Key: "m1", HandshakeIDs: []string{pending, invalid, cancelled}, Redeliver: true},
		{Key: "m2", HandshakeIDs: []string{accepted, missing, pending}, Redeliver: false},
		{Key: "m3", Redeliver: true, Err: decodeErr},
		{Key: "m4", HandshakeIDs: []string{expired, garbage[:64] + "..."}, Redeliver: true},
	}
	if len(rep.Items) != len(wantItems) {
		t.Fatalf("Items = %+v, want %d", rep.Items, len(wantItems))
	}
	for i, w := range wantItems {
		g := rep.Items[i]
		if g.Key != w.Key || !slices.Equal(g.HandshakeIDs, w.HandshakeIDs) || g.Redeliver != w.Redeliver || !errors.Is(g.Err, w.Err) {
			t.Errorf("Items[%d] = %+v, want %+v", i, g, w)
		}
	}
	redeliver := rep.Redeliver()
	if keys := []string{}; true {
		for _, it := range redeliver {
			keys = append(keys, it.Key)
		}
		if !slices.Equal(keys, []string{"m1", "m3", "m4"}) {
			t.Errorf("Redeliver() keys = %q, want m1, m3, m4", keys)
		}
	}
	if rep.Failed() {
		t.Error("Failed() = true with no failed result")
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRunReportsAPIFailuresWithTheirCode(t *testing.T) {
	flaky, broken, ok := testID(1), testID(2), testID(3)
	emu, hs := emulator(t, rmemu.Options{}, invitation(flaky, time.Hour), invitation(broken, time.Hour), invitation(ok, time.Hour))
	emu.FailNext(flaky, 1)  // one 503, then success on the retry
	emu.FailAlways(broken)  // retries exhausted
	emu.ThrottleNext(ok, 1) // throttled once, then success
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 2})}
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{flaky, broken, ok}}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := byID(t, rep)
	if r := got[flaky]; r.Outcome != handshake.OutcomeCancelled || r.Attempts != 2 {
		t.Errorf("flaky: %+v, want cancelled after 2 attempts", r)
	}
	if r := got[ok]; r.Outcome != handshake.OutcomeCancelled || r.Attempts != 2 {
		t.Errorf("throttled once: %+v, want cancelled after 2 attempts", r)
	}
	r := got[broken]
	if r.Outcome != handshake.OutcomeFailed || r.ErrorCode != "ServiceUnavailable" || r.Attempts != 2 || r.APIRequestID == "" || r.Error == "" {
		t.Errorf("broken: %+v, want failed ServiceUnavailable after 2 attempts, with request ID and reason", r)
	}
	if !rep.Failed() || !rep.Items[0].Redeliver {
		t.Errorf("Failed() = %v, item Redeliver = %v: want both true", rep.Failed(), rep.Items[0].Redeliver)
	}
}

func TestRunReportsANonRetryableErrorOnceAndWithoutSecrets(t *testing.T) {
	id := testID(1)
	emu, hs := emulator(t, rmemu.Options{}, invitation(id, time.Hour))
	const wrongSecret = "not-the-secret-0123456789"
	c := testkit.Client(t, hs.URL, resourcemanager.Options{Credentials: resourcemanager.StaticCredentials(resourcemanager.Credentials{
		AccessKeyID: rmemu.TestAccessKeyID, AccessKeySecret: wrongSecret,
	})})
	ctx, logs := logged(t, logging.Invocation{Platform: logging.PlatformCLI, InvocationID: "inv-1", Trigger: "direct"})
	rep, err := (&janitor.Engine{MaxCancellations: 1000, API: c}).Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{id}}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := rep.Results[0]
	if r.Outcome != handshake.OutcomeFailed || r.Attempts != 1 || r.ErrorCode == "" {
		t.Errorf("result %+v: want failed after 1 attempt with the API's code", r)
	}
	if emu.Status(id) != handshake.StatusPending {
		t.Error("the invitation changed with a bad signature")
	}
	b, _ := json.Marshal(rep)
	for _, l := range logs.Lines(t) {
		lb, _ := json.Marshal(l)
		b = append(b, lb...)
	}
	if strings.Contains(string(b), wrongSecret) {
		t.Error("the secret appears in the Report or the log")
	}
}

func TestEngineRefusesBadSettings(t *testing.T) {
	for _, e := range []*janitor.Engine{
		{},
		{API: stuckAPI(nil), Concurrency: -1},
		{API: stuckAPI(nil), StaleAfter: -time.Second},
	} {
		rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1)}}}})
		if err == nil {
			t.Errorf("Engine %+v: Run accepted it", e)
			continue
		}
		if len(rep.Items) != 1 || !rep.Items[0].Redeliver {
			t.Errorf("Engine %+v: Items %+v, want the record sent back", e, rep.Items)
		}
	}
}
