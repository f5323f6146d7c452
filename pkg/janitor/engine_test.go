package janitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http/httptest"
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
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{})}
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

func TestRunCancelsAnIDNamedByThreeItemsOnce(t *testing.T) {
	id := testID(7)
	emu, hs := emulator(t, rmemu.Options{}, invitation(id, time.Hour))
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: 4}
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{
		{Key: "a", IDs: []string{id}},
		{Key: "b", IDs: []string{id, id}},
		{Key: "c", IDs: []string{id}},
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := cancelCalls(emu)[id]; n != 1 {
		t.Errorf("CancelHandshake calls for %s = %d, want 1", id, n)
	}
	if len(rep.Results) != 1 || rep.Results[0].Outcome != handshake.OutcomeCancelled {
		t.Fatalf("Results = %+v, want one cancelled", rep.Results)
	}
	for _, it := range rep.Items {
		if !slices.Equal(it.HandshakeIDs, []string{id}) || it.Redeliver {
			t.Errorf("item %s = %+v, want the one ID, not redelivered", it.Key, it)
		}
	}
}

func TestRunKeepsCallsInFlightWithinConcurrency(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	const n, concurrency = 24, 3
	var seed []handshake.Handshake
	var named []string
	for i := range n {
		seed = append(seed, invitation(testID(i), time.Hour))
		named = append(named, testID(i))
	}
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: 20 * time.Millisecond}}, seed...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: concurrency}
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "k", IDs: named}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Summary.Cancelled != n {
		t.Errorf("Summary = %+v, want %d cancelled", rep.Summary, n)
	}
	st := emu.Stats()
	if st.MaxInFlight > concurrency {
		t.Errorf("emulator saw %d requests in flight, want at most Concurrency %d", st.MaxInFlight, concurrency)
	}
	// 24 calls of 20ms each started by 3 workers at once overlap: a
	// serial engine would never show 2 in flight.
	if st.MaxInFlight < 2 {
		t.Errorf("emulator saw at most %d request in flight: calls were not concurrent", st.MaxInFlight)
	}
}

func TestRunStaysWithinTheClientRate(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	const n = 30
	qps := 20.0
	var seed []handshake.Handshake
	var named []string
	for i := range n {
		seed = append(seed, invitation(testID(i), time.Hour))
		named = append(named, testID(i))
	}
	emu, hs := emulator(t, rmemu.Options{}, seed...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{QPS: qps}), Concurrency: 8}
	start := time.Now()
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "k", IDs: named}}})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Summary.Cancelled != n {
		t.Fatalf("Summary = %+v, want %d cancelled", rep.Summary, n)
	}
	// Behavioural bounds of a token bucket (burst 1) at qps, with 10% slack:
	// n calls cannot be done faster than (n-1)/(1.1 qps), and, as the
	// emulator saw them, the k-th request cannot arrive before
	// (k-1)/(1.1 qps) after the start. Delays only make requests later, so
	// a slow machine cannot break these bounds; only a too-fast client can.
	if minimum := time.Duration(float64(n-1) / (qps * 1.1) * float64(time.Second)); elapsed < minimum {
		t.Errorf("%d calls took %v, faster than %.0f QPS +10%% allows (%v)", n, elapsed, qps, minimum)
	}
	settle(emu)
	var arrivals []time.Time
	for _, c := range emu.Calls() {
		if c.Action == "CancelHandshake" {
			arrivals = append(arrivals, c.Time)
		}
	}
	slices.SortFunc(arrivals, time.Time.Compare)
	if len(arrivals) != n {
		t.Fatalf("emulator logged %d CancelHandshake calls, want %d", len(arrivals), n)
	}
	for k, at := range arrivals {
		earliest := start.Add(time.Duration(float64(k-1) / (qps * 1.1) * float64(time.Second)))
		if at.Before(earliest) {
			t.Errorf("request %d arrived %v after the start, before %v: faster than %.0f QPS +10%%", k+1, at.Sub(start), earliest.Sub(start), qps)
			break
		}
	}
	t.Logf("%d calls in %v; emulator peak %d requests in one second", n, elapsed, emu.Stats().PeakRate)
}

