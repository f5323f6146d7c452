package resourcemanager

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter is the client-side rate limit of a Client, shared by all
// its calls. Its token bucket is golang.org/x/time/rate's; what it adds is
// how the rate moves:
//
//   - Congestion: the rate starts at the configured QPS and never exceeds
//     it. A throttling answer cuts it to beta (0.7) times the current rate,
//     and the rate grows back along CUBIC's curve (RFC 8312, as in the AWS
//     SDKs' adaptive retry mode): quickly at first, flat near the rate of
//     the last cut (where the service pushed back), then probing beyond it.
//     Cuts after a repeated throttle below the last cut's rate aim the
//     recovery lower (CUBIC's fast convergence).
//   - One signal per window: only a throttle of a request paced at the
//     current rate cuts. Every cut starts a new epoch; a request carries the
//     epoch it was admitted in, and the throttles of requests admitted
//     before the cut (one round trip's worth) do not cut again.
//   - A floor: the rate never goes below half the QPS. API rate limits are
//     per account and shared by every tool and person using it, so a
//     throttle often says nothing about this client's own rate.
//   - Throttling that is not ours: when requests paced at the floor are
//     still throttled at least bgFraction of the time (over the last
//     bgMinAnswers to bgWindow answers), slowing down has not helped: the
//     service is throttling for someone else's traffic. The rate goes back to the QPS
//     and throttles do not cut it for bgHold; then the controller starts
//     over. Under a service limit of our own making the rate settles above
//     the floor, or throttling stops at it, and this never triggers.
//
// The clock is injectable so that tests are deterministic.
type adaptiveLimiter struct {
	lim *rate.Limiter
	now func() time.Time

	mu      sync.Mutex
	max     float64   // the configured QPS
	floor   float64   // the lowest rate
	cur     float64   // the current rate
	wmax    float64   // the rate at the last cut
	k       float64   // seconds after the last cut when the curve is back at wmax
	lastCut time.Time // zero: no cut to recover from
	epoch   uint64    // bumped by every cut and reset, and when the rate leaves the floor
	atFloor [epochMemory]uint64

	// Answers to requests paced at the floor, and how many were
	// throttles: both halved whenever the answers reach bgWindow, so that
	// the oldest count for less.
	bgAnswers, bgThrottles float64
	ignoreUntil            time.Time // throttles do not cut before this
}

const (
	limiterBeta  = 0.7  // multiplicative decrease on a throttle
	limiterC     = 0.4  // CUBIC scaling constant (requests/s per s^3)
	limiterFloor = 0.5  // the floor, as a fraction of the QPS
	bgFraction   = 0.15 // throttled at the floor at least this often: not ours
	bgMinAnswers = 20   // answers at the floor before judging
	bgWindow     = 64
	bgHold       = 5 * time.Second
	// limiterBurst: the bucket banks up to this many tokens (more at a
	// rate above one per tick, see burstFor), so that a call that comes a
	// little late for its turn (its previous answer was slow) does not
	// lose it. No more: requests that leave together may arrive together
	// with others, and a service counting them over a short window
	// throttles the bunch.
	limiterBurst = 2
	// tick: a request that has to wait for its token leaves at the end of
	// the tick (of a grid shared by every caller) its token falls in, so
	// that requests due within one tick leave together and one timer, not
	// several, wakes the process: every wake-up of an idle process costs
	// CPU time, more so in a microVM such as Lambda's or FC's. Never ahead
	// of the rate (it only ever waits longer), and at most a tick late.
	tick          = 4 * time.Millisecond
	epochMemory   = 8 // epochs remembered as paced at the floor
	notFloorEpoch = math.MaxUint64
)

func newAdaptiveLimiter(qps float64, now func() time.Time) *adaptiveLimiter {
	if now == nil {
		now = time.Now
	}
	// One token to start with: a new client does not burst.
	lim := rate.NewLimiter(rate.Limit(qps), 1)
	lim.SetBurst(burstFor(qps))
	l := &adaptiveLimiter{
		lim:   lim,
		now:   now,
		max:   qps,
		floor: qps * limiterFloor,
		cur:   qps,
	}
	for i := range l.atFloor {
		l.atFloor[i] = notFloorEpoch
	}
	return l
}

// burstFor is the bucket's size at qps: limiterBurst, or a tick's worth of
// tokens when more, so that waiting for the end of a tick costs a lone
// caller nothing.
func burstFor(qps float64) int {
	return max(limiterBurst, int(math.Ceil(qps*tick.Seconds())))
}

