package rmemu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Faults are the emulator's fault injection settings. The zero value
// injects nothing.
type Faults struct {
	// Latency is added to every answer, plus a uniformly random part in
	// [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration

	// RateLimit is the service-side flow control, in requests per second
	// over every authenticated request (0: none). A request over it is
	// answered 400 Throttling.User "Request was denied due to user flow
	// control.". RateBurst is how many may come at once (default: the
	// rate rounded up, at least 1).
	RateLimit float64
	RateBurst int

	// ThrottleRate is the fraction, from 0 to 1, of authenticated requests
	// answered 400 Throttling.User at random, whatever the rate: the
	// account's quota is shared by every tool and person using it, and
	// their traffic, not this client's, decides when it runs out.
	ThrottleRate float64

	// ErrorRate is the fraction, from 0 to 1, of authenticated requests
	// answered 503 ServiceUnavailable or 500 InternalError (one or the
	// other at random) without acting.
	ErrorRate float64

	// DropRate is the fraction, from 0 to 1, of successful
	// CancelHandshake calls whose connection is closed without an answer
	// after the cancel was applied: the client cannot know it succeeded.
	DropRate float64
}

// Validate reports the first setting out of range.
func (f Faults) Validate() error {
	switch {
	case f.Latency < 0:
		return fmt.Errorf("rmemu: latency %s: want 0 or more", f.Latency)
	case f.Jitter < 0:
		return fmt.Errorf("rmemu: jitter %s: want 0 or more", f.Jitter)
	case f.RateLimit < 0 || math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0):
		return fmt.Errorf("rmemu: rate limit %v: want requests per second, 0 for none", f.RateLimit)
	case f.RateBurst < 0:
		return fmt.Errorf("rmemu: rate burst %d: want 0 (default) or more", f.RateBurst)
	case !(f.ThrottleRate >= 0 && f.ThrottleRate <= 1):
		return fmt.Errorf("rmemu: throttle rate %v: want a fraction from 0 to 1", f.ThrottleRate)
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return fmt.Errorf("rmemu: error rate %v: want a fraction from 0 to 1", f.ErrorRate)
	case !(f.DropRate >= 0 && f.DropRate <= 1):
		return fmt.Errorf("rmemu: drop rate %v: want a fraction from 0 to 1", f.DropRate)
	}
	return nil
}

// sanitized clamps every setting into range, so a Server never fails on
// settings that Validate would refuse.
func (f Faults) sanitized() Faults {
	f.Latency = max(f.Latency, 0)
	f.Jitter = max(f.Jitter, 0)
	if !(f.RateLimit > 0) || math.IsInf(f.RateLimit, 0) {
		f.RateLimit = 0
	}
	f.RateBurst = max(f.RateBurst, 0)
	f.ThrottleRate = clamp01(f.ThrottleRate)
	f.ErrorRate = clamp01(f.ErrorRate)
	f.DropRate = clamp01(f.DropRate)
	return f
}

func clamp01(x float64) float64 {
	if !(x > 0) {
		return 0
	}
	return min(x, 1)
}

// faultState is the fault configuration in force, the scripts per ID, and
// the seeded random source, behind one lock.
type faultState struct {
	mu          sync.Mutex
	cfg         Faults
	limiter     *rate.Limiter // nil: no limit
	rng         *rand.Rand
	throttle    map[string]int // ID -> calls left to throttle
	unavailable map[string]int // ID -> calls left to answer 503; -1: every call
	dropCancel  map[string]int // ID -> successful cancels left to drop
}

func (fs *faultState) init(f Faults, seed uint64) {
	fs.rng = rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5))
	fs.throttle = make(map[string]int)
	fs.unavailable = make(map[string]int)
	fs.dropCancel = make(map[string]int)
	fs.set(f)
}

func (fs *faultState) set(f Faults) {
	f = f.sanitized()
	fs.cfg = f
	if f.RateLimit == 0 {
		fs.limiter = nil
		return
	}
	burst := f.RateBurst
	if burst == 0 {
		burst = max(1, int(math.Ceil(f.RateLimit)))
	}
	if fs.limiter == nil {
		fs.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), burst)
		return
	}
	fs.limiter.SetLimit(rate.Limit(f.RateLimit))
	fs.limiter.SetBurst(burst)
}

