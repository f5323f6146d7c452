package orgemu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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
	// answered 429 TooManyRequestsException. RateBurst is how many may
	// come at once (default: the rate rounded up, at least 1).
	RateLimit float64
	RateBurst int

	// ThrottleRate is the fraction, from 0 to 1, of authenticated requests
	// answered 429 TooManyRequestsException at random, whatever the rate: the
	// account's quota is shared by every tool and person using it, and
	// their traffic, not this client's, decides when it runs out.
	ThrottleRate float64

	// ErrorRate is the fraction, from 0 to 1, of authenticated requests
	// answered 500 ServiceException without acting.
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
		return fmt.Errorf("orgemu: latency %s: want 0 or more", f.Latency)
	case f.Jitter < 0:
		return fmt.Errorf("orgemu: jitter %s: want 0 or more", f.Jitter)
	case f.RateLimit < 0 || math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0):
		return fmt.Errorf("orgemu: rate limit %v: want requests per second, 0 for none", f.RateLimit)
	case f.RateBurst < 0:
		return fmt.Errorf("orgemu: rate burst %d: want 0 (default) or more", f.RateBurst)
	case !(f.ThrottleRate >= 0 && f.ThrottleRate <= 1):
		return fmt.Errorf("orgemu: throttle rate %v: want a fraction from 0 to 1", f.ThrottleRate)
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return fmt.Errorf("orgemu: error rate %v: want a fraction from 0 to 1", f.ErrorRate)
	case !(f.DropRate >= 0 && f.DropRate <= 1):
		return fmt.Errorf("orgemu: drop rate %v: want a fraction from 0 to 1", f.DropRate)
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
	mu         sync.Mutex
	cfg        Faults
	limiter    *rate.Limiter // nil: no limit
	rng        *rand.Rand
	scripts    map[string]script // ID -> the exception its next calls get
	dropCancel map[string]int    // ID -> successful cancels left to drop
}

// script answers the next n calls naming an ID with an exception (n < 0:
// every call).
type script struct {
	code string
	n    int
}

func (fs *faultState) init(f Faults, seed uint64) {
	fs.rng = rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5))
	fs.scripts = make(map[string]script)
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

// Scriptable lists the exceptions FailNext can answer with.
var Scriptable = []string{codeTooManyRequests, codeService, codeConcurrent, codeAccessDenied}

// FailNext answers the next n calls that name this HandshakeId (after
// authentication, before the operation acts) with the exception code, one
// of Scriptable; n < 0: every call, until ClearScripts; n = 0 forgets the
// script. A new script for an ID replaces the previous one.
func (s *Server) FailNext(id, code string, n int) error {
	if !contains(Scriptable, code) {
		return fmt.Errorf("orgemu: FailNext %q: want one of %v", code, Scriptable)
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if n == 0 {
		delete(s.faults.scripts, id)
		return nil
	}
	s.faults.scripts[id] = script{code: code, n: n}
	return nil
}

// ThrottleNext answers 429 TooManyRequestsException to the next n calls
// that name this HandshakeId.
func (s *Server) ThrottleNext(id string, n int) {
	_ = s.FailNext(id, codeTooManyRequests, n)
}

// DropAfterCancel makes the next successful CancelHandshake of this ID
// apply the cancel and then close the connection without an answer.
func (s *Server) DropAfterCancel(id string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.dropCancel[id] = 1
}

// ClearScripts forgets every scripted failure set by FailNext,
// ThrottleNext and DropAfterCancel.
func (s *Server) ClearScripts() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	clear(s.faults.scripts)
	clear(s.faults.dropCancel)
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

// messages of the scriptable exceptions.
var scriptMessage = map[string]string{
	codeTooManyRequests: msgTooManyRequests,
	codeService:         msgService,
	codeConcurrent:      msgConcurrent,
	codeAccessDenied:    msgAccessDenied,
}

// inject decides, for an authenticated request naming id (or ""), whether
// flow control, a script or the random error rate answers it instead of
// the operation.
func (fs *faultState) inject(id string) *response {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.limiter != nil && !fs.limiter.Allow() {
		return throttled()
	}
	if fs.cfg.ThrottleRate > 0 && fs.rng.Float64() < fs.cfg.ThrottleRate {
		return throttled()
	}
	if id != "" {
		if sc, ok := fs.scripts[id]; ok {
			switch {
			case sc.n < 0:
			case sc.n == 1:
				delete(fs.scripts, id)
			default:
				fs.scripts[id] = script{code: sc.code, n: sc.n - 1}
			}
			if sc.code == codeTooManyRequests {
				return throttled()
			}
			r := apiError(sc.code, scriptMessage[sc.code])
			return &r
		}
	}
	if fs.cfg.ErrorRate > 0 && fs.rng.Float64() < fs.cfg.ErrorRate {
		r := apiError(codeService, msgService)
		return &r
	}
	return nil
}

func throttled() *response {
	r := apiError(codeTooManyRequests, msgTooManyRequests)
	return &r
}

// dropAfterCancel decides whether the answer to an applied cancel of id is
// dropped.
func (fs *faultState) dropAfterCancel(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if n := fs.dropCancel[id]; n > 0 {
		delete(fs.dropCancel, id)
		return true
	}
	return fs.cfg.DropRate > 0 && fs.rng.Float64() < fs.cfg.DropRate
}
