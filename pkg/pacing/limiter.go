package pacing

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is the adaptive rate limit of a Pacer, shared by all its calls.
// Its token bucket is golang.org/x/time/rate's, driven by the Pacer's
// clock; the limiter decides the bucket's rate. Its rules:
//
//   - Pace: a request leaves when the bucket has a token for it. The bucket
//     starts with one token (a new client does not burst) and banks up to
//     limiterBurst, or a tick's worth when more (burstFor). A request that
//     has to wait leaves at the end of the tick its token falls in, on a
//     grid shared by every caller (alignUp): never ahead of the rate, at
//     most a tick late. A wait that would end after the request's context
//     does is refused at once.
//   - Start at the QPS, never above it, never below the floor, half the
//     QPS (API rate limits are per account and shared by every tool and
//     person using it, so a throttle often says little about this client's
//     own rate).
//   - Cut: a throttle of a request paced at the current rate cuts the rate
//     to beta (0.7) times itself, empties the bucket down to at most one
//     token (requests leave at the new rate from then on, not a few at
//     once), and starts a new epoch. A request carries the epoch it was
//     paced in, read when it takes its token; the throttles of requests
//     paced before a cut do not cut again.
//   - Grow: after a cut, each answer that is not a throttle moves the rate
//     along CUBIC's curve (RFC 8312, as the AWS SDKs' adaptive retry mode
//     does): quickly at first, flat near the rate of the last cut, then
//     probing beyond it, up to the QPS. A cut below the last cut's rate
//     aims the recovery lower (fast convergence).
//   - Throttling that is not ours: of the answers to requests paced at the
//     floor (the last floorWindow or so, at least floorMinAnswers), when
//     floorFraction or more are throttles, slowing down has not helped:
//     the service is throttling for someone else's traffic. The rate goes
//     back to the QPS, throttles do not cut it for holdAfterReset, and the
//     controller starts over. Under a limit of this client's own making the
//     rate settles above the floor, or throttling stops at it, and this
//     rule never applies.
type limiter struct {
	clock clock

	mu     sync.Mutex
	bucket *rate.Limiter
	qps    float64   // the configured rate, the highest
	floor  float64   // the lowest rate
	cur    float64   // the rate now
	wmax   float64   // the rate at the last cut
	k      float64   // seconds after the last cut when the curve is back at wmax
	cutAt  time.Time // the last cut; zero: nothing to recover from
	epoch  uint64    // bumped by every cut and reset, and when the rate leaves the floor
	// floorEpochs are the latest epochs whose requests were paced at the
	// floor, each at its index epoch % epochMemory.
	floorEpochs [epochMemory]uint64
	// Answers to requests paced at the floor, and how many were
	// throttles: both halved whenever the answers reach floorWindow, so
	// that the oldest count for less.
	floorAnswers, floorThrottles float64
	holdUntil                    time.Time // throttles do not cut before this
}

const (
	limiterBeta     = 0.7  // the cut: the rate times this
	limiterC        = 0.4  // CUBIC's scaling constant (requests/s per s^3)
	limiterFloor    = 0.5  // the floor, as a fraction of the QPS
	floorFraction   = 0.15 // throttled at the floor at least this often: not ours
	floorMinAnswers = 20   // answers at the floor before judging
	floorWindow     = 64
	holdAfterReset  = 5 * time.Second
	// limiterBurst: the bucket banks up to this many tokens, so that a
	// call that comes a little late for its turn (its previous answer was
	// slow) does not lose it. No more: requests that leave together may
	// arrive together with others, and a service counting them over a
	// short window throttles the bunch.
	limiterBurst = 2
	// tick: requests due within one tick leave together at its end, so
	// that one timer, not several, wakes the process: every wake-up of an
	// idle process costs CPU time, more so in a microVM such as Lambda's
	// or FC's.
	tick          = 4 * time.Millisecond
	epochMemory   = 8 // epochs remembered as paced at the floor
	notFloorEpoch = math.MaxUint64
)

func newLimiter(qps float64, clk clock) *limiter {
	l := &limiter{
		clock:  clk,
		bucket: rate.NewLimiter(rate.Limit(qps), burstFor(qps)), // full
		qps:    qps,
		floor:  qps * limiterFloor,
		cur:    qps,
	}
	for i := range l.floorEpochs {
		l.floorEpochs[i] = notFloorEpoch
	}
	l.drain(clk.now())
	return l
}

// burstFor is the bucket's size at qps: limiterBurst, or a tick's worth of
// tokens when more, so that waiting for the end of a tick costs a lone
// caller nothing.
func burstFor(qps float64) int {
	return max(limiterBurst, int(math.Ceil(qps*tick.Seconds())))
}

// errPastDeadline is a wait that would end after its context's deadline.
var errPastDeadline = errors.New("rate limit: the wait would pass the deadline")

