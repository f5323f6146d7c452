package resourcemanager

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestLimiterStartsAtQPSAndStaysThereOnSuccess(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(95, clk.now)
	for range 100 {
		l.onSuccess()
		clk.advance(time.Second)
	}
	if r := l.rate(); r != 95 {
		t.Fatalf("rate = %v, want the configured 95", r)
	}
	if float64(l.lim.Limit()) != 95 || l.lim.Burst() != limiterBurst {
		t.Fatalf("limiter %v/%d, want 95/%d", l.lim.Limit(), l.lim.Burst(), limiterBurst)
	}
}

func TestLimiterCutsOnThrottle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(200, clk.now)
	epoch, err := l.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.onThrottle(epoch)
	if r := l.rate(); !near(r, 140) {
		t.Fatalf("rate after one throttle = %v, want 140", r)
	}
	if !near(float64(l.lim.Limit()), 140) {
		t.Fatalf("token bucket at %v, want 140", l.lim.Limit())
	}
}

func TestLimiterIgnoresThrottlesOfRequestsPacedBeforeTheCut(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(200, clk.now)
	// Ten requests admitted at 200 rps all come back throttled: one cut.
	var epochs []uint64
	for range 10 {
		l.mu.Lock()
		epochs = append(epochs, l.epoch)
		l.mu.Unlock()
	}
	for _, e := range epochs {
		l.onThrottle(e)
	}
	if r := l.rate(); !near(r, 140) {
		t.Fatalf("rate = %v after ten throttles of one epoch, want one cut to 140", r)
	}
	// A request paced at the new rate and throttled cuts again.
	l.mu.Lock()
	e := l.epoch
	l.mu.Unlock()
	l.onThrottle(e)
	if r := l.rate(); !near(r, 98) {
		t.Fatalf("rate = %v, want a second cut to 98", r)
	}
}

func TestLimiterNeverBelowFloor(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	for _, qps := range []float64{10, 0.5} {
		l := newAdaptiveLimiter(qps, clk.now)
		for range 50 {
			l.mu.Lock()
			e := l.epoch
			l.mu.Unlock()
			l.onThrottle(e)
		}
		if want := min(1, qps); !near(l.rate(), want) {
			t.Fatalf("QPS %v: rate = %v after 50 cuts, want the floor %v", qps, l.rate(), want)
		}
	}
}

func TestLimiterGrowsBackAlongCubicToQPS(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(200, clk.now)
	// Cut from 100 rps (as if the service had pushed back there before).
	l.cur = 100
	l.onThrottle(0)
	if !near(l.rate(), 70) {
		t.Fatalf("rate = %v, want 70", l.rate())
	}
	k := math.Cbrt(100 * (1 - limiterBeta) / limiterC)
	prev := l.rate()
	var samples []float64
	for step := 1; step <= 200; step++ {
		clk.advance(100 * time.Millisecond)
		l.onSuccess()
		r := l.rate()
		if r < prev {
			t.Fatalf("rate fell from %v to %v on a success", prev, r)
		}
		if r > 200 {
			t.Fatalf("rate %v above the configured QPS", r)
		}
		prev = r
		samples = append(samples, r)
	}
	// Back at the rate of the last throttle after k seconds...
	atK := samples[int(math.Round(k*10))-1]
	if math.Abs(atK-100) > 1 {
		t.Fatalf("rate %v at k=%.2fs, want about 100", atK, k)
	}
	// ...having spent most of the way close to it (concave approach):
	// halfway to k it is already past 95% of it.
	if half := samples[int(k*10/2)]; half < 95 {
		t.Fatalf("rate %v halfway to k, want >= 95", half)
	}
	// ...and eventually at the configured QPS, never above.
	if samples[len(samples)-1] != 200 {
		t.Fatalf("rate %v after 20s of successes, want 200", samples[len(samples)-1])
	}
}

func TestLimiterSuccessWithoutCutDoesNothing(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(3, clk.now)
	l.onSuccess()
	if l.rate() != 3 {
		t.Fatalf("rate = %v, want 3", l.rate())
	}
}

