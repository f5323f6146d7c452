package janitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// answeringAPI cancels every invitation at once, answering with a request
// ID of its own for each.
var answeringAPI = StubDirectory{Cancel: func(_ context.Context, id directory.ID) (directory.Answer, error) {
	return directory.Answer{
		Invitation: directory.Invitation{ID: id.String(), Status: string(handshake.StatusCancelled)},
		RequestID:  "req-" + id.String(),
		Attempts:   1,
	}, nil
}}

// testEngine is an Engine on a stub directory, for newEntry.
var testEngine = &Engine{API: answeringAPI}

// TestHardStopRecordsEveryResultAlreadyDelivered: every call completes
// before the hard stop while the collector is busy (it has read none of the
// answers), then the hard stop fires; the collector must record every
// answer as the API gave it before failing what is left. Picking among the
// ready cases at random, as a plain select does, loses most of 64.
func TestHardStopRecordsEveryResultAlreadyDelivered(t *testing.T) {
	const n = 64
	ctx := context.Background()
	entries := make([]*entry, n)
	p := &pool{api: answeringAPI, inv: ctx, calls: ctx, cutCalls: func() {}, budget: deadline.New(time.Time{}, time.Second),
		tasks: make([]task, n), entries: entries, results: make(chan finished, n)}
	for i := range entries {
		entries[i] = testEngine.newEntry(testStopID(i), ReasonNamed, false)
		p.tasks[i] = task{id: entries[i].id, base: entries[i].res}
	}
	for range 4 {
		p.workers.Go(p.work)
	}
	p.workers.Wait() // every call has completed and its answer is waiting

	hardStop := make(chan time.Time, 1)
	hardStop <- time.Now()
	if p.collect(hardStop) {
		// select may take every answer before the hard stop; then stop
		// has nothing to do, which is what this test checks too.
		t.Log("collected every answer before the hard stop")
	} else if n := p.stop(); n != 0 {
		t.Errorf("stop abandoned %d calls, want 0: every call had answered", n)
	}

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
	done, open, never := testEngine.newEntry(testStopID(1), ReasonNamed, false), testEngine.newEntry(testStopID(2), ReasonNamed, false), testEngine.newEntry(testStopID(3), ReasonNamed, false)
	ctx := context.Background()
	p := &pool{inv: ctx, calls: ctx, cutCalls: func() {}, tasks: make([]task, 3), entries: []*entry{done, open, never},
		results: make(chan finished, 3)}
	p.next.Store(2) // done's and open's calls were started; never's was not
	p.results <- finished{k: 0, res: Result{HandshakeID: done.res.HandshakeID, Outcome: handshake.OutcomeSkipped, APIRequestID: "req-1", Attempts: 1}}
	hardStop := make(chan time.Time, 1)
	hardStop <- time.Now()
	if p.collect(hardStop) {
		t.Fatal("collect reported every task answered")
	}
	if n := p.stop(); n != 1 {
		t.Errorf("stop abandoned %d calls, want 1 (the call in flight)", n)
	}
	if r := done.res; r.Outcome != handshake.OutcomeSkipped || r.APIRequestID != "req-1" {
		t.Errorf("delivered answer: %+v, want skipped req-1", r)
	}
	if r := open.res; !open.done || r.Outcome != handshake.OutcomeFailed || r.ErrorCode != CodeDeadlineExceeded || !strings.HasPrefix(r.Error, "abandoned") {
		t.Errorf("call in flight: %+v, want failed %s, abandoned", r, CodeDeadlineExceeded)
	}
	if r := never.res; !never.done || r.Outcome != handshake.OutcomeFailed || r.ErrorCode != CodeDeadlineExceeded || strings.HasPrefix(r.Error, "abandoned") {
		t.Errorf("call never started: %+v, want failed %s, not abandoned", r, CodeDeadlineExceeded)
	}
}

func testStopID(n int) string { return fmt.Sprintf("h-Stop%012d", n) }