func TestRunDryRunCallsNoCancel(t *testing.T) {
	tests := []struct {
		name      string
		engineDry bool
		jobDry    bool
		sweep     bool
	}{
		{"engine DryRun, items", true, false, false},
		{"job DryRun, items", false, true, false},
		{"engine DryRun, sweep", true, false, true},
		{"job DryRun, sweep", false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stale := invitation(testID(1), 10*24*time.Hour)
			emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, stale)
			e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), DryRun: tt.engineDry, Now: fixedClock}
			job := janitor.Job{DryRun: tt.jobDry, Items: []janitor.Item{{Key: "k", IDs: []string{testID(1), testID(2), "nope"}}}}
			want := map[string]handshake.Outcome{testID(1): handshake.OutcomeDryRun, testID(2): handshake.OutcomeDryRun, "nope": handshake.OutcomeInvalid}
			if tt.sweep {
				job.Items, job.Sweep = nil, &janitor.Sweep{}
				want = map[string]handshake.Outcome{testID(1): handshake.OutcomeDryRun}
			}
			rep, err := e.Run(context.Background(), job)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
				t.Errorf("dry run made %d CancelHandshake calls, want 0", n)
			}
			got := byID(t, rep)
			if len(got) != len(want) {
				t.Errorf("Results = %+v, want %v", rep.Results, want)
			}
			for id, o := range want {
				if got[id].Outcome != o {
					t.Errorf("%s: outcome %q, want %q", id, got[id].Outcome, o)
				}
			}
			if tt.sweep && got[testID(1)].Status != handshake.StatusPending {
				t.Errorf("sweep dry run status = %q, want the listed Pending", got[testID(1)].Status)
			}
			if emu.Status(testID(1)) != handshake.StatusPending {
				t.Errorf("emulator status = %q after a dry run, want Pending", emu.Status(testID(1)))
			}
		})
	}
}

// staleSet seeds n stale Pending invitations.
func staleSet(n int) []handshake.Handshake {
	out := make([]handshake.Handshake, n)
	for i := range out {
		out[i] = invitation(testID(i), 10*24*time.Hour)
	}
	return out
}

func TestSweepOverTheGuardCancelsNoneAndFailsLoudly(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, staleSet(5)...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), MaxCancellations: 4, Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	var guard *janitor.GuardError
	if !errors.As(err, &guard) {
		t.Fatalf("Run error = %v, want a *GuardError", err)
	}
	if guard.Selected != 5 || guard.Limit != 4 {
		t.Errorf("GuardError = %+v, want Selected 5, Limit 4", guard)
	}
	if msg := err.Error(); !strings.Contains(msg, "5") || !strings.Contains(msg, "4") || !strings.Contains(msg, "MAX_CANCELLATIONS") {
		t.Errorf("error %q does not name the count, the limit and the setting", msg)
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("refused sweep made %d CancelHandshake calls, want 0", n)
	}
	checkSummary(t, rep)
	if len(rep.Results) != 5 || rep.Failed() {
		t.Errorf("Report = %+v: want the 5 selected listed, none failed (none was attempted)", rep.Summary)
	}
	for _, r := range rep.Results {
		if r.Outcome != handshake.OutcomeDryRun || r.ErrorCode != janitor.CodeMaxCancellationsExceeded {
			t.Errorf("%s: outcome %q code %q, want dry_run marked %s", r.HandshakeID, r.Outcome, r.ErrorCode, janitor.CodeMaxCancellationsExceeded)
		}
	}
	if len(rep.Warnings) == 0 {
		t.Error("no warning in the Report of a refused sweep")
	}
}

