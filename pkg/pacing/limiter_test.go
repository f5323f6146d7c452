package pacing

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand; sleeping moves it too, after
// calling duringSleep, when set.
type fakeClock struct {
	t           time.Time
	duringSleep func(d time.Duration)
}

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if c.duringSleep != nil {
		c.duringSleep(d)
	}
	c.advance(max(d, 0))
	return ctx.Err()
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1e9, 0)} }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func (l *limiter) currentEpoch() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}

func TestLimiterStartsAtQPSAndStaysThereOnSuccess(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(95, clk)
	for range 100 {
		l.onAnswer(l.currentEpoch())
		clk.advance(time.Second)
	}
	if r := l.rate(); r != 95 || float64(l.bucket.Limit()) != 95 {
		t.Fatalf("rate %v, token bucket %v; want the configured 95", r, l.bucket.Limit())
	}
}

func TestLimiterStartsWithOneTokenAndACutDrainsTheBank(t *testing.T) {
	l := newLimiter(10, realClock{})
	if got := l.bucket.Tokens(); got >= 1.5 {
		t.Fatalf("a new limiter holds %v tokens, want 1: a new client must not burst", got)
	}
	// Let the bucket bank all it can, then be throttled.
	l.bucket.SetLimit(1e6)
	for l.bucket.Tokens() < float64(l.bucket.Burst())-0.01 {
		runtime.Gosched()
	}
	l.bucket.SetLimit(10)
	l.onThrottle(0)
	if got := l.bucket.Tokens(); got >= 1.5 {
		t.Fatalf("%v tokens left after a cut, want 1", got)
	}
}

func TestLimiterCutsOnThrottle(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(200, clk)
	epoch, err := l.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.onThrottle(epoch)
	if r := l.rate(); !near(r, 140) || !near(float64(l.bucket.Limit()), 140) {
		t.Fatalf("rate after one throttle = %v (token bucket %v), want 140", r, l.bucket.Limit())
	}
}

func TestLimiterCutsOncePerWindowOfThrottles(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(300, clk)
	// Ten requests admitted at 300 rps all come back throttled: one cut.
	e := l.currentEpoch()
	for range 10 {
		l.onThrottle(e)
	}
	if r := l.rate(); !near(r, 210) {
		t.Fatalf("rate = %v after ten throttles of one epoch, want one cut to 210", r)
	}
	// A request paced at the new rate and throttled cuts again.
	l.onThrottle(l.currentEpoch())
	if r := l.rate(); !near(r, 150) {
		t.Fatalf("rate = %v, want a second cut to the floor, 150", r)
	}
}

func TestLimiterNeverBelowHalfTheQPS(t *testing.T) {
	clk := newFakeClock()
	for _, qps := range []float64{10, 0.5, 1000} {
		l := newLimiter(qps, clk)
		// Two cuts reach the floor; the throttles after are too few to
		// tell whose they are.
		for range floorMinAnswers {
			l.onThrottle(l.currentEpoch())
		}
		if want := qps / 2; !near(l.rate(), want) {
			t.Fatalf("QPS %v: rate = %v after %d cuts, want the floor %v", qps, l.rate(), floorMinAnswers, want)
		}
	}
}

