package janitor_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// TestRunAccountsForEveryIDUnderRandomFaults is a property test: for random
// Jobs (valid, invalid and repeated IDs, undecodable records) against an
// emulator injecting random faults (5xx, throttling, scripted failures,
// answers dropped after the cancel was applied), every distinct input ID
// has exactly one Result, every Pending invitation whose Result is not
// failed ends Cancelled, and records are redelivered exactly when one of
// their IDs failed or is invalid.
func TestRunAccountsForEveryIDUnderRandomFaults(t *testing.T) {
	iterations := 30
	if testing.Short() {
		iterations = 8
	}
	for it := range iterations {
		seed := uint64(it) + 1
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			checkRandomJob(t, seed)
		})
	}
}

func checkRandomJob(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc908))

	// The directory: a pool of IDs, some Pending, some final, some absent.
	statuses := []handshake.Status{handshake.StatusPending, handshake.StatusPending, handshake.StatusPending,
		handshake.StatusAccepted, handshake.StatusCancelled, handshake.StatusDeclined, ""}
	pool := 4 + rng.IntN(12)
	var invitations []handshake.Handshake
	state := make(map[string]handshake.Status) // "" : not in the directory
	var valid []string
	for i := range pool {
		id := testID(int(seed)*1000 + i)
		valid = append(valid, id)
		st := statuses[rng.IntN(len(statuses))]
		state[id] = st
		if st != "" {
			invitations = append(invitations, withStatus(invitation(id, time.Hour), st))
		}
	}
	invalid := []string{"", "h-", "h-tooShort", "H-AAAAAAAAAAAAAAAA", "h-AAAAAAAAAAAAAAA!", "x"}

	emu, hs := emulator(t, rmemu.Options{RandSeed: seed, Faults: rmemu.Faults{
		ErrorRate: rng.Float64() * 0.3,
		DropRate:  rng.Float64() * 0.2,
	}}, invitations...)
	for _, id := range valid {
		switch rng.IntN(6) {
		case 0:
			emu.ThrottleNext(id, 1+rng.IntN(2))
		case 1:
			emu.FailNext(id, 1+rng.IntN(3))
		case 2:
			emu.FailAlways(id)
		case 3:
			emu.DropAfterCancel(id)
		}
	}

	// The Job: records naming random IDs, repeats included.
	var job janitor.Job
	records := 1 + rng.IntN(6)
	for r := range records {
		item := janitor.Item{Key: "m" + strconv.Itoa(r)}
		if rng.IntN(8) == 0 {
			item.Err = errTestDecode
		} else {
			for range rng.IntN(6) {
				if rng.IntN(5) == 0 {
					item.IDs = append(item.IDs, invalid[rng.IntN(len(invalid))])
				} else {
					item.IDs = append(item.IDs, valid[rng.IntN(len(valid))])
				}
			}
		}
		job.Items = append(job.Items, item)
	}

	e := &janitor.Engine{
		API:              testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 1 + rng.IntN(3)}),
		Concurrency:      1 + rng.IntN(4),
		MaxCancellations: 1000,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := e.Run(ctx, job)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSummary(t, rep)
	t.Logf("%d records, %d distinct IDs: %+v", len(job.Items), len(rep.Results), rep.Summary)

	// Every distinct input ID has exactly one Result.
	results := byID(t, rep)
	inputs := make(map[string]bool)
	for _, item := range job.Items {
		if item.Err != nil {
			continue
		}
		for _, id := range item.IDs {
			inputs[id] = true
			if _, ok := results[id]; !ok {
				t.Errorf("input %q has no Result", id)
			}
		}
	}
	if len(results) != len(inputs) {
		t.Errorf("%d Results for %d distinct inputs", len(results), len(inputs))
	}

	calls := cancelCalls(emu)
	for id, r := range results {
		_, isValid := state[id]
		switch {
		case !isValid:
			if r.Outcome != handshake.OutcomeInvalid || calls[id] != 0 {
				t.Errorf("invalid input %q: outcome %q after %d calls, want invalid with none", id, r.Outcome, calls[id])
			}
		case r.Outcome == handshake.OutcomeFailed:
			if r.ErrorCode == "" {
				t.Errorf("%s failed without an error code", id)
			}
		case state[id] == handshake.StatusPending:
			// Not failed: cancelled, or skipped when a dropped answer hid
			// this call's own success; either way it is Cancelled now.
			if got := emu.Status(id); got != handshake.StatusCancelled {
				t.Errorf("%s was Pending, outcome %q, emulator status %q: want Cancelled", id, r.Outcome, got)
			}
			if r.Outcome != handshake.OutcomeCancelled && r.Outcome != handshake.OutcomeSkipped {
				t.Errorf("%s was Pending: outcome %q", id, r.Outcome)
			}
		case state[id] == "":
			if r.Outcome != handshake.OutcomeNotFound {
				t.Errorf("%s is not in the directory: outcome %q, want not_found", id, r.Outcome)
			}
		default:
			if r.Outcome != handshake.OutcomeSkipped {
				t.Errorf("%s was %s: outcome %q, want skipped", id, state[id], r.Outcome)
			}
		}
		// No deadline is in play, so every attempt reached the emulator:
		// one call per distinct ID, however many records name it.
		if calls[id] != r.Attempts {
			t.Errorf("%s: emulator saw %d CancelHandshake requests, Result says %d attempts", id, calls[id], r.Attempts)
		}
	}

	// Records go back exactly when they hold a failed or invalid ID or
	// could not be decoded.
	if len(rep.Items) != len(job.Items) {
		t.Fatalf("%d ItemReports for %d records", len(rep.Items), len(job.Items))
	}
	for i, ir := range rep.Items {
		want := job.Items[i].Err != nil
		for _, id := range ir.HandshakeIDs {
			want = want || results[id].Outcome.Redeliver()
		}
		if ir.Key != job.Items[i].Key || ir.Redeliver != want {
			t.Errorf("record %s: Redeliver %v, want %v (%+v)", ir.Key, ir.Redeliver, want, ir)
		}
	}
}

var errTestDecode = decodeError("record could not be decoded")

type decodeError string

func (e decodeError) Error() string { return string(e) }
