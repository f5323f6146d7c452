package deadline

import "context"

// An invocation is interrupted in two steps (the CLI's first and second
// SIGINT or SIGTERM):
//
//   - Interrupted: the invocation's context is cancelled. No new API attempt
//     starts, and a call waiting for its turn (the client's rate limiter, or
//     a backoff before a retry) stops waiting at once: it has nothing in
//     flight. An attempt already sent may finish, for up to the API timeout.
//   - Stopped: the channel given to WithStop is closed. The attempts in
//     flight are cut off now, and the invocation answers without waiting
//     for them: they are reported failed (Canceled), like everything else
//     not finished.
//
// The calls of an invocation run on a context that the interruption does
// not cancel (so that an attempt in flight can finish); WithInterrupt puts
// the invocation's context in it, for the client to stop waiting by.

type interruptKey struct{}

type stopKey struct{}

// WithInterrupt returns a copy of calls, the context of an invocation's API
// calls, that carries inv, the invocation's own context: once inv is done, a
// call made with the copy starts no new attempt and stops waiting for one.
func WithInterrupt(calls, inv context.Context) context.Context {
	return context.WithValue(calls, interruptKey{}, inv)
}

// Interrupt returns the invocation's context that ctx carries (see
// WithInterrupt), if any; without one, a call stops waiting when ctx ends.
func Interrupt(ctx context.Context) (inv context.Context, ok bool) {
	inv, ok = ctx.Value(interruptKey{}).(context.Context)
	return inv, ok
}

// WithStop returns a copy of ctx carrying stop: closing it asks the
// invocation to stop now, without waiting for the attempts in flight.
func WithStop(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// Stop returns the channel ctx carries (see WithStop), or nil.
func Stop(ctx context.Context) <-chan struct{} {
	stop, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return stop
}