func TestSweepDryRunOverTheGuardReportsAllAndWarns(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, staleSet(5)...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), MaxCancellations: 4, Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}, DryRun: true})
	if err != nil {
		t.Fatalf("a dry run was refused: %v", err)
	}
	if rep.Summary.DryRun != 5 || len(rep.Results) != 5 {
		t.Errorf("Summary = %+v, want 5 dry_run", rep.Summary)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "would be refused") || !strings.Contains(rep.Warnings[0], "5") {
		t.Errorf("Warnings = %q, want one saying a real run would be refused, with the count", rep.Warnings)
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("dry run made %d CancelHandshake calls, want 0", n)
	}
}

func TestSweepSelectsStalePendingByAgeTypeAndEntity(t *testing.T) {
	day := 24 * time.Hour
	seed := []handshake.Handshake{
		{HandshakeID: "h-Acct000000000old", CreateTime: epoch.Add(-10 * day), TargetEntity: "1000000000000001"},
		{HandshakeID: "h-Acct00000000mid0", CreateTime: epoch.Add(-4 * day), TargetEntity: "2000000000000002"},
		{HandshakeID: "h-Acct00000000new0", CreateTime: epoch.Add(-1 * day), TargetEntity: "1000000000000003"},
		{HandshakeID: "h-Mail000000000old", CreateTime: epoch.Add(-9 * day), TargetEntity: "ops@example.com"},
		{HandshakeID: "h-Mail00000000mid0", CreateTime: epoch.Add(-5 * day), TargetEntity: "dev@example.org"},
		{HandshakeID: "h-Edge0000000003d0", CreateTime: epoch.Add(-3 * day), TargetEntity: "1000000000000004"}, // exactly 3 days: not older than 72h
		{HandshakeID: "h-Done000000000old", CreateTime: epoch.Add(-10 * day), TargetEntity: "1000000000000005", Status: handshake.StatusAccepted},
		{HandshakeID: "h-Gone000000000exp", CreateTime: epoch.Add(-20 * day), TargetEntity: "1000000000000006"}, // past ExpireTime: Expired
	}
	tests := []struct {
		name  string
		sweep janitor.Sweep
		want  []string
	}{
		{"configured age (7 days)", janitor.Sweep{}, []string{"h-Acct000000000old", "h-Mail000000000old"}},
		{"olderThan 72h", janitor.Sweep{OlderThan: 72 * time.Hour}, []string{"h-Acct000000000old", "h-Acct00000000mid0", "h-Mail000000000old", "h-Mail00000000mid0"}},
		{"Email only", janitor.Sweep{OlderThan: 72 * time.Hour, TargetType: handshake.TargetEmail}, []string{"h-Mail000000000old", "h-Mail00000000mid0"}},
		{"type in other case", janitor.Sweep{OlderThan: 72 * time.Hour, TargetType: "account"}, []string{"h-Acct000000000old", "h-Acct00000000mid0"}},
		{"entity glob", janitor.Sweep{OlderThan: 72 * time.Hour, TargetEntity: "*@example.com"}, []string{"h-Mail000000000old"}},
		{"entity glob on accounts", janitor.Sweep{OlderThan: 72 * time.Hour, TargetEntity: "1*"}, []string{"h-Acct000000000old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, seed...)
			e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), StaleAfter: 7 * day, Now: fixedClock}
			rep, err := e.Run(context.Background(), janitor.Job{Sweep: &tt.sweep})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := sorted(ids(rep.Results)); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("selected %q, want %q", got, sorted(tt.want))
			}
			for _, r := range rep.Results {
				if r.Outcome != handshake.OutcomeCancelled || r.Status != handshake.StatusCancelled {
					t.Errorf("%s: outcome %q status %q, want cancelled, Cancelled", r.HandshakeID, r.Outcome, r.Status)
				}
			}
			for _, h := range seed {
				selected := slices.Contains(tt.want, h.HandshakeID)
				if cancelled := emu.Status(h.HandshakeID) == handshake.StatusCancelled; cancelled != selected && h.Status != handshake.StatusCancelled {
					t.Errorf("%s: cancelled in the emulator = %v, selected = %v", h.HandshakeID, cancelled, selected)
				}
			}
		})
	}
}

func TestSweepRefusesBadPolicyBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name  string
		sweep janitor.Sweep
		want  string
	}{
		{"malformed glob", janitor.Sweep{TargetEntity: "acct-["}, "targetEntity"},
		{"unknown target type", janitor.Sweep{TargetType: "Robot"}, "Account or Email"},
		{"negative age", janitor.Sweep{OlderThan: -time.Hour}, "olderThan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, staleSet(2)...)
			e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Now: fixedClock}
			rep, err := e.Run(context.Background(), janitor.Job{Sweep: &tt.sweep})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want one mentioning %q", err, tt.want)
			}
			if n := emu.Stats().Requests; n != 0 {
				t.Errorf("a refused policy made %d requests, want 0", n)
			}
			if len(rep.Results) != 0 {
				t.Errorf("Results = %+v, want none", rep.Results)
			}
		})
	}
}

func TestSweepCancelsNothingWhenTheListingFails(t *testing.T) {
	emu := rmemu.New(rmemu.Options{Clock: fixedClock})
	if err := emu.Seed(staleSet(150)...); err != nil { // two pages of 100
		t.Fatal(err)
	}
	hs := httptest.NewServer(failPages(emu, 2))
	defer hs.Close()
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 2}), MaxCancellations: 1000, Now: fixedClock}

	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	if !errors.Is(err, janitor.ErrListing) {
		t.Fatalf("Run error = %v, want ErrListing", err)
	}
	if resourcemanager.ErrorCode(err) != "ServiceUnavailable" {
		t.Errorf("ErrorCode(err) = %q, want the listing's cause ServiceUnavailable kept in the chain", resourcemanager.ErrorCode(err))
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("made %d CancelHandshake calls after a failed listing, want 0", n)
	}
	if len(rep.Results) != 0 || rep.Summary != (janitor.Summary{}) {
		t.Errorf("Report = %+v, want empty", rep)
	}
}

func TestRunRefusesAJobWithItemsAndASweep(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{})
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{})}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}, Items: []janitor.Item{{Key: "m", IDs: []string{testID(1)}}}})
	if err == nil {
		t.Fatal("Run accepted a Job with both Items and a Sweep")
	}
	if len(rep.Items) != 1 || !rep.Items[0].Redeliver || rep.Items[0].Err == nil {
		t.Errorf("Items = %+v, want the record sent back with the error", rep.Items)
	}
	if emu.Stats().Requests != 0 {
		t.Errorf("made %d requests, want 0", emu.Stats().Requests)
	}
}

func TestRunReportsAPIFailuresWithTheirCode(t *testing.T) {
	flaky, broken, ok := testID(1), testID(2), testID(3)
	emu, hs := emulator(t, rmemu.Options{}, invitation(flaky, time.Hour), invitation(broken, time.Hour), invitation(ok, time.Hour))
	emu.FailNext(flaky, 1)  // one 503, then success on the retry
	emu.FailAlways(broken)  // retries exhausted
	emu.ThrottleNext(ok, 1) // throttled once, then success
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 2})}
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
	rep, err := (&janitor.Engine{API: c}).Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{id}}}})
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

