package janitor_test

import (
	"bytes"
	"context"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestRunKeepsCallsInFlightWithinConcurrency(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	const n, concurrency = 24, 3
	seed, named := pendingSet(n)
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: 20 * time.Millisecond}}, seed...)
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: concurrency}
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "k", IDs: named}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Summary[handshake.OutcomeCancelled] != n {
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
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{QPS: qps}), Concurrency: 8}
	start := time.Now()
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "k", IDs: named}}})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Summary[handshake.OutcomeCancelled] != n {
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

func TestRunReturnsBeforeTheDeadlineAndAccountsForEveryID(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	seed, named := pendingSet(8)
	// Two calls at a time, 900ms each, 3s to the deadline and an API
	// timeout of 1s in the budget (no attempt starts after 1s, calls are
	// cut off at 2s, Run answers by 2.5s: half a second of slack for a
	// loaded machine): two or four finish, the rest never start.
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: 900 * time.Millisecond}}, seed...)
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	ctx = withAPITimeout(ctx, time.Second)

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
	if rep.Summary[handshake.OutcomeFailed] == 0 {
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
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = withAPITimeout(ctx, time.Hour)
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
func stuckAPI(release chan struct{}) janitor.StubDirectory {
	return janitor.StubDirectory{Cancel: func(context.Context, directory.ID) (directory.Answer, error) {
		<-release
		return directory.Answer{Attempts: 1}, nil
	}}
}

func TestRunReturnsBeforeTheDeadlineEvenWhenACallIgnoresItsContext(t *testing.T) {
	t.Parallel() // slow by design; independent emulator
	release := make(chan struct{})
	api := stuckAPI(release)
	defer close(release) // the abandoned call ends with the test
	// One worker, stuck in the first call. With an API timeout of 1s the
	// calls are cut off at 2s and Run answers by 2.5s: half a second of
	// slack, so that a loaded machine's scheduling delays do not make the
	// test flaky.
	e := &janitor.Engine{MaxCancellations: 1000, API: api, Concurrency: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	ctx = withAPITimeout(ctx, time.Second)
	var logs bytes.Buffer
	ctx = logging.New(&logs, zerolog.InfoLevel).WithContext(ctx)
	rep, _ := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1), testID(2)}}}})
	if now := time.Now(); !now.Before(deadline) {
		t.Errorf("Run returned %v after the deadline", now.Sub(deadline))
	}
	// The stuck call is abandoned, and says so: in the Report, its
	// Result and the summary line.
	if rep.Abandoned != 1 || len(rep.Results) == 0 || !strings.HasPrefix(rep.Results[0].Error, "abandoned") {
		t.Errorf("Abandoned = %d, first Result %+v; want 1 abandoned call, the first", rep.Abandoned, rep.Results)
	}
	if !strings.Contains(logs.String(), `"abandoned":1,`) {
		t.Errorf("the summary line does not count the abandoned call:\n%s", logs.String())
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

// runInterrupted runs a Job of two invitations on one worker, against an
// emulator that answers after latency, and interrupts it once a call is in
// flight. apiTimeout is the Budget's (zero: the default).
func runInterrupted(t *testing.T, latency, apiTimeout time.Duration) (*rmemu.Server, janitor.Report) {
	t.Helper()
	emu, hs := emulator(t, rmemu.Options{Faults: rmemu.Faults{Latency: latency}},
		invitation(testID(1), time.Hour), invitation(testID(2), time.Hour))
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: 1}
	ctx, cancel := context.WithCancel(withAPITimeout(context.Background(), apiTimeout))
	defer cancel()
	go cancelWhenInFlight(emu, cancel)
	rep, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{testID(1), testID(2)}}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return emu, rep
}

func TestRunInterruptedStartsNothingNewButLetsTheCallInFlightFinish(t *testing.T) {
	t.Parallel() // waits for a call to be in flight
	emu, rep := runInterrupted(t, 500*time.Millisecond, 0)
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
	emu, rep := runInterrupted(t, 10*time.Second, 200*time.Millisecond)
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
