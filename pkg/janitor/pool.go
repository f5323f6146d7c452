package janitor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// task is one CancelHandshake to make. Workers read only tasks, never the
// entries: a worker abandoned at the hard stop may still run while the
// collector writes the entries.
type task struct {
	id   handshake.ID
	base Result // the entry's Result before the call
}

// finished is a worker's answer for tasks[k].
type finished struct {
	k   int
	res Result
}

// pool makes the CancelHandshake calls of a Run on a fixed number of
// workers and collects their answers into the entries.
//
// Its time comes from one source: the deadline.Budget the invocation's
// context carries (Run puts it there), which the API client reads from the
// calls' context too. It has two contexts: the invocation's (inv), whose
// interruption stops new calls, and the calls' (calls), which an
// interruption does not end, so that the calls in flight can finish; the
// calls are cut off at the Budget's cut-off, or one API timeout after an
// interruption.
type pool struct {
	api      API
	budget   deadline.Budget
	targets  bool // Engine.LogTargets
	inv      context.Context
	calls    context.Context
	cutCalls context.CancelFunc
	tasks    []task
	entries  []*entry // entries[k] is tasks[k]'s; only the collector writes them
	// results is buffered for every task, so that an abandoned worker
	// never blocks on its send.
	results chan finished
	next    atomic.Int64 // the next task to take: tasks below it were taken
	workers sync.WaitGroup
}

// cancelAll calls CancelHandshake for every entry not done, with at most
// Concurrency calls in flight, and records each answer in its entry. It
// returns by the Budget's answer-by time, whatever the calls do, with the
// number of calls it abandoned: started, and not returned by then (their
// entries are failed).
func (e *Engine) cancelAll(ctx context.Context, entries []*entry) (abandoned int) {
	var todo []*entry
	for _, en := range entries {
		if !en.done {
			todo = append(todo, en)
		}
	}
	if len(todo) == 0 {
		return 0
	}
	b, _ := deadline.FromContext(ctx) // Run put it there
	calls, cutCalls := cutOffContext(context.WithoutCancel(ctx), b)
	// A call still waiting for its turn or a backoff stops at the
	// interruption: it has nothing in flight.
	calls = deadline.WithInterrupt(calls, ctx)
	defer cutCalls()
	p := &pool{api: e.API, budget: b, targets: e.LogTargets, inv: ctx, calls: calls, cutCalls: cutCalls,
		tasks: make([]task, len(todo)), entries: todo, results: make(chan finished, len(todo))}
	for k, en := range todo {
		p.tasks[k] = task{id: en.id, base: en.res}
	}
	for range min(e.concurrency(), len(p.tasks)) {
		p.workers.Go(p.work)
	}
	var hardStop <-chan time.Time
	if at, ok := b.AnswerBy(); ok {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		hardStop = t.C
	}
	if !p.collect(hardStop) {
		return p.stop()
	}
	// Every task is answered: the workers have nothing left to take and
	// return at once.
	p.workers.Wait()
	return 0
}

// work takes tasks in order until there are none left. A task taken after
// the time for new attempts is over is answered without a call.
func (p *pool) work() {
	for {
		k := int(p.next.Add(1) - 1)
		if k >= len(p.tasks) {
			return
		}
		t := p.tasks[k]
		if code, why := tooLate(p.inv, p.calls, p.budget); code != "" {
			p.results <- finished{k: k, res: notFinished(t.base, code, why)}
			continue
		}
		t0 := time.Now()
		res, err := p.api.CancelHandshake(p.calls, t.id)
		r := classify(t.base, res, err)
		if r.TargetEntity == "" && res.Handshake.TargetEntity != "" {
			// A named invitation's target, from the API's answer.
			r.TargetType, r.TargetEntity = res.Handshake.TargetType, showTarget(res.Handshake.TargetEntity, p.targets)
		}
		if p.calls.Err() != nil {
			r = blameCutOff(r, err, ctxCode(p.inv))
		}
		r.Duration = time.Since(t0)
		p.results <- finished{k: k, res: r}
	}
}

// collect records the answers into their entries until every task is
// answered (it returns true) or the time is up (false). The hard stop is
// the Budget's answer-by time, fixed in advance rather than counted from
// the cut-off, so that a late timer does not add to another; an
// interruption gets the same grace after the calls are cut off.
func (p *pool) collect(hardStop <-chan time.Time) bool {
	interrupted, cutOff, stopNow := p.inv.Done(), p.calls.Done(), deadline.Stop(p.inv)
	var drained, grace <-chan time.Time
	for left := len(p.tasks); left > 0; {
		select {
		case d := <-p.results:
			p.record(d)
			left--
		case <-interrupted:
			// The workers see the interruption and start nothing new; the
			// calls in flight may finish within one API timeout.
			interrupted = nil
			drained = time.After(p.budget.APITimeout())
		case <-drained:
			drained = nil
			p.cutCalls()
		case <-cutOff:
			cutOff = nil
			grace = time.After(p.budget.Grace())
		case <-stopNow:
			// Interrupted again: the calls in flight are cut off now.
			p.cutCalls()
			return false
		case <-hardStop:
			return false
		case <-grace:
			return false
		}
	}
	return true
}

// stop ends the collection at the hard stop: every answer already delivered
// is recorded (select picks among ready cases at random, so some may be
// waiting), and only then is what is left failed. A call taken by a worker
// and not answered is abandoned: its worker reports into the buffered
// channel and ends on its own. stop returns how many were abandoned.
func (p *pool) stop() (abandoned int) {
	for empty := false; !empty; {
		select {
		case d := <-p.results:
			p.record(d)
		default:
			empty = true
		}
	}
	taken := int(min(p.next.Load(), int64(len(p.tasks))))
	code := ctxCode(p.inv)
	for k, en := range p.entries {
		if en.done {
			continue
		}
		why := cutOffWhy(code)
		if k < taken {
			abandoned++
			why = "abandoned: the call had not returned when the invocation had to answer (" + why + ")"
		}
		en.res = notFinished(en.res, code, why)
		en.done = true
	}
	return abandoned
}

func (p *pool) record(d finished) {
	en := p.entries[d.k]
	en.res, en.done = d.res, true
}