func TestRunReturnsBeforeTheDeadlineAndAccountsForEveryID(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	const n = 8
	var seed []handshake.Handshake
	var named []string
	for i := range n {
		seed = append(seed, invitation(testID(i), time.Hour))
		named = append(named, testID(i))
	}
	// Two calls at a time, 900ms each, 1.5s to the deadline and an API
	// timeout of 250ms in the budget (no attempt starts after 1s, calls are
	// cut off at 1.25s): two finish, two are cut off in flight, four never
	// start.
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: 900 * time.Millisecond}}, seed...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: 2, APITimeout: 250 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()

	rep, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m1", IDs: named[:4]}, {Key: "m2", IDs: named[4:]}}})
	returned := time.Now()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !returned.Before(deadline) {
		t.Errorf("Run returned %v after the deadline", returned.Sub(deadline))
	}
	checkSummary(t, rep)
	if got := ids(rep.Results); !slices.Equal(got, named) {
		t.Fatalf("Results for %q, want every ID %q", got, named)
	}
	// 8 calls of 900ms, 2 at a time, need 3.6s: the deadline must leave
	// some failed.
	if rep.Summary.Failed == 0 {
		t.Errorf("Summary = %+v, want some failed at the deadline", rep.Summary)
	}
	for _, r := range rep.Results {
		switch r.Outcome {
		case handshake.OutcomeCancelled:
			if emu.Status(r.HandshakeID) != handshake.StatusCancelled {
				t.Errorf("%s reported cancelled, emulator says %s", r.HandshakeID, emu.Status(r.HandshakeID))
			}
		case handshake.OutcomeFailed:
			if r.ErrorCode != janitor.CodeDeadlineExceeded {
				t.Errorf("%s failed with %q, want %s", r.HandshakeID, r.ErrorCode, janitor.CodeDeadlineExceeded)
			}
		default:
			t.Errorf("%s: outcome %q, want cancelled or failed", r.HandshakeID, r.Outcome)
		}
	}
	for _, it := range rep.Items {
		failed := false
		for _, id := range it.HandshakeIDs {
			failed = failed || byID(t, rep)[id].Outcome == handshake.OutcomeFailed
		}
		if it.Redeliver != failed {
			t.Errorf("item %s: Redeliver %v, want %v", it.Key, it.Redeliver, failed)
		}
	}
}

func TestRunStartsNothingWhenTheBudgetLeavesNoTimeForAnAttempt(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{}, invitation(testID(1), time.Hour))
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), APITimeout: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1), "bad"}}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if emu.Stats().Requests != 0 {
		t.Errorf("made %d requests with less than the API timeout and the reserve left, want 0", emu.Stats().Requests)
	}
	got := byID(t, rep)
	if r := got[testID(1)]; r.Outcome != handshake.OutcomeFailed || r.ErrorCode != janitor.CodeDeadlineExceeded || r.Attempts != 0 {
		t.Errorf("result %+v, want failed DeadlineExceeded with no attempt", r)
	}
	if got["bad"].Outcome != handshake.OutcomeInvalid {
		t.Errorf("invalid ID: %+v, want invalid whatever the time left", got["bad"])
	}
}

// stuckAPI answers nothing until released, ignoring its context: the engine
// must still return before the deadline.
type stuckAPI struct{ release chan struct{} }

func (s stuckAPI) CancelHandshake(ctx context.Context, id handshake.ID) (resourcemanager.Result, error) {
	<-s.release
	return resourcemanager.Result{Attempts: 1}, nil
}

func (s stuckAPI) Handshakes(ctx context.Context) iter.Seq2[handshake.Handshake, error] {
	return func(func(handshake.Handshake, error) bool) {}
}

func TestRunReturnsBeforeTheDeadlineEvenWhenACallIgnoresItsContext(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	api := stuckAPI{release: make(chan struct{})}
	defer close(api.release) // the abandoned call ends with the test
	// One worker, stuck in the first call. With an API timeout of 1s the
	// calls are cut off at 2s and Run answers by 2.5s: half a second of
	// slack, so that a loaded machine's scheduling delays do not make the
	// test flaky.
	e := &janitor.Engine{API: api, APITimeout: time.Second, Concurrency: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	rep, _ := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1), testID(2)}}}})
	if now := time.Now(); !now.Before(deadline) {
		t.Errorf("Run returned %v after the deadline", now.Sub(deadline))
	}
	for _, r := range rep.Results {
		if r.Outcome != handshake.OutcomeFailed || r.ErrorCode != janitor.CodeDeadlineExceeded {
			t.Errorf("%s: %+v, want failed DeadlineExceeded", r.HandshakeID, r)
		}
	}
	if len(rep.Results) != 2 || !rep.Items[0].Redeliver {
		t.Errorf("Report = %+v, want both IDs failed and the record redelivered", rep)
	}
}

