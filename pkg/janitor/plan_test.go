package janitor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestRunCancelsAnIDNamedByThreeItemsOnce(t *testing.T) {
	id := testID(7)
	emu, hs := emulator(t, rmemu.Options{}, invitation(id, time.Hour))
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Concurrency: 4}
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
			e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), DryRun: tt.engineDry, Now: fixedClock}
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

func TestRunRefusesAJobWithItemsAndASweep(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{})
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{})}
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