// wait blocks until a request may be sent, or ctx ends; a wait that would
// end after ctx's deadline returns errPastDeadline at once. It returns the
// epoch the request was paced in, for onThrottle and onAnswer.
func (l *limiter) wait(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := l.clock.now()
	// The epoch and the token are taken together: a cut comes before
	// both or after both.
	l.mu.Lock()
	epoch := l.epoch
	r := l.bucket.ReserveN(now, 1)
	l.mu.Unlock()
	if !r.OK() {
		return 0, errPastDeadline
	}
	delay := r.DelayFrom(now)
	if delay <= 0 {
		return epoch, nil
	}
	token := now.Add(delay)
	wake := alignUp(token, tick)
	if dl, ok := ctx.Deadline(); ok {
		if token.After(dl) {
			l.cancel(r, now)
			return 0, errPastDeadline
		}
		if wake.After(dl) {
			wake = token
		}
	}
	if err := l.clock.sleep(ctx, wake.Sub(now)); err != nil {
		l.cancel(r, l.clock.now())
		return 0, err
	}
	return epoch, nil
}

// cancel gives back the token of a request that will not be sent.
func (l *limiter) cancel(r *rate.Reservation, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.CancelAt(now)
}

// alignUp returns the first tick of a grid of step (counted from the Unix
// epoch, so that every caller sees the same ticks) at or after t.
func alignUp(t time.Time, step time.Duration) time.Time {
	if rem := time.Duration(t.UnixNano() % int64(step)); rem != 0 {
		return t.Add(step - rem)
	}
	return t
}

// onThrottle records a throttle of a request paced in epoch.
func (l *limiter) onThrottle(epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.now()
	if l.pacedAtFloor(epoch) {
		l.countAtFloor(true)
		if l.throttlingNotOurs() {
			l.reset(now)
			return
		}
	}
	if epoch != l.epoch || now.Before(l.holdUntil) {
		return // paced at a rate already cut, or in the hold after a reset
	}
	l.cut(now)
}

// onAnswer records an answer that is not a throttle (a success, or an
// error the service gave without pushing back) to a request paced in
// epoch.
func (l *limiter) onAnswer(epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.now()
	if l.pacedAtFloor(epoch) {
		l.countAtFloor(false)
		if l.throttlingNotOurs() {
			l.reset(now)
			return
		}
	}
	l.grow(now)
}

// cut lowers the rate after a throttle, and drains the bucket.
func (l *limiter) cut(now time.Time) {
	wmax := l.cur
	if wmax < l.wmax {
		// Throttled again before getting back to where the last throttle
		// came: the service's limit is lower than that, so aim the
		// recovery lower too.
		wmax = wmax * (1 + limiterBeta) / 2
	}
	l.wmax = wmax
	l.k = math.Cbrt(l.wmax * (1 - limiterBeta) / limiterC)
	l.cutAt = now
	l.setRate(max(l.floor, l.cur*limiterBeta), now)
	l.drain(now)
	l.epoch++
	if l.cur <= l.floor {
		l.floorEpochs[l.epoch%epochMemory] = l.epoch
	}
}

// grow moves the rate along the cubic curve of the last cut, if any.
func (l *limiter) grow(now time.Time) {
	if l.cur >= l.qps || l.cutAt.IsZero() {
		return
	}
	t := now.Sub(l.cutAt).Seconds()
	r := min(l.qps, l.wmax+limiterC*math.Pow(t-l.k, 3))
	if r <= l.cur {
		return
	}
	leavesFloor := l.cur <= l.floor
	l.setRate(r, now)
	if leavesFloor {
		l.epoch++ // requests from now on are not paced at the floor
	}
}

// reset puts the rate back at the QPS and holds it there for
// holdAfterReset: the controller starts over.
func (l *limiter) reset(now time.Time) {
	l.setRate(l.qps, now)
	l.cutAt = time.Time{}
	l.wmax = 0
	l.holdUntil = now.Add(holdAfterReset)
	l.floorAnswers, l.floorThrottles = 0, 0
	l.epoch++
}

// pacedAtFloor reports whether requests of epoch were paced at the floor.
func (l *limiter) pacedAtFloor(epoch uint64) bool {
	return l.floorEpochs[epoch%epochMemory] == epoch
}

// countAtFloor counts an answer to a request paced at the floor.
func (l *limiter) countAtFloor(throttled bool) {
	l.floorAnswers++
	if throttled {
		l.floorThrottles++
	}
	if l.floorAnswers >= floorWindow {
		l.floorAnswers, l.floorThrottles = l.floorAnswers/2, l.floorThrottles/2
	}
}

// throttlingNotOurs reports whether the answers at the floor say the
// service throttles for someone else's traffic (see limiter), while the
// rate is still at the floor.
func (l *limiter) throttlingNotOurs() bool {
	return l.cur <= l.floor &&
		l.floorAnswers >= floorMinAnswers &&
		l.floorThrottles >= floorFraction*l.floorAnswers
}

func (l *limiter) setRate(r float64, now time.Time) {
	l.cur = r
	l.bucket.SetLimitAt(now, rate.Limit(r))
}

// drain takes out of the bucket every whole token it holds beyond one, so
// that it holds at most one.
func (l *limiter) drain(now time.Time) {
	if extra := math.Ceil(l.bucket.TokensAt(now) - 1); extra > 0 {
		l.bucket.ReserveN(now, int(extra))
	}
}

// rate returns the rate now, in requests per second.
func (l *limiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}