func TestRunLogsOneLinePerResultAndASummary(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{}, invitation(testID(1), time.Hour), withStatus(invitation(testID(2), time.Hour), handshake.StatusCancelled))
	emu.FailAlways(testID(3))
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 1})}
	ctx, logs := logged(t, logging.Invocation{Platform: logging.PlatformAWS, InvocationID: "req-42", Trigger: "sqs", ColdStart: true})
	_, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{
		{Key: "m1", IDs: []string{testID(1), testID(2), testID(3), "bad", testID(1)}},
		{Key: "m2", Err: errors.New("undecodable")},
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	lines := logs.Lines(t)
	perResult := map[string]map[string]any{}
	var summary, recordErr map[string]any
	for _, l := range lines {
		if l[logging.FieldInvocationID] != "req-42" || l[logging.FieldPlatform] != "aws" || l[logging.FieldTrigger] != "sqs" {
			t.Errorf("line without the invocation fields: %v", l)
		}
		switch {
		case l["message"] == logging.MessageSummary:
			summary = l
		case l[logging.FieldHandshakeID] != nil:
			id := l[logging.FieldHandshakeID].(string)
			if perResult[id] != nil {
				t.Errorf("two lines for %s", id)
			}
			perResult[id] = l
		case l["item_key"] == "m2":
			recordErr = l
		}
	}
	want := map[string]struct{ outcome, level string }{
		testID(1): {"cancelled", "info"},
		testID(2): {"skipped", "info"},
		testID(3): {"failed", "error"},
		"bad":     {"invalid", "warn"},
	}
	if len(perResult) != len(want) {
		t.Errorf("%d result lines, want %d", len(perResult), len(want))
	}
	for id, w := range want {
		l := perResult[id]
		if l == nil {
			t.Errorf("no line for %s", id)
			continue
		}
		if l[logging.FieldOutcome] != w.outcome || l["level"] != w.level {
			t.Errorf("%s: outcome %v level %v, want %s at %s", id, l[logging.FieldOutcome], l["level"], w.outcome, w.level)
		}
		for _, f := range []string{logging.FieldErrorCode, logging.FieldAPIRequestID, logging.FieldAttempts, logging.FieldDurationMS} {
			if _, ok := l[f]; !ok {
				t.Errorf("%s: line has no %s: %v", id, f, l)
			}
		}
	}
	if perResult[testID(1)][logging.FieldStatus] != "Cancelled" {
		t.Errorf("cancelled line status = %v, want Cancelled", perResult[testID(1)][logging.FieldStatus])
	}
	if perResult[testID(3)][logging.FieldErrorCode] != "ServiceUnavailable" {
		t.Errorf("failed line error_code = %v, want ServiceUnavailable", perResult[testID(3)][logging.FieldErrorCode])
	}
	if recordErr == nil || recordErr["level"] != "error" {
		t.Errorf("undecodable record line = %v, want an error line", recordErr)
	}
	if summary == nil {
		t.Fatal("no invocation summary line")
	}
	wantCounts := map[string]float64{"cancelled": 1, "skipped": 1, "not_found": 0, "invalid": 1, "dry_run": 0, "failed": 1}
	for k, v := range wantCounts {
		if summary[k] != v {
			t.Errorf("summary %s = %v, want %v", k, summary[k], v)
		}
	}
	if summary[logging.FieldColdStart] != true {
		t.Errorf("summary cold_start = %v, want true", summary[logging.FieldColdStart])
	}
}