// TestLimiterSawtoothAgainstAServiceLimit simulates, with the fake clock,
// a client configured for 200 rps against a service that throttles above
// 100 rps: the rate settles into a sawtooth whose average is close to the
// service's limit, and only a small share of requests is throttled.
func TestLimiterSawtoothAgainstAServiceLimit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(200, clk.now)
	const limit = 100.0
	var sent, throttled float64
	const dt = 10 * time.Millisecond
	for range 60 * 100 { // 60 simulated seconds
		r := l.rate()
		n := r * dt.Seconds()
		sent += n
		l.mu.Lock()
		e := l.epoch
		l.mu.Unlock()
		if r > limit {
			// The share above the limit is refused.
			throttled += n * (r - limit) / r
			l.onThrottle(e)
		} else {
			l.onSuccess()
		}
		clk.advance(dt)
	}
	avg := (sent - throttled) / 60
	share := throttled / sent
	t.Logf("average %.1f rps accepted, %.2f%% throttled", avg, 100*share)
	if avg < 85 {
		t.Fatalf("average accepted rate %.1f, want >= 85", avg)
	}
	if share > 0.05 {
		t.Fatalf("%.2f%% throttled, want <= 5%%", 100*share)
	}
}

func TestLimiterFastConvergenceAimsLowerAfterARepeatedThrottle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(200, clk.now)
	l.onThrottle(0) // at 200: wmax 200, rate 140
	if !near(l.wmax, 200) || !near(l.rate(), 140) {
		t.Fatalf("wmax %v rate %v, want 200 and 140", l.wmax, l.rate())
	}
	l.onThrottle(1) // at 140, below the last wmax: aim between
	if !near(l.wmax, 140*(1+limiterBeta)/2) || !near(l.rate(), 98) {
		t.Fatalf("wmax %v rate %v, want %v and 98", l.wmax, l.rate(), 140*(1+limiterBeta)/2)
	}
	// Recovering fully, then throttled at the same point: a plain cut.
	clk.advance(time.Minute)
	l.onSuccess()
	if l.rate() != 200 {
		t.Fatalf("rate %v after a minute of successes, want 200", l.rate())
	}
	l.onThrottle(2)
	if !near(l.wmax, 200) || !near(l.rate(), 140) {
		t.Fatalf("wmax %v rate %v, want 200 and 140", l.wmax, l.rate())
	}
}

func TestLimiterWaitReturnsTheEpochItWasPacedIn(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newAdaptiveLimiter(1000, clk.now)
	e0, err := l.wait(context.Background())
	if err != nil || e0 != 0 {
		t.Fatalf("wait = %d, %v", e0, err)
	}
	l.onThrottle(e0)
	e1, err := l.wait(context.Background())
	if err != nil || e1 != 1 {
		t.Fatalf("wait after a cut = %d, %v; want epoch 1", e1, err)
	}
	// A throttle of the old epoch arriving late changes nothing.
	r := l.rate()
	l.onThrottle(e0)
	if l.rate() != r {
		t.Fatalf("a stale throttle cut the rate from %v to %v", r, l.rate())
	}
}

func TestLimiterWaitHonoursTheDeadline(t *testing.T) {
	l := newAdaptiveLimiter(0.01, nil) // one request per 100s
	if _, err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := l.wait(ctx); err == nil {
		t.Fatal("wait admitted a request it could not admit before the deadline")
	}
}

func TestAlignUpFindsTheNextTickOfAFixedGrid(t *testing.T) {
	base := time.Unix(1e9, 0) // on every grid of whole milliseconds
	tests := []struct {
		name string
		t    time.Time
		step time.Duration
		want time.Time
	}{
		{"on a tick", base, 40 * time.Millisecond, base},
		{"just after a tick", base.Add(time.Nanosecond), 40 * time.Millisecond, base.Add(40 * time.Millisecond)},
		{"inside a step", base.Add(25 * time.Millisecond), 40 * time.Millisecond, base.Add(40 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alignUp(tt.t, tt.step); !got.Equal(tt.want) {
				t.Fatalf("alignUp = %v, want %v", got.Sub(base), tt.want.Sub(base))
			}
		})
	}
}

