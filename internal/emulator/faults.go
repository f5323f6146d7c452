package emulator

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Faults are an emulator's fault injection settings. The zero value injects
// nothing. Each emulator answers a throttled or failed request with its own
// API's error.
type Faults struct {
	// Latency is added to every answer, plus a uniformly random part in
	// [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration

	// RateLimit is the service-side flow control, in requests per second
	// over every authenticated request (0: none). A request over it is
	// answered with the API's throttling error. RateBurst is how many may
	// come at once (default: the rate rounded up, at least 1).
	RateLimit float64
	RateBurst int

	// ThrottleRate is the fraction, from 0 to 1, of authenticated requests
	// answered with the API's throttling error at random, whatever the
	// rate: the account's quota is shared by every tool and person using
	// it, and their traffic, not this client's, decides when it runs out.
	ThrottleRate float64

	// ErrorRate is the fraction, from 0 to 1, of authenticated requests
	// answered with the API's server error without acting.
	ErrorRate float64

	// DropRate is the fraction, from 0 to 1, of successful
	// CancelHandshake calls whose connection is closed without an answer
	// after the cancel was applied: the client cannot know it succeeded.
	DropRate float64
}

// Validate reports the first setting out of range, in an error that starts
// with name and a colon.
func (f Faults) Validate(name string) error {
	switch {
	case f.Latency < 0:
		return fmt.Errorf("%s: latency %s: want 0 or more", name, f.Latency)
	case f.Jitter < 0:
		return fmt.Errorf("%s: jitter %s: want 0 or more", name, f.Jitter)
	case f.RateLimit < 0 || math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0):
		return fmt.Errorf("%s: rate limit %v: want requests per second, 0 for none", name, f.RateLimit)
	case f.RateBurst < 0:
		return fmt.Errorf("%s: rate burst %d: want 0 (default) or more", name, f.RateBurst)
	case !(f.ThrottleRate >= 0 && f.ThrottleRate <= 1):
		return fmt.Errorf("%s: throttle rate %v: want a fraction from 0 to 1", name, f.ThrottleRate)
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return fmt.Errorf("%s: error rate %v: want a fraction from 0 to 1", name, f.ErrorRate)
	case !(f.DropRate >= 0 && f.DropRate <= 1):
		return fmt.Errorf("%s: drop rate %v: want a fraction from 0 to 1", name, f.DropRate)
	}
	return nil
}

// sanitized clamps every setting into range, so that an emulator never
// fails on settings that Validate would refuse.
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

// Fault is what Inject decided for a request.
type Fault int

const (
	NoFault   Fault = iota // the request goes on to the action
	Throttled              // flow control or the random throttle rate
	Scripted               // the emulator's script answered
	Failed                 // the random error rate
)

// FaultState is the fault configuration in force, the dropped-cancel
// scripts per ID, and the seeded random source, behind one lock. An
// emulator keeps its own failure scripts under the same lock (Lock,
// Unlock). Init it before use.
type FaultState struct {
	sync.Mutex
	cfg        Faults
	limiter    *rate.Limiter // nil: no limit
	rng        *rand.Rand
	dropCancel map[string]int // ID -> successful cancels left to drop
}

// Init sets f (clamped into range) and seeds the random source.
func (fs *FaultState) Init(f Faults, seed uint64) {
	fs.rng = rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5))
	fs.dropCancel = make(map[string]int)
	fs.set(f)
}

// Set replaces the settings; values out of range are clamped.
func (fs *FaultState) Set(f Faults) {
	fs.Lock()
	defer fs.Unlock()
	fs.set(f)
}

func (fs *FaultState) set(f Faults) {
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

// Get returns the settings in force.
func (fs *FaultState) Get() Faults {
	fs.Lock()
	defer fs.Unlock()
	return fs.cfg
}

// Delay waits for the configured latency, or until ctx is done.
func (fs *FaultState) Delay(ctx context.Context) error {
	fs.Lock()
	d := fs.cfg.Latency
	if fs.cfg.Jitter > 0 {
		d += time.Duration(fs.rng.Int64N(int64(fs.cfg.Jitter)))
	}
	fs.Unlock()
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

// Inject decides, for an authenticated request naming id (or ""), whether
// flow control, a script or the random error rate answers it instead of
// the action, in that order. script (called with the lock held, only when
// id is not "") reports whether the emulator's own script for id answers.
// On Failed, kind is a uniform random draw from [0, kinds) when kinds > 1,
// else 0.
func (fs *FaultState) Inject(id string, script func(id string) bool, kinds int) (f Fault, kind int) {
	fs.Lock()
	defer fs.Unlock()
	if fs.limiter != nil && !fs.limiter.Allow() {
		return Throttled, 0
	}
	if fs.cfg.ThrottleRate > 0 && fs.rng.Float64() < fs.cfg.ThrottleRate {
		return Throttled, 0
	}
	if id != "" && script(id) {
		return Scripted, 0
	}
	if fs.cfg.ErrorRate > 0 && fs.rng.Float64() < fs.cfg.ErrorRate {
		if kinds > 1 {
			kind = fs.rng.IntN(kinds)
		}
		return Failed, kind
	}
	return NoFault, 0
}

// DropNextCancel makes the next successful cancel of id dropped.
func (fs *FaultState) DropNextCancel(id string) {
	fs.Lock()
	defer fs.Unlock()
	fs.dropCancel[id] = 1
}

// ClearScripts forgets the dropped-cancel scripts, and calls clearOwn (if
// not nil) with the lock held to forget the emulator's own.
func (fs *FaultState) ClearScripts(clearOwn func()) {
	fs.Lock()
	defer fs.Unlock()
	if clearOwn != nil {
		clearOwn()
	}
	clear(fs.dropCancel)
}

// DropAfterCancel decides whether the answer to an applied cancel of id is
// dropped: by a script, else at the random drop rate.
func (fs *FaultState) DropAfterCancel(id string) bool {
	fs.Lock()
	defer fs.Unlock()
	if n := fs.dropCancel[id]; n > 0 {
		CountDown(fs.dropCancel, id, n)
		return true
	}
	return fs.cfg.DropRate > 0 && fs.rng.Float64() < fs.cfg.DropRate
}

// CountDown spends one scripted call of id, whose count is n; a negative
// count never runs out.
func CountDown(m map[string]int, id string, n int) {
	switch {
	case n < 0:
	case n == 1:
		delete(m, id)
	default:
		m[id] = n - 1
	}
}
