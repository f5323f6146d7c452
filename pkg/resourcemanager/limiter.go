package resourcemanager

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter is the client-side rate limit of a Client, shared by all
// its calls, that slows down when the service throttles and speeds up again
// as calls succeed, in the manner of the AWS SDKs' "adaptive" retry mode
// (CUBIC congestion control, RFC 8312, applied to a request rate):
//
//   - The rate starts at the configured QPS and never exceeds it.
//   - A throttling answer cuts the rate to beta (0.7) times the current
//     rate, never below the floor (1 request/s, or the QPS when lower), and
//     remembers the rate it cut from as wmax (or, when throttled again
//     below the previous wmax, a point between the two: CUBIC's fast
//     convergence, so that recovery aims at the lower limit).
//   - After a cut, each success raises the rate along the cubic curve
//     wmax + c*(t-k)^3, t seconds since the cut, k = cbrt(wmax*(1-beta)/c):
//     quickly at first, flat near wmax (where the service last pushed back),
//     then probing beyond it ever faster until the next throttle or the
//     configured QPS. Most of the time is spent just under wmax, so the
//     throughput stays close to what the service allows.
//   - Only a throttle of a request paced at the current rate cuts again:
//     requests already admitted at the old rate when a cut happened come
//     back throttled too, and must not cut the rate once each (that would
//     collapse it to the floor). Each cut starts a new epoch; a request
//     carries the epoch it was admitted in, and one that was waiting for
//     its turn when a cut came waits again at the new rate.
//   - Requests are paced in small groups, never ahead of the rate (but
//     for a hair, see tickSlack): when
//     several calls are under way at once (the engine runs a few in
//     parallel), a request that has to wait for its token waits on until
//     the next tick of a grid of n/rate seconds (n the calls under way, at
//     most limiterGroup), so that the requests due within one tick leave
//     together at its end. The bucket banks up to limiterGroup tokens
//     meanwhile, so the waiting costs no throughput; it starts with one,
//     and a cut drains it back to one, so that the requests counted from
//     a client's start, or from a throttle, never outrun the rate. What
//     grouping buys is that one timer, not n, wakes the process per tick,
//     and the answers tend to come back together too: every wake-up of an
//     idle process costs CPU time, more so in a microVM such as Lambda's
//     or FC's, where it is a VM exit (README.md, "Performance"). A lone caller
//     is paced by the token bucket alone.
//
// The clock is injectable so that tests are deterministic.
type adaptiveLimiter struct {
	lim *rate.Limiter
	now func() time.Time

	mu      sync.Mutex
	max     float64   // the configured QPS
	floor   float64   // the lowest rate a cut goes to
	cur     float64   // the current rate
	wmax    float64   // the rate at the last cut
	k       float64   // seconds after the last cut when the curve is back at wmax
	lastCut time.Time // zero before the first cut
	epoch   uint64    // number of cuts so far

	calls atomic.Int64 // calls under way (enter to leave), for the grid
}

const (
	limiterBeta  = 0.7          // multiplicative decrease on a throttle
	limiterC     = 0.4          // CUBIC scaling constant (requests/s per s^3)
	limiterFloor = 1.0          // requests/s
	limiterGroup = 4            // at most this many requests leave at one grid tick
	limiterBurst = limiterGroup // tokens banked while a group waits for its tick
)

func newAdaptiveLimiter(qps float64, now func() time.Time) *adaptiveLimiter {
	if now == nil {
		now = time.Now
	}
	// One token to start with: a new client does not burst.
	lim := rate.NewLimiter(rate.Limit(qps), 1)
	lim.SetBurst(limiterBurst)
	return &adaptiveLimiter{
		lim:   lim,
		now:   now,
		max:   qps,
		floor: min(limiterFloor, qps),
		cur:   qps,
	}
}

// enter and leave bracket a call (its attempts and the waits between), so
// that wait knows how many calls are under way.
func (l *adaptiveLimiter) enter() { l.calls.Add(1) }
func (l *adaptiveLimiter) leave() { l.calls.Add(-1) }

// wait blocks until a request may be sent, or ctx ends (or its deadline is
// too near for the wait; then it returns at once). It returns the epoch the
// request is admitted in, for onThrottle.
//
// A request that waited through a cut waits again at the new rate: the
// token bucket keeps the place in line it gave at the old rate, and a queue
// of callers released at the old pace right after the service pushed back
// would each be throttled in turn.
func (l *adaptiveLimiter) wait(ctx context.Context) (uint64, error) {
	epoch := l.currentEpoch()
	for range maxRewaits {
		if err := l.waitToken(ctx); err != nil {
			return epoch, err
		}
		now := l.currentEpoch()
		if now == epoch {
			break
		}
		epoch = now
	}
	return epoch, nil
}