func TestLimiterGroupsRequestsOnlyWhenCallsAreUnderWayTogether(t *testing.T) {
	now := time.Unix(1e9, 0).Add(5 * time.Millisecond) // 5ms past a tick of every grid below
	tests := []struct {
		name     string
		calls    int
		d        time.Duration // the token's wait
		deadline time.Time
		want     time.Duration // wake - now
		ok       bool
	}{
		{"a lone caller waits for its token", 1, 10 * time.Millisecond, time.Time{}, 10 * time.Millisecond, true},
		{"two calls: the end of its 20ms tick", 2, 10 * time.Millisecond, time.Time{}, 15 * time.Millisecond, true},
		{"four calls: the end of its 40ms tick", 4, 10 * time.Millisecond, time.Time{}, 35 * time.Millisecond, true},
		{"sixty-four calls: still four to a tick", 64, 10 * time.Millisecond, time.Time{}, 35 * time.Millisecond, true},
		{"a token due now is not held back", 4, 0, time.Time{}, 0, true},
		{"token a hair past a tick: that tick", 4, 35*time.Millisecond + 40*time.Millisecond/tickSlack, time.Time{}, 35 * time.Millisecond, true},
		{"tick past the deadline: the token's own time", 4, 10 * time.Millisecond, now.Add(20 * time.Millisecond), 10 * time.Millisecond, true},
		{"grid step under a millisecond (4 calls at 10,000/s): not aligned", -4, 10 * time.Millisecond, time.Time{}, 10 * time.Millisecond, true},
		{"token past the deadline: refused", 4, 10 * time.Millisecond, now.Add(5 * time.Millisecond), 10 * time.Millisecond, false},
		{"lone token past the deadline: refused", 1, 10 * time.Millisecond, now.Add(5 * time.Millisecond), 10 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qps, calls := 100.0, tt.calls
			if calls < 0 { // negative: that many calls, at 10,000/s
				qps, calls = 10000, -calls
			}
			l := newAdaptiveLimiter(qps, nil)
			for range calls {
				l.enter()
			}
			wake, ok := l.wakeTime(now, tt.d, tt.deadline)
			if ok != tt.ok || wake.Sub(now) != tt.want {
				t.Fatalf("wakeTime = +%v, %v; want +%v, %v", wake.Sub(now), ok, tt.want, tt.ok)
			}
			for range calls {
				l.leave()
			}
			if n := l.calls.Load(); n != 0 {
				t.Fatalf("%d calls left under way", n)
			}
		})
	}
}

func TestLimiterStartsWithOneTokenAndACutDrainsTheBank(t *testing.T) {
	l := newAdaptiveLimiter(10, nil)
	if got := l.lim.Tokens(); got >= 1.5 {
		t.Fatalf("a new limiter holds %v tokens, want 1: a new client must not burst", got)
	}
	// Bank a full group, then be throttled.
	l.lim.SetBurst(1)
	l.lim.SetBurst(limiterBurst)
	l.lim.SetLimit(1e6)
	time.Sleep(time.Millisecond)
	l.lim.SetLimit(10)
	if got := l.lim.Tokens(); got < limiterBurst-0.01 {
		t.Fatalf("bank %v, want %d to start the check from", got, limiterBurst)
	}
	l.onThrottle(0)
	if got := l.lim.Tokens(); got >= 1.5 {
		t.Fatalf("%v tokens left after a cut, want 1", got)
	}
}

// TestLimiterGroupedPacingKeepsTheRate sends from four goroutines through
// one limiter and checks that grouping never lets a request through ahead
// of the rate: a bound that only grows with the time taken, so a slow
// machine cannot fail it.
func TestLimiterGroupedPacingKeepsTheRate(t *testing.T) {
	const qps, perWorker, workers = 400.0, 25, 4
	l := newAdaptiveLimiter(qps, nil)
	start := time.Now()
	done := make(chan time.Time, workers*perWorker)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			l.enter()
			defer l.leave()
			for range perWorker {
				if _, err := l.wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				done <- time.Now()
			}
		})
	}
	// A worker that failed sent less than its share: the collection ends
	// with the workers, not with a count it would never reach.
	wg.Wait()
	close(done)
	var times []time.Time
	for at := range done {
		times = append(times, at)
	}
	if len(times) != workers*perWorker {
		t.Fatalf("%d requests let through, want %d", len(times), workers*perWorker)
	}
	// However long the run took, it let no more through than the rate
	// allows from the start: the one token a new limiter holds, and one
	// per 1/qps since (with 2% for a token let go at a tick it is due a
	// hair after).
	slices.SortFunc(times, time.Time.Compare)
	for i, at := range times {
		allowed := int(at.Sub(start).Seconds()*qps*1.02) + 1
		if i+1 > allowed {
			t.Fatalf("%d requests let through %v after the start, more than the %d the rate allows", i+1, at.Sub(start), allowed)
		}
	}
}
