package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Figure 1: throughput against the service's rate limit, and under a quota
// shared with others.
const (
	tpQ       = 100 // the emulator's limit, requests/s: the physical limit here
	tpBurst   = 5   // requests the emulator's limit lets through at once
	tpStale   = 2000
	tpLatency = 20 * time.Millisecond
	// tpRunTimeout bounds one run; at Q a run takes about 21 s, the
	// sequential baseline about 45 s.
	tpRunTimeout = 150 * time.Second

	// The shared quota: no limit of the emulator's own, but a fifth of
	// the requests throttled at random (other users of the account).
	sqThrottleRate = 0.2
	sqStale        = 200
	sqQPS          = 50
	sqConcurrency  = 4
)

// tpRun is one run of figure 1.
type tpRun struct {
	wall      time.Duration
	stale     int // invitations the run had to finish
	cancelled int
	failed    int
	results   int // Results reported (the sweep's; the loop's calls)
	requests  int // every request the emulator received (listing included)
	throttled int // of which answered Throttling.User
	rate      float64
}

func (r tpRun) perSecond() float64 { return float64(r.cancelled) / r.wall.Seconds() }

func (r tpRun) throttledPct() float64 {
	if r.requests == 0 {
		return 0
	}
	return 100 * float64(r.throttled) / float64(r.requests)
}

// lost is how many of the stale invitations ended neither cancelled nor
// failed (to be retried): none may.
func (r tpRun) lost() int { return r.stale - r.cancelled - r.failed }

// tpSetting is the emulator and the configuration of one run.
type tpSetting struct {
	stale       int
	emulator    []string // flags of `bench emulator` beside -generate, -stale, -seed
	qps         float64
	concurrency int // API_CONCURRENCY; 0 for the default
}

// limited is the setting of the service-limit runs at API_QPS=qps.
func limited(qps float64) tpSetting {
	return tpSetting{stale: tpStale, qps: qps, emulator: []string{
		"-latency", tpLatency.String(), "-rate-limit", strconv.Itoa(tpQ), "-rate-burst", strconv.Itoa(tpBurst)}}
}

// shared is the setting of the shared-quota run.
func shared() tpSetting {
	return tpSetting{stale: sqStale, qps: sqQPS, concurrency: sqConcurrency, emulator: []string{
		"-latency", tpLatency.String(), "-throttle-rate", strconv.FormatFloat(sqThrottleRate, 'f', -1, 64)}}
}

func (st tpSetting) env() map[string]string {
	env := map[string]string{
		config.EnvAPIQPS:           strconv.FormatFloat(st.qps, 'f', -1, 64),
		config.EnvMaxCancellations: strconv.Itoa(st.stale),
	}
	if st.concurrency > 0 {
		env[config.EnvAPIConcurrency] = strconv.Itoa(st.concurrency)
	}
	return env
}

// start starts the emulator of st, seeded.
func (st tpSetting) start(ctx context.Context, seed int) (*emulator, error) {
	return startEmulator(ctx, append(slices.Clone(st.emulator),
		"-generate", strconv.Itoa(st.stale),
		"-stale", strconv.Itoa(st.stale),
		"-seed", strconv.Itoa(seed))...)
}

// newHandler builds the function's handler (client and engine) the way the
// functions and the CLI do, from environment variables, against endpoint
// with the emulator's test credentials. Its logs are discarded.
func newHandler(endpoint string, env map[string]string) (*handler.Handler, *resourcemanager.Client, error) {
	all := map[string]string{config.EnvEndpoint: endpoint}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Load(func(k string) string { return all[k] })
	if err != nil {
		return nil, nil, err
	}
	creds := resourcemanager.StaticCredentials(resourcemanager.Credentials{
		AccessKeyID: rmemu.TestAccessKeyID, AccessKeySecret: rmemu.TestAccessKeySecret,
	})
	h, err := handler.New(logging.PlatformCLI, cfg, logging.New(io.Discard, cfg.LogLevel), creds)
	if err != nil {
		return nil, nil, err
	}
	client, ok := h.Engine.API.(*resourcemanager.Client)
	if !ok {
		return nil, nil, fmt.Errorf("engine API is %T, not *resourcemanager.Client", h.Engine.API)
	}
	return h, client, nil
}

// tpSweep runs a sweep through the engine, as the function does, in
// setting st.
func tpSweep(ctx context.Context, st tpSetting, seed int) (tpRun, error) {
	ctx, cancel := context.WithTimeout(ctx, tpRunTimeout)
	defer cancel()
	emu, err := st.start(ctx, seed)
	if err != nil {
		return tpRun{}, err
	}
	defer emu.Close()
	h, client, err := newHandler(emu.Endpoint, st.env())
	if err != nil {
		return tpRun{}, err
	}
	rctx := logging.WithInvocation(ctx, h.Logger, logging.Invocation{Platform: logging.PlatformCLI, Trigger: "bench", ColdStart: true})
	start := time.Now()
	rep, err := h.Engine.Run(rctx, janitor.Job{Sweep: &janitor.Sweep{}})
	wall := time.Since(start)
	if err != nil {
		return tpRun{}, fmt.Errorf("sweep: %w", err)
	}
	es, err := emu.Stats(ctx)
	if err != nil {
		return tpRun{}, err
	}
	return tpRun{
		wall: wall, stale: st.stale, cancelled: rep.Summary[handshake.OutcomeCancelled], failed: rep.Summary[handshake.OutcomeFailed], results: len(rep.Results),
		requests: es.Requests, throttled: es.Throttled, rate: client.Rate(),
	}, nil
}