// errLimiterDeadline is a wait that would end after ctx's deadline.
var errLimiterDeadline = errors.New("rate limit: the wait would pass the deadline")

// wait blocks until a request may be sent, or ctx ends; a wait that would
// pass ctx's deadline returns an error at once. It returns the epoch the
// request is admitted in, for onThrottle and onSuccess.
func (l *adaptiveLimiter) wait(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := time.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return 0, errLimiterDeadline
	}
	if d := r.DelayFrom(now); d > 0 {
		token := now.Add(d)
		wake := alignUp(token, tick)
		if dl, ok := ctx.Deadline(); ok {
			if token.After(dl) {
				r.CancelAt(now)
				return 0, errLimiterDeadline
			}
			if wake.After(dl) {
				wake = token
			}
		}
		t := time.NewTimer(wake.Sub(now))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			r.Cancel()
			return 0, ctx.Err()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch, nil
}

// alignUp returns the first tick of a grid of step (counted from the Unix
// epoch, so that every caller sees the same ticks) at or after t.
func alignUp(t time.Time, step time.Duration) time.Time {
	if rem := time.Duration(t.UnixNano() % int64(step)); rem != 0 {
		return t.Add(step - rem)
	}
	return t
}

// onThrottle records a throttling answer to a request admitted in epoch.
func (l *adaptiveLimiter) onThrottle(epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.answerAtFloor(epoch, true, now) || epoch != l.epoch || now.Before(l.ignoreUntil) {
		return // reset, paced at a rate already cut, or not ours
	}
	wmax := l.cur
	if wmax < l.wmax {
		// Throttled again before getting back to where the last throttle
		// came: the service's limit is lower than that, so aim the
		// recovery lower too.
		wmax = wmax * (1 + limiterBeta) / 2
	}
	l.wmax = wmax
	l.k = math.Cbrt(l.wmax * (1 - limiterBeta) / limiterC)
	l.lastCut = now
	l.set(max(l.floor, l.cur*limiterBeta))
	// Drain what the bucket banked down to one token: after a throttle,
	// requests leave at the new rate from now on, not a few at once.
	burst := l.lim.Burst()
	l.lim.SetBurst(1)
	l.lim.SetBurst(burst)
	l.epoch++
	l.markFloor()
}

// onSuccess records a successful answer to a request admitted in epoch:
// after a cut, the rate grows back along the cubic curve.
func (l *adaptiveLimiter) onSuccess(epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.answerAtFloor(epoch, false, now)
	if l.cur >= l.max || l.lastCut.IsZero() {
		return
	}
	t := now.Sub(l.lastCut).Seconds()
	r := min(l.max, l.wmax+limiterC*math.Pow(t-l.k, 3))
	if r > l.cur {
		wasFloor := l.cur <= l.floor
		l.set(r)
		if wasFloor {
			l.epoch++ // requests from now on are not paced at the floor
		}
	}
}

// answerAtFloor counts an answer to a request paced at the floor, if epoch
// was one, and resets the rate when throttling there is not ours. It
// reports whether it did.
func (l *adaptiveLimiter) answerAtFloor(epoch uint64, throttled bool, now time.Time) bool {
	if l.atFloor[epoch%epochMemory] != epoch {
		return false
	}
	l.bgAnswers++
	if throttled {
		l.bgThrottles++
	}
	if l.bgAnswers >= bgWindow {
		l.bgAnswers, l.bgThrottles = l.bgAnswers/2, l.bgThrottles/2
	}
	if l.bgAnswers < bgMinAnswers || l.bgThrottles < bgFraction*l.bgAnswers || l.cur > l.floor {
		return false
	}
	l.set(l.max)
	l.lastCut = time.Time{}
	l.wmax = 0
	l.ignoreUntil = now.Add(bgHold)
	l.bgAnswers, l.bgThrottles = 0, 0
	l.epoch++
	return true
}

// markFloor remembers the current epoch as paced at the floor, when it is.
func (l *adaptiveLimiter) markFloor() {
	if l.cur <= l.floor {
		l.atFloor[l.epoch%epochMemory] = l.epoch
	}
}

func (l *adaptiveLimiter) set(r float64) {
	l.cur = r
	l.lim.SetLimit(rate.Limit(r))
}

// rate returns the current rate in requests per second.
func (l *adaptiveLimiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}
