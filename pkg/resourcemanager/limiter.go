package resourcemanager

import (
	"context"
	"math"
	"sync"
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
}

const (
	limiterBeta  = 0.7 // multiplicative decrease on a throttle
	limiterC     = 0.4 // CUBIC scaling constant (requests/s per s^3)
	limiterFloor = 1.0 // requests/s
	limiterBurst = 1   // pace evenly: a burst is what a server limit punishes
)

func newAdaptiveLimiter(qps float64, now func() time.Time) *adaptiveLimiter {
	if now == nil {
		now = time.Now
	}
	return &adaptiveLimiter{
		lim:   rate.NewLimiter(rate.Limit(qps), limiterBurst),
		now:   now,
		max:   qps,
		floor: min(limiterFloor, qps),
		cur:   qps,
	}
}

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
		if err := l.lim.Wait(ctx); err != nil {
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