func TestLimiterGrowsBackAlongCubicToQPS(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(140, clk)
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
		l.onAnswer(l.currentEpoch())
		r := l.rate()
		if r < prev {
			t.Fatalf("rate fell from %v to %v on a success", prev, r)
		}
		if r > 140 {
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
	if samples[len(samples)-1] != 140 {
		t.Fatalf("rate %v after 20s of successes, want 140", samples[len(samples)-1])
	}
}

func TestLimiterSuccessWithoutCutDoesNothing(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(3, clk)
	l.onAnswer(0)
	if l.rate() != 3 {
		t.Fatalf("rate = %v, want 3", l.rate())
	}
}

// simulate runs the limiter for 60 simulated seconds in steps of 10ms
// against a service that refuses, of the requests of each step, the share
// throttled(rate) says (with the step's requests rounded at random), and
// returns the average rate accepted and the share throttled.
func simulate(l *limiter, clk *fakeClock, seed uint64, throttled func(r float64) float64) (accepted, share float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var sent, refused float64
	const dt = 10 * time.Millisecond
	const steps = 60 * 100
	for range steps {
		r := l.rate()
		e := l.currentEpoch()
		n := int(r * dt.Seconds())
		if rng.Float64() < r*dt.Seconds()-float64(n) {
			n++
		}
		p := throttled(r)
		for range n {
			sent++
			if rng.Float64() < p {
				refused++
				l.onThrottle(e)
			} else {
				l.onAnswer(e)
			}
		}
		clk.advance(dt)
	}
	return (sent - refused) / (steps * dt.Seconds()), refused / sent
}

// A client configured for 200 rps against a service that throttles above
// 100 rps backs off: its rate settles close to the service's limit, and
// only a small share of requests is throttled.
func TestLimiterBacksOffToAServiceLimit(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(200, clk)
	const limit = 100.0
	avg, share := simulate(l, clk, 1, func(r float64) float64 { return max(0, (r-limit)/r) })
	t.Logf("average %.1f rps accepted, %.2f%% throttled", avg, 100*share)
	if avg < 90 || share > 0.05 {
		t.Fatalf("average accepted rate %.1f with %.2f%% throttled, want >= 90 and <= 5%%", avg, 100*share)
	}
}

// Throttling that does not follow this client's rate (a fifth of the
// requests, at random, as when others use up the account's quota) does
// not hold the rate at the floor: slowing down does not stop it, so the
// limiter goes back to its QPS.
func TestLimiterHoldsItsRateUnderRandomThrottling(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(50, clk)
	avg, share := simulate(l, clk, 2, func(float64) float64 { return 0.2 })
	t.Logf("average %.1f rps accepted, %.2f%% throttled", avg, 100*share)
	// 0.8 of the requests get through: at the QPS, 40 rps; at the floor,
	// 20.
	if avg < 30 {
		t.Fatalf("average accepted rate %.1f, want >= 30 (at the floor it would be 20)", avg)
	}
}

func TestLimiterThrottlingAtTheFloorResetsToQPSForAWhile(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(100, clk)
	for range 2 { // 100, 70, 50
		l.onThrottle(l.currentEpoch())
	}
	if l.rate() != 50 {
		t.Fatalf("rate %v, want the floor 50", l.rate())
	}
	// Answers to requests paced at the floor: a few throttles among many
	// successes (a service limit met at the floor) do not reset it...
	floor := l.currentEpoch()
	for i := range 40 {
		if i%10 == 0 {
			l.onThrottle(floor)
			floor = l.currentEpoch()
			continue
		}
		l.onAnswer(floor)
	}
	if l.rate() != 50 {
		t.Fatalf("rate %v after 10%% throttles at the floor, want still the floor", l.rate())
	}
	// ...but throttling there as heavy as above it does.
	for range 20 {
		l.onThrottle(floor)
		l.onAnswer(floor)
		l.onAnswer(floor)
		if l.rate() == 100 {
			break
		}
	}
	if l.rate() != 100 {
		t.Fatalf("rate %v after a third of the answers at the floor throttled, want back at the QPS, 100", l.rate())
	}
	// For holdAfterReset, throttles do not cut; then they do again.
	l.onThrottle(l.currentEpoch())
	clk.advance(holdAfterReset - time.Millisecond)
	l.onThrottle(l.currentEpoch())
	if l.rate() != 100 {
		t.Fatalf("rate %v: a throttle cut it during the hold", l.rate())
	}
	clk.advance(time.Millisecond)
	l.onThrottle(l.currentEpoch())
	if !near(l.rate(), 70) {
		t.Fatalf("rate %v after the hold and a throttle, want 70", l.rate())
	}
}

func TestLimiterFastConvergenceAimsLowerAfterARepeatedThrottle(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(400, clk)
	l.onThrottle(0) // at 400: wmax 400, rate 280
	if !near(l.wmax, 400) || !near(l.rate(), 280) {
		t.Fatalf("wmax %v rate %v, want 400 and 280", l.wmax, l.rate())
	}
	l.onThrottle(1) // at 280, below the last wmax: aim between
	if !near(l.wmax, 280*(1+limiterBeta)/2) || !near(l.rate(), 200) {
		t.Fatalf("wmax %v rate %v, want %v and the floor 200", l.wmax, l.rate(), 280*(1+limiterBeta)/2)
	}
	// Recovering fully, then throttled at the same point: a plain cut.
	clk.advance(time.Minute)
	l.onAnswer(l.currentEpoch())
	if l.rate() != 400 {
		t.Fatalf("rate %v after a minute of successes, want 400", l.rate())
	}
	l.onThrottle(l.currentEpoch())
	if !near(l.wmax, 400) || !near(l.rate(), 280) {
		t.Fatalf("wmax %v rate %v, want 400 and 280", l.wmax, l.rate())
	}
}

func TestLimiterWaitReturnsTheEpochItWasPacedIn(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(1000, clk)
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
	l := newLimiter(0.01, realClock{}) // one request per 100s
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
		want time.Time
	}{
		{"on a tick", base, base},
		{"just after a tick", base.Add(time.Nanosecond), base.Add(tick)},
		{"inside a tick", base.Add(tick / 3), base.Add(tick)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alignUp(tt.t, tick); !got.Equal(tt.want) {
				t.Fatalf("alignUp = %v, want %v", got.Sub(base), tt.want.Sub(base))
			}
		})
	}
}

