package janitor

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// answeringAPI cancels every invitation at once, answering with a request
// ID of its own for each.
type answeringAPI struct{}

func (answeringAPI) CancelHandshake(_ context.Context, id handshake.ID) (resourcemanager.Result, error) {
	return resourcemanager.Result{
		Handshake: handshake.Handshake{HandshakeID: id.String(), Status: handshake.StatusCancelled},
		RequestID: "req-" + id.String(),
		Attempts:  1,
	}, nil
}

func (answeringAPI) Handshakes(context.Context) iter.Seq2[handshake.Handshake, error] {
	return func(func(handshake.Handshake, error) bool) {}
}

// TestHardStopRecordsEveryResultAlreadyDelivered: every call completes
// before the hard stop while the collector is busy (it has read none of the
// answers), then the hard stop fires; the collector must record every
// answer as the API gave it before failing what is left. Picking among the
// ready cases at random, as a plain select does, loses most of 64.
func TestHardStopRecordsEveryResultAlreadyDelivered(t *testing.T) {
	const n = 64
	ctx := context.Background()
	entries := make([]*entry, n)
	p := &pool{api: answeringAPI{}, inv: ctx, calls: ctx, budget: deadline.New(time.Time{}, time.Second), tasks: make([]task, n)}
	for i := range entries {
		entries[i] = newEntry(testStopID(i), false)
		p.tasks[i] = task{id: entries[i].id, base: entries[i].res}
	}
	p.start(4)
	p.workers.Wait() // every call has completed and its answer is waiting

	hardStop := make(chan time.Time, 1)
	hardStop <- time.Now()
	c := collector{entries: entries, results: p.results, inv: ctx, hardStop: hardStop, budget: p.budget}
	c.collect()

	for _, en := range entries {
		r := en.res
		if !en.done || r.Outcome != handshake.OutcomeCancelled || r.APIRequestID != "req-"+r.HandshakeID || r.Attempts != 1 || r.ErrorCode != "" {
			t.Errorf("%s: %+v, want cancelled with its own request ID: the answer arrived before the hard stop", r.HandshakeID, r)
		}
	}
}

// TestHardStopFailsWhatIsNotFinished: a call still in flight at the hard
// stop is failed with the invocation's code, and an answer already
// delivered beside it keeps its outcome.
func TestHardStopFailsWhatIsNotFinished(t *testing.T) {
	done, open := newEntry(testStopID(1), false), newEntry(testStopID(2), false)
	results := make(chan finished, 2)
	results <- finished{k: 0, res: Result{HandshakeID: done.res.HandshakeID, Outcome: handshake.OutcomeSkipped, APIRequestID: "req-1", Attempts: 1}}
	hardStop := make(chan time.Time, 1)
	hardStop <- time.Now()
	c := collector{entries: []*entry{done, open}, results: results, inv: context.Background(), hardStop: hardStop}
	c.collect()
	if r := done.res; r.Outcome != handshake.OutcomeSkipped || r.APIRequestID != "req-1" {
		t.Errorf("delivered answer: %+v, want skipped req-1", r)
	}
	if r := open.res; !open.done || r.Outcome != handshake.OutcomeFailed || r.ErrorCode != CodeDeadlineExceeded {
		t.Errorf("call in flight: %+v, want failed %s", r, CodeDeadlineExceeded)
	}
}

func testStopID(n int) string { return fmt.Sprintf("h-Stop%012d", n) }
