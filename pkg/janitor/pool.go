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

// pool runs tasks on a fixed number of workers. Its results channel is
// buffered for every task, so that an abandoned worker never blocks on its
// send.
type pool struct {
	api     API
	inv     context.Context // the invocation's: ends when it is interrupted
	calls   context.Context // the calls': ends at the cut-off, not at an interruption
	budget  deadline.Budget
	targets bool // Engine.LogTargets
	tasks   []task
	results chan finished
	next    atomic.Int64
	workers sync.WaitGroup
}

// start launches n workers.
func (p *pool) start(n int) {
	p.results = make(chan finished, len(p.tasks))
	for range min(n, len(p.tasks)) {
		p.workers.Go(p.work)
	}
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

// cancelAll calls CancelHandshake for every entry not done, with at most
// Concurrency calls in flight, and records each answer in its entry. It
// returns by the Budget's answer-by time, whatever the calls do.
func (e *Engine) cancelAll(ctx context.Context, entries []*entry, b deadline.Budget) {
	var todo []*entry
	for _, en := range entries {
		if !en.done {
			todo = append(todo, en)
		}
	}
	if len(todo) == 0 {
		return
	}
	// The calls run on a context that an interruption does not end: an
	// interrupted Run starts nothing new but lets the calls in flight
	// finish (the collector bounds how long), so that what the service did
	// is what the Report says.
	callCtx, cancelCalls := cutOffContext(context.WithoutCancel(ctx), b)
	defer cancelCalls()
	// A call still waiting for its turn or a backoff stops at the
	// interruption: it has nothing in flight.
	callCtx = deadline.WithInterrupt(callCtx, ctx)
	p := &pool{api: e.API, inv: ctx, calls: callCtx, budget: b, targets: e.LogTargets, tasks: make([]task, len(todo))}
	for k, en := range todo {
		p.tasks[k] = task{id: en.id, base: en.res}
	}
	p.start(e.concurrency())
	c := collector{entries: todo, results: p.results, inv: ctx, stopNow: deadline.Stop(ctx), cutOff: callCtx.Done(), cutCalls: cancelCalls, budget: b}
	if at, ok := b.AnswerBy(); ok {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		c.hardStop = t.C
	}
	c.collect()
}

// collector records the pool's results into their entries (entries[k] is
// tasks[k]'s) until every task is answered or the time is up.
type collector struct {
	entries  []*entry
	results  <-chan finished
	inv      context.Context  // the invocation's: once interrupted, the calls in flight get up to the API timeout
	stopNow  <-chan struct{}  // closed: stop without waiting for the calls in flight (deadline.WithStop)
	cutOff   <-chan struct{}  // the calls are cut off: they get the grace to return
	hardStop <-chan time.Time // the answer-by time; nil without a deadline
	cutCalls context.CancelFunc
	budget   deadline.Budget
}

// collect fixes the hard stop in advance (the Budget's answer-by time)
// rather than counting it from the cut-off, so that a late timer does not
// add to another. An interruption gets the same short grace after the calls
// are cut off.
func (c *collector) collect() {
	interrupted := c.inv.Done()
	var drained, grace <-chan time.Time
	for left := len(c.entries); left > 0; {
		select {
		case d := <-c.results:
			c.record(d)
			left--
			continue
		case <-interrupted:
			// The workers see the interruption and start nothing new; the
			// calls in flight may finish within one API timeout.
			interrupted = nil
			drained = time.After(c.budget.APITimeout())
			continue
		case <-drained:
			drained = nil
			c.cutCalls()
			continue
		case <-c.cutOff:
			c.cutOff = nil
			grace = time.After(c.budget.Grace())
			continue
		case <-c.stopNow:
			c.cutCalls()
		case <-c.hardStop:
		case <-grace:
		}
		c.stop()
		return
	}
}

// stop ends the collection at the hard stop: every result already
// delivered is recorded (select picks among ready cases at random, so some
// may be waiting), and only then is what is left failed. Calls that ignore
// their context are abandoned; they report into the buffered channel and
// end on their own.
func (c *collector) stop() {
	for empty := false; !empty; {
		select {
		case d := <-c.results:
			c.record(d)
		default:
			empty = true
		}
	}
	code := ctxCode(c.inv)
	why := cutOffWhy(code)
	for _, en := range c.entries {
		if !en.done {
			en.res = notFinished(en.res, code, why)
			en.done = true
		}
	}
}

func (c *collector) record(d finished) {
	en := c.entries[d.k]
	en.res, en.done = d.res, true
}
