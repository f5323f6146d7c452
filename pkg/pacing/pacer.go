package pacing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
)

// Options configure a Pacer. Zero values take the defaults.
type Options struct {
	QPS         float64       // the rate limit, requests/s; default DefaultQPS
	MaxAttempts int           // per call, the first included; default DefaultMaxAttempts, at most MaxAttempts
	BackoffBase time.Duration // the longest wait before the first retry; default DefaultBackoffBase
	BackoffCap  time.Duration // the longest wait before any retry; default DefaultBackoffCap
}

// Defaults and bounds of Options.
const (
	DefaultQPS         = 10
	DefaultMaxAttempts = 5
	MaxAttempts        = 20
)

// Outcome is what a failed attempt got, as the client reads it.
type Outcome int

const (
	// Rejected: the service answered with an error that trying again
	// will not change. The call ends with it.
	Rejected Outcome = iota
	// Unavailable: the service answered with an error that may pass (a
	// 5xx). The call tries again.
	Unavailable
	// Throttled: the service answered that it is asked too often. The
	// rate may be cut, and the call tries again.
	Throttled
	// NoAnswer: no answer, worth trying again (the attempt timed out, the
	// network failed). The call tries again.
	NoAnswer
	// Unusable: no usable answer, and trying again will not change that
	// (the endpoint's certificate is not trusted, the answer is
	// unreadable). The call ends with it.
	Unusable
)

// A Call is one API call, as Do runs it.
type Call struct {
	// Prepare, when set, runs before each attempt, once the attempt has its
	// turn: work the attempt needs that sends nothing (fetching
	// credentials). An error from it ends the call, counting no attempt.
	Prepare func(ctx context.Context) error
	// Attempt sends one request and reads its answer. Its ctx ends after
	// the Budget's API timeout.
	Attempt func(ctx context.Context) error
	// Classify says what an attempt's error was; it is never called with
	// nil.
	Classify func(err error) Outcome
}

// ErrAttemptTimeout is the cause (context.Cause) of an attempt's context
// that ended because the attempt took the Budget's API timeout: the
// attempt timed out, and the call itself still has time.
var ErrAttemptTimeout = errors.New("the attempt took the API timeout")

// ErrOutOfTime is wrapped by the StopError of a call that ran out of time:
// the Budget let no further attempt start (or none after the backoff before
// it), or the call's deadline came while an attempt was in flight.
var ErrOutOfTime = errors.New("out of time before the deadline")

// A StopError ends a call that stopped before an attempt succeeded or
// failed for good.
type StopError struct {
	Err  error // ErrOutOfTime, or the cause of the call's context ending
	Last error // the failure of the attempt before, if there was one
}

func (e *StopError) Error() string {
	if e.Last == nil {
		return e.Err.Error()
	}
	return e.Err.Error() + "; last attempt: " + e.Last.Error()
}

func (e *StopError) Unwrap() []error {
	if e.Last == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Last}
}

// A Pacer paces and retries the calls of one API client; its rules are the
// package's. It is safe for concurrent use; a client has one, shared by
// all its calls.
type Pacer struct {
	limiter     *limiter
	backoff     backoff
	maxAttempts int
	clock       clock
}

// New validates o and returns a Pacer. A bad option is an error naming it,
// its value and what is accepted.
func New(o Options) (*Pacer, error) { return newPacer(o, realClock{}) }

func newPacer(o Options, clk clock) (*Pacer, error) {
	qps, attempts := o.QPS, o.MaxAttempts
	switch {
	case math.IsNaN(qps) || math.IsInf(qps, 0) || qps < 0:
		return nil, fmt.Errorf("QPS %v: want a positive number of requests per second (0 for %d)", qps, DefaultQPS)
	case qps == 0:
		qps = DefaultQPS
	}
	switch {
	case attempts < 0 || attempts > MaxAttempts:
		return nil, fmt.Errorf("MaxAttempts %d: want 1 to %d (0 for %d)", attempts, MaxAttempts, DefaultMaxAttempts)
	case attempts == 0:
		attempts = DefaultMaxAttempts
	}
	if o.BackoffBase < 0 || o.BackoffCap < 0 {
		return nil, fmt.Errorf("BackoffBase %v, BackoffCap %v: want durations of 0 or more (0 for %v and %v)", o.BackoffBase, o.BackoffCap, DefaultBackoffBase, DefaultBackoffCap)
	}
	b := backoff{base: o.BackoffBase, cap: o.BackoffCap}
	if b.base == 0 {
		b.base = DefaultBackoffBase
	}
	if b.cap == 0 {
		b.cap = DefaultBackoffCap
	}
	return &Pacer{limiter: newLimiter(qps, clk), backoff: b, maxAttempts: attempts, clock: clk}, nil
}

