package janitor_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// At MaxCancellations 0 (the Engine's zero value too) nothing is cancelled
// for real: a sweep that selects anything and a Job naming a valid
// invitation are both refused, with no CancelHandshake call, and each
// record naming one goes back to its queue. A dry run still reports.
func TestZeroMaxCancellationsRefusesEveryRealCancellation(t *testing.T) {
	seed, ids := pendingSet(2)
	seed = append(seed, staleSet(3)[2])
	tests := []struct {
		name      string
		job       janitor.Job
		wantErr   bool
		wantCode  string // every Result's ErrorCode
		wantNamed bool
	}{
		{"real sweep", janitor.Job{Sweep: &janitor.Sweep{}}, true, janitor.CodeMaxCancellationsExceeded, false},
		{"real named", janitor.Job{Items: []janitor.Item{{Key: "m1", IDs: ids}}}, true, janitor.CodeMaxCancellationsExceeded, true},
		{"dry-run sweep", janitor.Job{Sweep: &janitor.Sweep{}, DryRun: true}, false, "", false},
		{"dry-run named", janitor.Job{Items: []janitor.Item{{Key: "m1", IDs: ids}}, DryRun: true}, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, hs := emulator(t, rmemu.Options{}, seed...)
			e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Now: fixedClock} // MaxCancellations: 0
			rep, err := e.Run(context.Background(), tt.job)
			if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
				t.Errorf("%d CancelHandshake calls at MaxCancellations 0, want none", n)
			}
			checkSummary(t, rep)
			if len(rep.Results) == 0 || rep.Summary[handshake.OutcomeDryRun] != len(rep.Results) {
				t.Errorf("Summary = %+v, want every Result dry_run", rep.Summary)
			}
			for _, r := range rep.Results {
				if r.ErrorCode != tt.wantCode {
					t.Errorf("%s: ErrorCode %q, want %q", r.HandshakeID, r.ErrorCode, tt.wantCode)
				}
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("a dry run was refused: %v", err)
				}
				return
			}
			guard, ok := errors.AsType[*janitor.GuardError](err)
			if !ok {
				t.Fatalf("Run error = %v, want a *GuardError", err)
			}
			if guard.Limit != 0 || guard.Named != tt.wantNamed {
				t.Errorf("GuardError = %+v, want Limit 0, Named %v", guard, tt.wantNamed)
			}
			if !strings.Contains(err.Error(), "MAX_CANCELLATIONS") || len(rep.Warnings) == 0 {
				t.Errorf("error %q / warnings %q: want the setting named and a warning", err, rep.Warnings)
			}
			for _, it := range rep.Items {
				if !it.Redeliver {
					t.Errorf("record %s is not sent back: its invitations were refused, not finished", it.Key)
				}
			}
		})
	}
}

// The guard at zero counts only what would be cancelled: a Job naming only
// invalid IDs is reported as before, and a positive limit leaves named
// invitations alone.
func TestZeroMaxCancellationsLetsThroughWhatCancelsNothing(t *testing.T) {
	seed, ids := pendingSet(2)
	_, hs := emulator(t, rmemu.Options{}, seed...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{"h-bad"}}}})
	if err != nil || rep.Summary[handshake.OutcomeInvalid] != 1 {
		t.Errorf("invalid only: err %v, Summary %+v; want no error and 1 invalid", err, rep.Summary)
	}
	e.MaxCancellations = 1 // the limit holds for sweeps; named invitations pass
	rep, err = e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "m", IDs: ids}}})
	if err != nil || rep.Summary[handshake.OutcomeCancelled] != 2 {
		t.Errorf("limit 1, 2 named: err %v, Summary %+v; want both cancelled", err, rep.Summary)
	}
	if rep.Summary[handshake.OutcomeDryRun] != 0 {
		t.Errorf("Summary %+v: want nothing refused", rep.Summary)
	}
}