// SetFaults replaces the fault injection settings while serving. Values out
// of range (see Faults.Validate) are clamped.
func (s *Server) SetFaults(f Faults) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.set(f)
}

// Faults returns the fault injection settings in force.
func (s *Server) Faults() Faults {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.cfg
}

// ThrottleNext answers 400 Throttling.User to the next n calls that name
// this HandshakeId (after authentication), then lets calls through.
func (s *Server) ThrottleNext(id string, n int) {
	s.faults.script(s.faults.throttle, id, n)
}

// FailNext answers 503 ServiceUnavailable to the next n calls that name
// this HandshakeId (n < 0: every call), without acting.
func (s *Server) FailNext(id string, n int) {
	s.faults.script(s.faults.unavailable, id, n)
}

// FailAlways answers 503 ServiceUnavailable to every call that names this
// HandshakeId, until ClearScripts.
func (s *Server) FailAlways(id string) {
	s.faults.script(s.faults.unavailable, id, -1)
}

// DropAfterCancel makes the next successful CancelHandshake of this ID
// apply the cancel and then close the connection without an answer.
func (s *Server) DropAfterCancel(id string) {
	s.faults.script(s.faults.dropCancel, id, 1)
}

// ClearScripts forgets every scripted failure set by ThrottleNext,
// FailNext, FailAlways and DropAfterCancel.
func (s *Server) ClearScripts() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	clear(s.faults.throttle)
	clear(s.faults.unavailable)
	clear(s.faults.dropCancel)
}

func (fs *faultState) script(m map[string]int, id string, n int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if n == 0 {
		delete(m, id)
		return
	}
	m[id] = n
}

// delay waits for the configured latency, or until ctx is done.
func (fs *faultState) delay(ctx context.Context) error {
	fs.mu.Lock()
	d := fs.cfg.Latency
	if fs.cfg.Jitter > 0 {
		d += time.Duration(fs.rng.Int64N(int64(fs.cfg.Jitter)))
	}
	fs.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inject decides, for an authenticated request naming id (or ""), whether
// flow control, a script or the random 5xx rate answers it instead of the
// action.
func (fs *faultState) inject(id string) *response {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.limiter != nil && !fs.limiter.Allow() {
		return fail(http.StatusBadRequest, "Throttling.User", msgThrottlingUser)
	}
	if fs.cfg.ThrottleRate > 0 && fs.rng.Float64() < fs.cfg.ThrottleRate {
		return fail(http.StatusBadRequest, "Throttling.User", msgThrottlingUser)
	}
	if id != "" {
		if n := fs.throttle[id]; n > 0 {
			countDown(fs.throttle, id, n)
			return fail(http.StatusBadRequest, "Throttling.User", msgThrottlingUser)
		}
		if n := fs.unavailable[id]; n != 0 {
			countDown(fs.unavailable, id, n)
			return fail(http.StatusServiceUnavailable, "ServiceUnavailable", msgServiceUnavailable)
		}
	}
	if fs.cfg.ErrorRate > 0 && fs.rng.Float64() < fs.cfg.ErrorRate {
		if fs.rng.IntN(2) == 0 {
			return fail(http.StatusServiceUnavailable, "ServiceUnavailable", msgServiceUnavailable)
		}
		return fail(http.StatusInternalServerError, "InternalError", msgInternalError)
	}
	return nil
}

// countDown spends one scripted call; a negative count never runs out.
func countDown(m map[string]int, id string, n int) {
	switch {
	case n < 0:
	case n == 1:
		delete(m, id)
	default:
		m[id] = n - 1
	}
}

// dropAfterCancel decides whether the answer to an applied cancel of id is
// dropped.
func (fs *faultState) dropAfterCancel(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if n := fs.dropCancel[id]; n > 0 {
		countDown(fs.dropCancel, id, n)
		return true
	}
	return fs.cfg.DropRate > 0 && fs.rng.Float64() < fs.cfg.DropRate
}