// Rate returns the rate limit now in force, in requests per second:
// Options.QPS, or less after the service throttled.
func (p *Pacer) Rate() float64 { return p.limiter.rate() }

// Do runs c: attempts, each at its turn of the rate limit and bounded by
// the API timeout of the Budget in ctx (deadline.Of), until one succeeds,
// one fails for good (Rejected, Unusable), the attempts run out, the Budget
// lets no other start, or ctx ends. It returns the number of attempts sent
// and:
//
//   - nil, when an attempt succeeded;
//   - the last attempt's error, when it failed for good, when the attempts
//     ran out, or when ctx was cancelled during it;
//   - Prepare's error, unchanged;
//   - a *StopError wrapping ErrOutOfTime when the Budget let no other
//     attempt start, the rate limit could not give a turn in time, or the
//     call's deadline came during an attempt;
//   - a *StopError wrapping context.Cause(ctx) when ctx was cancelled
//     before an attempt.
//
// Every StopError carries the failure of the attempt before, if any.
func (p *Pacer) Do(ctx context.Context, c Call) (attempts int, err error) {
	b := deadline.Of(ctx)
	// A wait (for a turn, or a backoff) also ends when the invocation is
	// interrupted (deadline.WithInterrupt): nothing is in flight then.
	wctx, endWait := waitContext(ctx)
	defer endWait()
	var last error
	for attempts < p.maxAttempts {
		if attempts > 0 {
			d := p.backoff.delay(attempts)
			if !b.CanStart(p.clock.now().Add(d)) {
				return attempts, outOfTime(last)
			}
			if err := p.clock.sleep(wctx, d); err != nil {
				e := ended(ctx)
				if e == nil {
					e = wctx
				}
				return attempts, stopped(e, last)
			}
		}
		if e := ended(ctx); e != nil {
			return attempts, stopped(e, last)
		}
		if !b.CanStart(p.clock.now()) {
			return attempts, outOfTime(last)
		}
		epoch, err := p.waitTurn(wctx, b)
		if err != nil {
			if e := ended(ctx); e != nil {
				return attempts, stopped(e, last)
			}
			return attempts, outOfTime(last) // no turn in time
		}
		if c.Prepare != nil {
			if err := c.Prepare(ctx); err != nil {
				if ctx.Err() != nil {
					return attempts, stopped(ctx, last)
				}
				return attempts, err
			}
		}
		// Waiting for a turn and preparing take time too: the Budget's
		// rule holds when the request leaves, not when it queued.
		if !b.CanStart(p.clock.now()) {
			return attempts, outOfTime(last)
		}
		if e := ended(ctx); e != nil {
			return attempts, stopped(e, last)
		}
		attempts++
		err = p.attempt(ctx, b, c.Attempt)
		if err == nil {
			p.limiter.onAnswer(epoch)
			return attempts, nil
		}
		prev := last
		last = err
		outcome := c.Classify(err)
		switch outcome {
		case Rejected:
			p.limiter.onAnswer(epoch) // answered without pushing back
			return attempts, err
		case Unavailable:
			p.limiter.onAnswer(epoch)
		case Throttled:
			p.limiter.onThrottle(epoch)
		default: // NoAnswer, Unusable
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// Cut off by the call's deadline: report the deadline,
				// with the previous attempt's failure when there was one.
				if prev == nil {
					prev = err
				}
				return attempts, outOfTime(prev)
			}
			if ctx.Err() != nil || outcome == Unusable {
				return attempts, err
			}
		}
	}
	return attempts, last
}

// attempt runs one attempt under the Budget's API timeout.
func (p *Pacer) attempt(ctx context.Context, b deadline.Budget, attempt func(context.Context) error) error {
	actx, cancel := context.WithTimeoutCause(ctx, b.APITimeout(), ErrAttemptTimeout)
	defer cancel()
	return attempt(actx)
}

// waitTurn waits for the rate limit, at most until the last moment the
// Budget lets an attempt start.
func (p *Pacer) waitTurn(ctx context.Context, b deadline.Budget) (uint64, error) {
	if by, ok := b.StartBy(); ok {
		wctx, cancel := context.WithDeadline(ctx, by)
		defer cancel()
		return p.limiter.wait(wctx)
	}
	return p.limiter.wait(ctx)
}

func outOfTime(last error) error { return &StopError{Err: ErrOutOfTime, Last: last} }

// stopped is the error of a call whose context ended between attempts.
func stopped(ctx context.Context, last error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return outOfTime(last)
	}
	return &StopError{Err: context.Cause(ctx), Last: last}
}
