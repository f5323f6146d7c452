package janitor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// task is one CancelHandshake to make. Workers read only tasks, never the
// entries: a worker abandoned at the hard stop may still run while the
// collector writes the entries.
type task struct {
	id    directory.ID
	base  Result // the entry's Result before the call
	check bool   // decide from the record first (entry.check)
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
	api      directory.Directory
	budget   deadline.Budget
	targets  bool                // Engine.LogTargets
	allowed  targetpolicy.Policy // Engine.AllowedTargets, for checks
	dry      bool                // a checked invitation is not cancelled
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
func (e *Engine) cancelAll(ctx context.Context, entries []*entry, dry bool) (abandoned int) {
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
	p := &pool{api: e.API, budget: b, targets: e.LogTargets, allowed: e.AllowedTargets, dry: dry, inv: ctx, calls: calls, cutCalls: cutCalls,
		tasks: make([]task, len(todo)), entries: todo, results: make(chan finished, len(todo))}
	for k, en := range todo {
		p.tasks[k] = task{id: en.id, base: en.res, check: en.check}
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
		r := p.do(t)
		r.Duration = time.Since(t0)
		p.results <- finished{k: k, res: r}
	}
}

// do makes the calls of one task: for a check, the record is read and
// decided on first; then the CancelHandshake, if any.
func (p *pool) do(t task) Result {
	base, before := t.base, 0
	if t.check {
		r, cancel, err := p.check(t)
		if !cancel {
			if p.calls.Err() != nil {
				r = blameCutOff(r, err, p.api.Classify(err), ctxCode(p.inv))
			}
			return r
		}
		if p.dry {
			r.Outcome = handshake.OutcomeDryRun
			return r
		}
		base, before = r, r.Attempts
	}
	ans, err := p.api.CancelInvitation(p.calls, t.id)
	cls := p.api.Classify(err)
	r := classify(base, ans, err, cls)
	r.Attempts += before
	if r.TargetEntity == "" && ans.Invitation.Target != "" {
		// A named invitation's target, from the API's answer.
		r.TargetType, r.TargetEntity = ans.Invitation.TargetType, showTarget(ans.Invitation.Target, p.targets)
	}
	if p.calls.Err() != nil {
		r = blameCutOff(r, err, cls, ctxCode(p.inv))
	}
	return r
}

// check reads t's invitation and decides on it by the target policy: it
// returns the Result so far, whether to cancel it, and the read's error
// (open, and its target not allowed). The record is authoritative: an
// event only points at the invitation, whose state may have moved on.
func (p *pool) check(t task) (Result, bool, error) {
	ans, err := p.api.(directory.Describer).DescribeInvitation(p.calls, t.id)
	if err != nil {
		r := classify(t.base, ans, err, p.api.Classify(err))
		if r.Outcome == handshake.OutcomeSkipped || r.Outcome == handshake.OutcomeCancelled {
			// Reading cannot cancel, nor find it finished without a record.
			r.Outcome = handshake.OutcomeFailed
		}
		return r, false, err
	}
	inv := ans.Invitation
	r := t.base
	r.APIRequestID, r.Attempts, r.Status = ans.RequestID, ans.Attempts, handshake.Status(inv.Status)
	r.TargetType, r.TargetEntity = inv.TargetType, showTarget(inv.Target, p.targets)
	allowed := p.allowed.Allowed(inv.TargetType, inv.Target)
	r.Outcome, r.Reason = handshake.OutcomeSkipped, ReasonAllowed
	switch {
	case !allowed && inv.Open:
		r.Outcome, r.Reason = "", ReasonTargetNotAllowed
		return r, true, nil
	case !allowed:
		// Not allowed, but finished already (perhaps accepted): skipped,
		// and the reason and status say so.
		r.Reason = ReasonTargetNotAllowed
	case !inv.Open:
		r.Reason = ReasonFinished
	}
	return r, false, nil
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
