package janitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// A redelivered record spends no call on the invitations an earlier
// delivery finished: one listing page answers for up to 100 of them. A
// first delivery makes every call, as before.
func TestRedeliveredRecordSkipsTheInvitationsAlreadyFinished(t *testing.T) {
	const n, done = 300, 200
	var seed []handshake.Handshake
	var ids []string
	for i := range n {
		h := invitation(testID(i), time.Hour)
		if i < done {
			h = withStatus(h, handshake.StatusCancelled)
		}
		seed = append(seed, h)
		ids = append(ids, testID(i))
	}
	for _, tt := range []struct {
		deliveries             int
		wantCalls, wantSkipped int
	}{
		{deliveries: 2, wantCalls: n - done, wantSkipped: done},
		{deliveries: 0, wantCalls: n - done, wantSkipped: done}, // the platform does not say: maybe a redelivery
		{deliveries: 1, wantCalls: n, wantSkipped: done},        // first delivery: no lookup, the 409s say it
	} {
		emu, hs := emulator(t, rmemu.Options{}, seed...)
		e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{QPS: 1000}), MaxCancellations: 100, Concurrency: 8}
		job := janitor.Job{Items: []janitor.Item{{Key: "m", IDs: ids, Deliveries: tt.deliveries}}}
		rep, err := e.Run(context.Background(), job)
		if err != nil {
			t.Fatalf("deliveries %d: Run: %v", tt.deliveries, err)
		}
		checkSummary(t, rep)
		if got := emu.Stats().Calls["CancelHandshake"]; got != tt.wantCalls {
			t.Errorf("deliveries %d: %d CancelHandshake calls, want %d", tt.deliveries, got, tt.wantCalls)
		}
		if rep.Summary[handshake.OutcomeSkipped] != tt.wantSkipped || rep.Summary[handshake.OutcomeCancelled] != n-done {
			t.Errorf("deliveries %d: Summary %v, want %d skipped and %d cancelled", tt.deliveries, rep.Summary, tt.wantSkipped, n-done)
		}
		if rep.Items[0].Redeliver {
			t.Errorf("deliveries %d: the record goes back, want it finished", tt.deliveries)
		}
	}
}