// errLimiterDeadline is a wait that would end after ctx's deadline.
var errLimiterDeadline = errors.New("rate limit: the wait would pass the deadline")

// waitToken takes a token, waiting for it until the next grid tick when
// calls are under way together (see the type's comment).
func (l *adaptiveLimiter) waitToken(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return errLimiterDeadline
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	dl, _ := ctx.Deadline()
	wake, ok := l.wakeTime(now, d, dl)
	if !ok {
		r.CancelAt(now)
		return errLimiterDeadline
	}
	if !wake.After(now) {
		return nil
	}
	t := time.NewTimer(wake.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// wakeTime is when a request whose token comes d after now leaves: at the
// token's time, or, when calls are under way together, at the first grid
// tick at or after it (unless that tick is past the deadline and the
// token's time is not). It reports false when the token comes after the
// deadline (zero: none).
func (l *adaptiveLimiter) wakeTime(now time.Time, d time.Duration, deadline time.Time) (time.Time, bool) {
	token := now.Add(d)
	if !deadline.IsZero() && token.After(deadline) {
		return token, false
	}
	n := min(l.calls.Load(), limiterGroup)
	if n < 2 || d == 0 {
		return token, true
	}
	step := time.Duration(float64(n) / float64(l.lim.Limit()) * float64(time.Second))
	if step < minTickStep || step > maxTickStep {
		return token, true
	}
	// The last token of a group falls due right on a tick, give or take
	// the bucket's rounding: a token a hair past a tick leaves at it
	// rather than a whole step later.
	wake := alignUp(token.Add(-step/tickSlack), step)
	if !deadline.IsZero() && wake.After(deadline) {
		wake = token
	}
	return wake, true
}

// Grid steps outside these bounds are not worth aligning to: under a
// millisecond, timers are not that precise; over a second, holding a
// request back is felt.
const (
	minTickStep = time.Millisecond
	maxTickStep = time.Second
)

// tickSlack: a token due up to step/tickSlack after a tick leaves at that
// tick (at 4 calls, 1/64 of one token's interval early at most).
const tickSlack = 256

// alignUp returns the first tick of a grid of step (counted from the Unix
// epoch, so that every caller sees the same ticks) at or after t.
func alignUp(t time.Time, step time.Duration) time.Time {
	if rem := time.Duration(t.UnixNano() % int64(step)); rem != 0 {
		return t.Add(step - rem)
	}
	return t
}

// maxRewaits bounds how often one request waits again after cuts.
const maxRewaits = 3

func (l *adaptiveLimiter) currentEpoch() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}

// onThrottle records a throttling answer to a request admitted in epoch.
func (l *adaptiveLimiter) onThrottle(epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if epoch != l.epoch {
		return // paced at a rate already cut
	}
	wmax := l.cur
	if wmax < l.wmax {
		// Throttled again before getting back to where the last throttle
		// came: the service's limit is lower than that, so aim the
		// recovery lower too (CUBIC's fast convergence).
		wmax = wmax * (1 + limiterBeta) / 2
	}
	l.wmax = wmax
	l.cur = max(l.floor, l.cur*limiterBeta)
	l.k = math.Cbrt(l.wmax * (1 - limiterBeta) / limiterC)
	l.lastCut = l.now()
	l.epoch++
	l.lim.SetLimit(rate.Limit(l.cur))
	// Drain what the bucket banked: after a throttle, requests leave at
	// the new rate from now on, not in a group at once.
	l.lim.SetBurst(1)
	l.lim.SetBurst(limiterBurst)
}

// onSuccess records a successful answer: after a cut, the rate grows back
// along the cubic curve.
func (l *adaptiveLimiter) onSuccess() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur >= l.max || l.lastCut.IsZero() {
		return
	}
	t := l.now().Sub(l.lastCut).Seconds()
	r := min(l.max, l.wmax+limiterC*math.Pow(t-l.k, 3))
	if r > l.cur {
		l.cur = r
		l.lim.SetLimit(rate.Limit(r))
	}
}

// rate returns the current rate in requests per second.
func (l *adaptiveLimiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}
