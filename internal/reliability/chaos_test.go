package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// The chaos run's mix (issue 7): 2,000 input IDs.
const (
	chaosInputs     = 2000
	chaosDuplicates = chaosInputs * 5 / 100  // repeats of IDs named elsewhere in the Job
	chaosInvalid    = chaosInputs * 2 / 100  // fail handshake.ParseID
	chaosFinal      = chaosInputs * 10 / 100 // Accepted, Cancelled, Declined or Expired
	chaosPending    = chaosInputs - chaosDuplicates - chaosInvalid - chaosFinal
	chaosPerRecord  = 20 // IDs per Item, as a queue record would carry them

	// chaosThrottleShare of the IDs have their first call throttled
	// (Throttling.User), so that about 20% of the requests are.
	chaosThrottleShare = 0.27

	// chaosStuck Pending invitations answer 503 to every call in the first
	// run, so that it has failures to leave to the second.
	chaosStuck = 8
)

// chaosFaults are the emulator's random faults during the run: 5% of the
// requests answered 5xx (503 ServiceUnavailable or 500 InternalError), 2%
// of the applied cancels' connections dropped before the answer, and a
// small random latency.
var chaosFaults = rmemu.Faults{ErrorRate: 0.05, DropRate: 0.02, Latency: time.Millisecond, Jitter: 4 * time.Millisecond}

// chaosInput is the Job of the chaos run and what each distinct input is.
type chaosInput struct {
	items   []janitor.Item
	raw     []string                    // every input, in Job order, duplicates included
	status  map[string]handshake.Status // seeded status of each valid ID
	invalid map[string]bool
}

func newChaosInput(rng *rand.Rand) (chaosInput, []handshake.Handshake) {
	in := chaosInput{status: make(map[string]handshake.Status), invalid: make(map[string]bool)}
	var seed []handshake.Handshake
	var distinct []string
	finals := []handshake.Status{handshake.StatusAccepted, handshake.StatusCancelled, handshake.StatusDeclined, handshake.StatusExpired}
	for i := range chaosPending + chaosFinal {
		id := randomID(rng)
		for in.status[id] != "" {
			id = randomID(rng)
		}
		h := pending(id)
		if i >= chaosPending {
			h = final(id, finals[i%len(finals)])
		}
		in.status[id] = h.Status
		seed = append(seed, h)
		distinct = append(distinct, id)
	}
	// Invalid inputs of every kind a queue may carry.
	bad := []string{"h-abc&Action=DeleteAccount", "h-tooShort", "H-ABCDEFGHIJKLMNOP", "h-Ab12Cd34Ef56Gh7８",
		"h-Ab12Cd34Ef56Gh78\nAction=X", "һ-Ab12Cd34Ef56Gh78", "h-Ab12Cd34Ef56Gh78x", "h_Ab12Cd34Ef56Gh78"}
	for i := range chaosInvalid {
		s := fmt.Sprintf("%s#%d", bad[i%len(bad)], i)
		in.invalid[s] = true
		distinct = append(distinct, s)
	}
	in.raw = slices.Clone(distinct)
	for range chaosDuplicates {
		in.raw = append(in.raw, distinct[rng.IntN(len(distinct))])
	}
	rng.Shuffle(len(in.raw), func(i, j int) { in.raw[i], in.raw[j] = in.raw[j], in.raw[i] })
	for i := 0; i < len(in.raw); i += chaosPerRecord {
		in.items = append(in.items, janitor.Item{Key: fmt.Sprintf("record-%03d", i/chaosPerRecord), IDs: in.raw[i:min(i+chaosPerRecord, len(in.raw))]})
	}
	return in, seed
}

// chaosFigures are what the run reports.
type chaosFigures struct {
	requests, cancelCalls, throttled, serverErrors, dropped int
	stuckCalls                                              int // 503s to the invitations that fail every call
	retries                                                 int // requests beyond the first per invitation
	summary                                                 janitor.Summary
	droppedThenSkipped                                      int // cancels applied, answer lost, retry answered 409
	took                                                    time.Duration
}

func (f chaosFigures) String() string {
	s := f.summary
	random5xx := f.serverErrors - f.stuckCalls
	return fmt.Sprintf("%d requests (%d CancelHandshake) in %s: %d throttled (%s), %d random 5xx (%s) and %d 503s to the %d stuck invitations, %d dropped after the cancel was applied, %d retries; "+
		"outcomes: %d cancelled, %d skipped (%d of them a retry after a dropped answer), %d not_found, %d invalid, %d dry_run, %d failed",
		f.requests, f.cancelCalls, f.took.Round(time.Millisecond), f.throttled, percent(f.throttled, f.requests), random5xx, percent(random5xx, f.requests),
		f.stuckCalls, chaosStuck, f.dropped, f.retries, s[handshake.OutcomeCancelled], s[handshake.OutcomeSkipped], f.droppedThenSkipped, s[handshake.OutcomeNotFound], s[handshake.OutcomeInvalid], s[handshake.OutcomeDryRun], s[handshake.OutcomeFailed])
}