// tpLoop is the baseline: list, then call CancelHandshake once per stale
// invitation, one after the other, through the same client, in setting st.
func tpLoop(ctx context.Context, st tpSetting, seed int) (tpRun, error) {
	ctx, cancel := context.WithTimeout(ctx, tpRunTimeout)
	defer cancel()
	emu, err := st.start(ctx, seed)
	if err != nil {
		return tpRun{}, err
	}
	defer emu.Close()
	_, client, err := newHandler(emu.Endpoint, st.env())
	if err != nil {
		return tpRun{}, err
	}
	start := time.Now()
	cutoff := start.Add(-staleAfter)
	var ids []handshake.ID
	for h, err := range client.Handshakes(ctx) {
		if err != nil {
			return tpRun{}, err
		}
		if h.Status == handshake.StatusPending && h.CreateTime.Before(cutoff) {
			id, err := handshake.ParseID(h.HandshakeID)
			if err != nil {
				return tpRun{}, err
			}
			ids = append(ids, id)
		}
	}
	run := tpRun{stale: st.stale}
	for _, id := range ids {
		run.results++
		if _, err := client.CancelHandshake(ctx, id); err != nil {
			run.failed++
			continue
		}
		run.cancelled++
	}
	run.wall = time.Since(start)
	es, err := emu.Stats(ctx)
	if err != nil {
		return tpRun{}, err
	}
	run.requests, run.throttled, run.rate = es.Requests, es.Throttled, client.Rate()
	return run, nil
}

func logRun(r tpRun) {
	logf("  %d cancelled in %v (%.1f/s), %d failed, %d requests, %d throttled, client rate at the end %.1f/s",
		r.cancelled, r.wall.Round(time.Millisecond), r.perSecond(), r.failed, r.requests, r.throttled, r.rate)
}

// benchThroughput measures figure 1.
func benchThroughput(ctx context.Context, res *results) error {
	logf("throughput: sequential loop (baseline), %d invitations, Q=%d/s (burst %d), latency %v", tpStale, tpQ, tpBurst, tpLatency)
	base, err := tpLoop(ctx, limited(95), 11)
	if err != nil {
		return fmt.Errorf("throughput baseline: %w", err)
	}
	logRun(base)
	for i, sc := range []struct {
		qps                    float64
		fraction, throttledPct float64
	}{
		{95, 0.90, 1},
		{200, 0.90, 5},
	} {
		logf("throughput: engine sweep, API_QPS=%g", sc.qps)
		run, err := tpSweep(ctx, limited(sc.qps), 12+i)
		if err != nil {
			return fmt.Errorf("throughput API_QPS=%g: %w", sc.qps, err)
		}
		logRun(run)
		if run.failed > 0 || run.cancelled != tpStale {
			res.notef("throughput API_QPS=%g: %d of %d cancelled, %d failed", sc.qps, run.cancelled, tpStale, run.failed)
		}
		p := fmt.Sprintf("throughput.api_qps_%g.", sc.qps)
		res.add(Figure{Name: p + "wall_time", Value: run.wall.Seconds(), Unit: "s", Better: lower, Baseline: ptr(base.wall.Seconds())})
		res.add(Figure{Name: p + "cancels_per_second", Value: run.perSecond(), Unit: "1/s", Better: higher, Baseline: ptr(base.perSecond())})
		res.add(Figure{Name: p + "fraction_of_q", Value: run.perSecond() / tpQ, Unit: "Q", Target: ptr(sc.fraction), Better: higher, Baseline: ptr(base.perSecond() / tpQ)})
		res.add(Figure{Name: p + "throttled_responses", Value: run.throttledPct(), Unit: "%", Target: ptr(sc.throttledPct), Better: lower, Baseline: ptr(base.throttledPct())})
	}

	st := shared()
	logf("throughput: shared quota, %d invitations, %.0f%% throttled at random, latency %v, API_QPS=%g, API_CONCURRENCY=%d: sequential loop (baseline)",
		sqStale, 100*sqThrottleRate, tpLatency, st.qps, st.concurrency)
	sbase, err := tpLoop(ctx, st, 21)
	if err != nil {
		return fmt.Errorf("shared quota baseline: %w", err)
	}
	logRun(sbase)
	logf("throughput: shared quota, engine sweep")
	run, err := tpSweep(ctx, st, 22)
	if err != nil {
		return fmt.Errorf("shared quota: %w", err)
	}
	logRun(run)
	if run.results != sqStale {
		res.notef("shared quota: %d Results for %d stale invitations", run.results, sqStale)
	}
	const p = "throughput.shared_quota."
	res.add(Figure{Name: p + "wall_time", Value: run.wall.Seconds(), Unit: "s", Better: lower, Baseline: ptr(sbase.wall.Seconds())})
	res.add(Figure{Name: p + "cancels_per_second", Value: run.perSecond(), Unit: "1/s", Better: higher, Baseline: ptr(sbase.perSecond())})
	res.add(Figure{Name: p + "fraction_of_api_qps", Value: run.perSecond() / st.qps, Unit: "API_QPS", Target: ptr(0.5), Better: higher, Baseline: ptr(sbase.perSecond() / st.qps)})
	res.add(Figure{Name: p + "failed", Value: float64(run.failed), Unit: "invitations", Better: lower, Baseline: ptr(float64(sbase.failed))})
	res.add(Figure{Name: p + "lost", Value: float64(run.lost()), Unit: "invitations", Target: ptr(0), Better: lower, Baseline: ptr(float64(sbase.lost()))})
	return nil
}