func TestReportJSONHasTheContractShape(t *testing.T) {
	rep := janitor.Report{
		Summary: janitor.Summary{Cancelled: 1, Skipped: 2, NotFound: 3, Invalid: 4, DryRun: 5, Failed: 6},
		Results: []janitor.Result{{HandshakeID: testID(1), Outcome: handshake.OutcomeCancelled, APIRequestID: "R", Attempts: 1}},
		Items:   []janitor.ItemReport{{Key: "hidden"}},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"summary":{"cancelled":1,"skipped":2,"not_found":3,"invalid":4,"dry_run":5,"failed":6},"results":[{"handshakeId":"h-Test000000000001","outcome":"cancelled","errorCode":"","apiRequestId":"R","attempts":1}]}`
	if string(b) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", b, want)
	}
	empty, _ := json.Marshal(mustRun(t))
	if !strings.Contains(string(empty), `"results":[]`) {
		t.Errorf("empty Report JSON %s: want results as [] not null", empty)
	}
}

// mustRun runs an empty Job.
func mustRun(t *testing.T) janitor.Report {
	t.Helper()
	_, hs := emulator(t, rmemu.Options{})
	rep, err := (&janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{})}).Run(context.Background(), janitor.Job{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestEngineRefusesBadSettings(t *testing.T) {
	for _, e := range []*janitor.Engine{
		{},
		{API: stuckAPI{}, Concurrency: -1},
		{API: stuckAPI{}, APITimeout: -time.Second},
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

// cancelWhenInFlight cancels once the emulator is serving a call (bounded wait).
func cancelWhenInFlight(emu *rmemu.Server, cancel context.CancelFunc) {
	for range 500 {
		if emu.Stats().InFlight > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
}

func TestRunInterruptedStartsNothingNewButLetsTheCallInFlightFinish(t *testing.T) {
	t.Parallel() // waits for a call to be in flight
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: 500 * time.Millisecond}},
		invitation(testID(1), time.Hour), invitation(testID(2), time.Hour))
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{Timeout: 20 * time.Second}), Concurrency: 1}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cancelWhenInFlight(emu, cancel)
	rep, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1), testID(2)}}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("Results = %+v, want 2", rep.Results)
	}
	if r := rep.Results[0]; r.Outcome != handshake.OutcomeCancelled {
		t.Errorf("the call in flight at the interruption: %+v, want it finished and cancelled", r)
	}
	if r := rep.Results[1]; r.Outcome != handshake.OutcomeFailed || r.ErrorCode != janitor.CodeCanceled {
		t.Errorf("the call not yet started: %+v, want failed Canceled", r)
	}
	if !rep.Items[0].Redeliver {
		t.Error("the record is not redelivered although one ID failed")
	}
	if emu.Status(testID(1)) != handshake.StatusCancelled || emu.Status(testID(2)) != handshake.StatusPending {
		t.Errorf("emulator: %s %s, want Cancelled Pending: the Report must say what the service did",
			emu.Status(testID(1)), emu.Status(testID(2)))
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 1 {
		t.Errorf("%d CancelHandshake calls, want 1: nothing starts after the interruption", n)
	}
}

func TestRunInterruptedCutsOffACallThatOutlastsTheAPITimeout(t *testing.T) {
	t.Parallel() // waits for a call to be in flight
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: 10 * time.Second}},
		invitation(testID(1), time.Hour), invitation(testID(2), time.Hour))
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{Timeout: 20 * time.Second}), Concurrency: 1,
		APITimeout: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cancelWhenInFlight(emu, cancel)
	rep, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1), testID(2)}}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range rep.Results {
		if r.Outcome != handshake.OutcomeFailed || r.ErrorCode != janitor.CodeCanceled {
			t.Errorf("%s: %+v, want failed Canceled", r.HandshakeID, r)
		}
	}
	if len(rep.Results) != 2 || !rep.Items[0].Redeliver {
		t.Errorf("Report = %+v, want both IDs failed and the record redelivered", rep)
	}
	if emu.Status(testID(1)) != handshake.StatusPending || emu.Status(testID(2)) != handshake.StatusPending {
		t.Error("an invitation changed although every call was cut off")
	}
}