func TestChaosRunGivesEveryInputOneResultAndCancelsEachPendingAtMostOnce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 2026))
	in, seed := newChaosInput(rng)
	emu, srv := emulator(t, rmemu.Options{Faults: chaosFaults, RandSeed: 7}, seed...)
	stuck := make(map[string]bool)
	for _, h := range seed {
		if rng.Float64() < chaosThrottleShare {
			emu.ThrottleNext(h.HandshakeID, 1)
		}
		if len(stuck) < chaosStuck && h.Status == handshake.StatusPending {
			stuck[h.HandshakeID] = true
			emu.FailAlways(h.HandshakeID)
		}
	}
	// One client for every call of both runs, as a function instance has:
	// one rate limit, adapting to the throttling injected at random.
	api, err := resourcemanager.New(resourcemanager.Options{
		Endpoint:    srv.URL,
		Credentials: testCredentials,
		QPS:         1000,
		HTTPClient:  srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := &janitor.Engine{MaxCancellations: 1000, API: api, Concurrency: 32}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ctx = deadline.NewContext(ctx, deadline.For(ctx, 2*time.Second))
	ctx = logging.WithInvocation(ctx, logging.New(&testkit.LogBuffer{}, -1), logging.Invocation{Platform: logging.PlatformCLI, Trigger: "chaos"})

	start := time.Now()
	rep, err := engine.Run(ctx, janitor.Job{Items: in.items})
	took := time.Since(start)
	t.Logf("one client for every call: rate %.0f/s at the end of run 1", api.Rate())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	calls := cancelCalls(emu)
	stats := emu.Stats()

	// Every distinct input has exactly one Result, and nothing else has.
	res := make(map[string]janitor.Result, len(rep.Results))
	for _, r := range rep.Results {
		if _, dup := res[r.HandshakeID]; dup {
			t.Errorf("%q has two Results", r.HandshakeID)
		}
		res[r.HandshakeID] = r
	}
	for _, raw := range in.raw {
		if _, ok := res[raw]; !ok {
			t.Errorf("input %q has no Result", raw)
		}
	}
	if want := len(in.status) + len(in.invalid); len(rep.Results) != want {
		t.Errorf("%d Results for %d distinct inputs", len(rep.Results), want)
	}
	if total := summaryTotal(rep.Summary); total != len(rep.Results) {
		t.Errorf("Summary %+v counts %d, want %d", rep.Summary, total, len(rep.Results))
	}
	// Every record is accounted for, and goes back exactly when it holds a
	// failed or invalid invitation.
	if len(rep.Items) != len(in.items) {
		t.Fatalf("%d ItemReports for %d records", len(rep.Items), len(in.items))
	}
	for i, it := range rep.Items {
		redeliver := false
		for _, id := range it.HandshakeIDs {
			redeliver = redeliver || res[id].Outcome.Redeliver()
		}
		if it.Key != in.items[i].Key || it.Redeliver != redeliver {
			t.Errorf("record %s: Redeliver %v, want %v (IDs %v)", it.Key, it.Redeliver, redeliver, it.HandshakeIDs)
		}
	}

	ok := applied(calls)
	// An applied cancel's answer was lost to the client when the emulator
	// dropped it, or when the client called again after it (its attempt
	// had timed out: the machine is shared, and a 2 s attempt timeout can
	// pass before the answer is read).
	dropped := make(map[string]bool)
	appliedSeen := make(map[string]bool)
	stuckCalls := 0
	for _, c := range calls {
		if c.Dropped || appliedSeen[c.HandshakeID] {
			dropped[c.HandshakeID] = true
		}
		if c.Status == 200 {
			appliedSeen[c.HandshakeID] = true
		}
		if _, err := handshake.ParseID(c.HandshakeID); err != nil {
			t.Errorf("the API was called with %q: %v", c.HandshakeID, err)
		}
		if stuck[c.HandshakeID] {
			stuckCalls++
		}
	}
	fig := chaosFigures{requests: stats.Requests, cancelCalls: len(calls), throttled: stats.Throttled, serverErrors: stats.ServerError,
		dropped: stats.Dropped, stuckCalls: stuckCalls, summary: rep.Summary, took: took}
	for raw := range in.invalid {
		if r := res[raw]; r.Outcome != handshake.OutcomeInvalid || r.Attempts != 0 {
			t.Errorf("invalid input %q: %+v, want invalid with no attempt", raw, r)
		}
	}
	for id, seeded := range in.status {
		r := res[id]
		fig.retries += max(r.Attempts-1, 0)
		now := emu.Status(id)
		if ok[id] > 1 {
			t.Errorf("%s was cancelled %d times", id, ok[id])
		}
		if seeded != handshake.StatusPending {
			// Already final: never cancelled, skipped unless it failed.
			if now != seeded || ok[id] != 0 {
				t.Errorf("%s (seeded %s) is now %s after %d applied cancels", id, seeded, now, ok[id])
			}
			if r.Outcome != handshake.OutcomeSkipped && r.Outcome != handshake.OutcomeFailed {
				t.Errorf("%s (seeded %s): %s, want skipped (or failed)", id, seeded, r.Outcome)
			}
			continue
		}
		switch r.Outcome {
		case handshake.OutcomeCancelled:
			if now != handshake.StatusCancelled || ok[id] != 1 {
				t.Errorf("%s reported cancelled, but the emulator has it %s after %d applied cancels", id, now, ok[id])
			}
		case handshake.OutcomeSkipped:
			// Only a cancel applied by an earlier attempt whose answer was
			// lost (dropped, or the attempt timed out first) comes back 409
			// to a Pending invitation's retry.
			if now != handshake.StatusCancelled || !dropped[id] || r.Attempts < 2 {
				t.Errorf("%s (Pending) reported skipped after %d attempts, status now %s, dropped answer %v: want skipped only after a dropped answer", id, r.Attempts, now, dropped[id])
			}
			fig.droppedThenSkipped++
		case handshake.OutcomeFailed:
			// Failed is the one outcome allowed to leave work undone: the
			// platform redelivers it.
			if r.ErrorCode == "" {
				t.Errorf("%s failed with no error code: %+v", id, r)
			}
		default:
			t.Errorf("%s (Pending): outcome %s, want cancelled, skipped after a dropped answer, or failed", id, r.Outcome)
		}
		if now == handshake.StatusPending && r.Outcome != handshake.OutcomeFailed {
			t.Errorf("%s is still Pending but reported %s", id, r.Outcome)
		}
		if stuck[id] && (r.Outcome != handshake.OutcomeFailed || now != handshake.StatusPending) {
			t.Errorf("%s answered 503 to every call, yet reported %s and is now %s", id, r.Outcome, now)
		}
	}
	t.Logf("chaos run 1: %v", fig)
	if fig.throttled == 0 || fig.serverErrors == 0 || fig.dropped == 0 {
		t.Errorf("the run met no throttling, 5xx or dropped answer: the faults were not injected (%v)", fig)
	}

	// Second run over the same IDs, faults off: nothing that run 1
	// finished is cancelled again; what it finished is skipped now, and
	// only what it left failed may still be cancelled. The records do not
	// say they are on their first delivery, so the engine looks up which
	// are final and calls only the ones still Pending.
	pendingBefore := 0
	for id := range in.status {
		if emu.Status(id) == handshake.StatusPending {
			pendingBefore++
		}
	}
	emu.SetFaults(rmemu.Faults{})
	emu.ClearScripts()
	emu.ResetStats()
	rep2, err := engine.Run(ctx, janitor.Job{Items: in.items})
	if err != nil {
		t.Fatalf("second Run: %v", err)
	}
	calls2 := cancelCalls(emu)
	ok2 := applied(calls2)
	res2 := make(map[string]janitor.Result, len(rep2.Results))
	for _, r := range rep2.Results {
		res2[r.HandshakeID] = r
	}
	if len(rep2.Results) != len(rep.Results) {
		t.Errorf("second run: %d Results, want %d", len(rep2.Results), len(rep.Results))
	}
	var newlyCancelled []string
	for id, first := range res {
		second := res2[id]
		switch {
		case first.Outcome == handshake.OutcomeInvalid:
			if second.Outcome != handshake.OutcomeInvalid {
				t.Errorf("%q: invalid, then %s", id, second.Outcome)
			}
		case first.Outcome == handshake.OutcomeFailed:
			if second.Outcome != handshake.OutcomeCancelled && second.Outcome != handshake.OutcomeSkipped {
				t.Errorf("%s: failed in run 1, then %s with no fault left", id, second.Outcome)
			}
			if ok2[id] > 0 {
				newlyCancelled = append(newlyCancelled, id)
			}
			if stuck[id] && (second.Outcome != handshake.OutcomeCancelled || ok2[id] != 1) {
				t.Errorf("%s: failed in run 1 with the invitation left Pending, then %s (%d applied): want cancelled once", id, second.Outcome, ok2[id])
			}
		default:
			if second.Outcome != handshake.OutcomeSkipped || ok2[id] != 0 {
				t.Errorf("%s: %s in run 1, then %s (%d applied cancels): want skipped, nothing cancelled", id, first.Outcome, second.Outcome, ok2[id])
			}
		}
	}
	if len(calls2) != pendingBefore {
		t.Errorf("second run made %d CancelHandshake calls for %d valid IDs, %d of them still Pending, with no fault: want one for each Pending one", len(calls2), len(in.status), pendingBefore)
	}
	if len(newlyCancelled) != rep2.Summary[handshake.OutcomeCancelled] || len(newlyCancelled) < len(stuck) {
		t.Errorf("second run cancelled %d invitations, %d of them failed in run 1; want only run 1's failures, at least the %d stuck ones",
			rep2.Summary[handshake.OutcomeCancelled], len(newlyCancelled), len(stuck))
	}
	t.Logf("chaos run 2 (same IDs, no faults): %d calls; %d skipped, %d invalid, %d cancelled, all of them failed in run 1 (%d failed there)",
		len(calls2), rep2.Summary[handshake.OutcomeSkipped], rep2.Summary[handshake.OutcomeInvalid], rep2.Summary[handshake.OutcomeCancelled], rep.Summary[handshake.OutcomeFailed])
}
