// Package deadline holds the one set of rules by which handshake-janitor
// spends an invocation's time: when no new API attempt starts, when the
// calls in flight are cut off, and when the function answers. The handler
// builds a Budget for each invocation and puts it in the context; the engine
// (pkg/janitor) and the API clients read it from the context, and nothing
// else: the per-attempt API timeout has no other owner, so an attempt that
// starts in time always ends before the cut-off.
package deadline

import (
	"context"
	"time"
)

// DefaultAPITimeout is T, the longest one API attempt may take, where
// nothing else is said: the default of API_TIMEOUT, of a Budget built with no
// API timeout, and of a call whose context carries no Budget (Of).
const DefaultAPITimeout = 5 * time.Second

// maxReserve bounds the reserve: the time kept, at the end of an
// invocation, for cutting off the calls in flight and answering.
const maxReserve = time.Second

// A Budget is the time one invocation has. With D the invocation's
// deadline, T the API timeout (API_TIMEOUT: the longest one attempt may
// take) and R the reserve (T, at most 1 s):
//
//   - No new API attempt starts, first call or retry, when less than T + R
//     is left before D: an attempt that starts in time ends, by its own
//     timeout, before the calls are cut off.
//   - Calls in flight are cut off R before D.
//   - The function answers R/2 before D at the latest: a call that ignores
//     the cut-off is abandoned, and every invitation not finished is failed
//     with error code DeadlineExceeded, so the platform redelivers it rather
//     than times out.
//
// When the invocation is interrupted (its context cancelled: SIGINT or
// SIGTERM for the CLI), no new cancellation starts, the calls in flight get
// up to T to finish before they are cut off, and the rest are failed with
// error code Canceled. Without a deadline, only an interruption stops the
// work.
//
// The zero Budget has no deadline and T = DefaultAPITimeout.
type Budget struct {
	deadline   time.Time     // zero: none
	apiTimeout time.Duration // zero: DefaultAPITimeout
}

// New returns the Budget of an invocation that must answer by deadline (the
// zero time: no deadline) and whose API attempts take at most apiTimeout
// (zero or less: DefaultAPITimeout).
func New(deadline time.Time, apiTimeout time.Duration) Budget {
	return Budget{deadline: deadline, apiTimeout: max(apiTimeout, 0)}
}

// For returns the Budget of ctx's deadline, if it has one, with apiTimeout
// as New takes it.
func For(ctx context.Context, apiTimeout time.Duration) Budget {
	dl, _ := ctx.Deadline()
	return New(dl, apiTimeout)
}

// Deadline returns the invocation's deadline, and whether it has one.
func (b Budget) Deadline() (time.Time, bool) { return b.deadline, !b.deadline.IsZero() }

// APITimeout is T: the longest one API attempt may take. Every API client
// bounds each attempt by it.
func (b Budget) APITimeout() time.Duration {
	if b.apiTimeout > 0 {
		return b.apiTimeout
	}
	return DefaultAPITimeout
}

// Reserve is R: T, at most 1 s (maxReserve).
func (b Budget) Reserve() time.Duration { return min(b.APITimeout(), maxReserve) }

// StartBy is the last moment a new API attempt may start, T + R before the
// deadline; ok is false when there is no deadline.
func (b Budget) StartBy() (t time.Time, ok bool) {
	if b.deadline.IsZero() {
		return time.Time{}, false
	}
	return b.deadline.Add(-b.APITimeout() - b.Reserve()), true
}

// CanStart reports whether an API attempt may start at the moment at.
func (b Budget) CanStart(at time.Time) bool {
	by, ok := b.StartBy()
	return !ok || !at.After(by)
}

// CutOff is when the calls in flight are cut off, R before the deadline;
// ok is false when there is no deadline.
func (b Budget) CutOff() (t time.Time, ok bool) {
	if b.deadline.IsZero() {
		return time.Time{}, false
	}
	return b.deadline.Add(-b.Reserve()), true
}

// AnswerBy is when the function answers at the latest, R/2 before the
// deadline; ok is false when there is no deadline.
func (b Budget) AnswerBy() (t time.Time, ok bool) {
	if b.deadline.IsZero() {
		return time.Time{}, false
	}
	return b.deadline.Add(-b.Reserve() / 2), true
}

// Grace is how long calls get to return once they are cut off before the
// function answers without them: R/2.
func (b Budget) Grace() time.Duration { return b.Reserve() / 2 }

type contextKey struct{}

// NewContext returns a copy of ctx that carries b.
func NewContext(ctx context.Context, b Budget) context.Context {
	return context.WithValue(ctx, contextKey{}, b)
}

// FromContext returns the Budget ctx carries, if any.
func FromContext(ctx context.Context) (Budget, bool) {
	b, ok := ctx.Value(contextKey{}).(Budget)
	return b, ok
}

// Of returns the Budget ctx carries or, when it carries none, the Budget of
// ctx's deadline with DefaultAPITimeout. The engine and the API clients read
// their Budget with it, so that both go by the same one.
func Of(ctx context.Context) Budget {
	if b, ok := FromContext(ctx); ok {
		return b
	}
	return For(ctx, DefaultAPITimeout)
}