func TestLimiterBurstCoversATick(t *testing.T) {
	for _, tt := range []struct {
		qps  float64
		want int
	}{{0.5, limiterBurst}, {95, limiterBurst}, {1000, 4}} {
		if got := newLimiter(tt.qps, realClock{}).bucket.Burst(); got != tt.want {
			t.Errorf("QPS %v: burst %d, want %d", tt.qps, got, tt.want)
		}
	}
}

// TestLimiterTickedPacingKeepsTheRate sends from four goroutines through
// one limiter and checks that waiting for the end of a tick never lets a
// request through ahead of the rate: a bound that only grows with the time
// taken, so a slow machine cannot fail it.
func TestLimiterTickedPacingKeepsTheRate(t *testing.T) {
	const qps, perWorker, workers = 400.0, 25, 4
	l := newLimiter(qps, realClock{})
	start := time.Now()
	done := make(chan time.Time, workers*perWorker)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
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
	// per 1/qps since.
	slices.SortFunc(times, time.Time.Compare)
	for i, at := range times {
		allowed := int(at.Sub(start).Seconds()*qps) + 1
		if i+1 > allowed {
			t.Fatalf("%d requests let through %v after the start, more than the %d the rate allows", i+1, at.Sub(start), allowed)
		}
	}
}

// A request takes its epoch with its token: a cut while it waits for its
// turn does not make it a request paced at the new rate, whose throttle
// would cut again.
func TestLimiterEpochIsTheOneTheRequestWasPacedIn(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(10, clk)
	first, err := l.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The second request has to wait for its token; while it waits, the
	// first comes back throttled and cuts the rate.
	clk.duringSleep = func(time.Duration) { l.onThrottle(first) }
	second, err := l.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatalf("a request paced before a cut reports epoch %d, want %d, the epoch of its token", second, first)
	}
	cut := l.rate()
	l.onThrottle(second)
	if l.rate() != cut {
		t.Fatalf("the throttle of a request paced at the old rate cut the rate again, from %v to %v", cut, l.rate())
	}
}

// The limiter waits on its clock: a request that must wait for its token
// sleeps until the end of the tick the token falls in.
func TestLimiterWaitsOnItsClockToTheNextTick(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(10, clk)
	if _, err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	var slept time.Duration
	clk.duringSleep = func(d time.Duration) { slept = d }
	start := clk.now()
	if _, err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One token per 100ms; 1e9 s is on the grid, and so is start+100ms.
	if want := 100 * time.Millisecond; slept != want || clk.now().Sub(start) != want {
		t.Fatalf("slept %v (clock moved %v), want %v", slept, clk.now().Sub(start), want)
	}
	clk.advance(time.Millisecond) // off the grid
	start = clk.now()
	if _, err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if token, got := start.Add(99*time.Millisecond), clk.now(); got.Before(token) || got.Sub(token) >= tick || got.UnixNano()%int64(tick) != 0 {
		t.Fatalf("woke at %v after the token, want the next tick at or after it", got.Sub(token))
	}
}

func TestLimiterCancelledWaitGivesItsTokenBack(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(10, clk)
	if _, err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clk.duringSleep = func(time.Duration) { cancel() }
	if _, err := l.wait(ctx); err == nil {
		t.Fatal("a wait whose context ended returned no error")
	}
	// The token is back: the next request waits one interval, not two.
	clk.duringSleep = nil
	start := clk.now()
	if _, err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := clk.now().Sub(start); waited > 100*time.Millisecond {
		t.Fatalf("waited %v after a cancelled wait, want at most one interval, 100ms", waited)
	}
}
