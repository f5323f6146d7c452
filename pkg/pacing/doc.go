// Package pacing paces and retries the calls of one API client: the rules a
// directory's client follows to be a good citizen of a rate-limited API and
// to keep to the invocation's deadline.Budget.
//
// A client makes one Pacer (New) and sends every call through its Do. The
// client supplies one attempt (Call.Attempt) and says what an attempt's
// failure was (Call.Classify: an answer refusing for good, a transient
// answer, a throttle, no answer worth trying again, or no usable answer);
// the Pacer supplies the rest:
//
//   - Rate: every attempt of every call waits for its turn at one adaptive
//     rate limit. It starts at Options.QPS and never exceeds it; a throttle
//     of a request paced at the current rate cuts it to 0.7 of itself (the
//     throttles of requests paced before a cut do not cut again), and it
//     grows back along CUBIC's curve (RFC 8312); it never goes below half
//     of the QPS; and when requests paced there are still throttled 15 % of
//     the time or more, the throttling is someone else's: the rate goes
//     back to the QPS and throttles do not cut it for 5 s.
//   - Retries: a transient answer, a throttle or no answer is tried again,
//     up to Options.MaxAttempts attempts per call, the first included, after
//     an exponential backoff with full jitter: before retry n a uniformly
//     random wait in [0, min(BackoffCap, BackoffBase×2^(n-1))).
//   - Deadline: the Budget is the one the call's context carries
//     (deadline.Of). No attempt starts, first or retry, when the Budget's
//     CanStart says it may not (less than T + R left), checked before the
//     backoff, before the turn, and again when the request leaves; each
//     attempt's context ends after the Budget's APITimeout, T, with cause
//     ErrAttemptTimeout. A call that runs out of time ends with a
//     *StopError wrapping ErrOutOfTime; one whose context is cancelled
//     between attempts, with a *StopError wrapping the context's cause.
//
// The Pacer counts the attempts it sends. It is safe for concurrent use.
package pacing
