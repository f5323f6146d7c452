package main

import (
	"context"
	"fmt"
	"io"
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

// Figure 1: throughput against the service's rate limit.
const (
	tpQ       = 100 // the emulator's limit, requests/s: the physical limit here
	tpStale   = 2000
	tpLatency = 20 * time.Millisecond
	// tpRunTimeout bounds one run; at Q a run takes about 21 s, the
	// sequential baseline about 45 s.
	tpRunTimeout = 150 * time.Second
)

// tpRun is one run of figure 1.
type tpRun struct {
	wall      time.Duration
	cancelled int
	failed    int
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

// tpEmulator starts the emulator of figure 1.
func tpEmulator(ctx context.Context, seed int) (*emulator, error) {
	return startEmulator(ctx,
		"-latency", tpLatency.String(),
		"-rate-limit", strconv.Itoa(tpQ),
		"-generate", strconv.Itoa(tpStale),
		"-stale", strconv.Itoa(tpStale),
		"-seed", strconv.Itoa(seed))
}

// tpSweep runs a sweep through the engine with API_QPS=qps and the guard
// raised to fit.
func tpSweep(ctx context.Context, qps float64, seed int) (tpRun, error) {
	ctx, cancel := context.WithTimeout(ctx, tpRunTimeout)
	defer cancel()
	emu, err := tpEmulator(ctx, seed)
	if err != nil {
		return tpRun{}, err
	}
	defer emu.Close()
	h, client, err := newHandler(emu.Endpoint, map[string]string{
		config.EnvAPIQPS:           strconv.FormatFloat(qps, 'f', -1, 64),
		config.EnvMaxCancellations: strconv.Itoa(tpStale),
	})
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
	st, err := emu.Stats(ctx)
	if err != nil {
		return tpRun{}, err
	}
	return tpRun{
		wall: wall, cancelled: rep.Summary.Cancelled, failed: rep.Summary.Failed,
		requests: st.Requests, throttled: st.Throttled, rate: client.Rate(),
	}, nil
}

// tpLoop is the baseline: list, then call CancelHandshake once per stale
// invitation, one after the other, through the same client (API_QPS=qps).
func tpLoop(ctx context.Context, qps float64, seed int) (tpRun, error) {
	ctx, cancel := context.WithTimeout(ctx, tpRunTimeout)
	defer cancel()
	emu, err := tpEmulator(ctx, seed)
	if err != nil {
		return tpRun{}, err
	}
	defer emu.Close()
	_, client, err := newHandler(emu.Endpoint, map[string]string{config.EnvAPIQPS: strconv.FormatFloat(qps, 'f', -1, 64)})
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
	run := tpRun{}
	for _, id := range ids {
		if _, err := client.CancelHandshake(ctx, id); err != nil {
			run.failed++
			continue
		}
		run.cancelled++
	}
	run.wall = time.Since(start)
	st, err := emu.Stats(ctx)
	if err != nil {
		return tpRun{}, err
	}
	run.requests, run.throttled, run.rate = st.Requests, st.Throttled, client.Rate()
	return run, nil
}

// benchThroughput measures figure 1.
func benchThroughput(ctx context.Context, res *results) error {
	logf("throughput: sequential loop (baseline), %d invitations, Q=%d/s, latency %v", tpStale, tpQ, tpLatency)
	base, err := tpLoop(ctx, 95, 11)
	if err != nil {
		return fmt.Errorf("throughput baseline: %w", err)
	}
	logf("  %d cancelled in %v (%.1f/s), %d failed, %d requests, %d throttled",
		base.cancelled, base.wall.Round(time.Millisecond), base.perSecond(), base.failed, base.requests, base.throttled)
	for i, sc := range []struct {
		qps                    float64
		fraction, throttledPct float64
	}{
		{95, 0.90, 1},
		{200, 0.85, 5},
	} {
		logf("throughput: engine sweep, API_QPS=%g", sc.qps)
		run, err := tpSweep(ctx, sc.qps, 12+i)
		if err != nil {
			return fmt.Errorf("throughput API_QPS=%g: %w", sc.qps, err)
		}
		logf("  %d cancelled in %v (%.1f/s), %d failed, %d requests, %d throttled, client rate at the end %.1f/s",
			run.cancelled, run.wall.Round(time.Millisecond), run.perSecond(), run.failed, run.requests, run.throttled, run.rate)
		if run.failed > 0 || run.cancelled != tpStale {
			res.notef("throughput API_QPS=%g: %d of %d cancelled, %d failed", sc.qps, run.cancelled, tpStale, run.failed)
		}
		p := fmt.Sprintf("throughput.api_qps_%g.", sc.qps)
		res.add(Figure{Name: p + "wall_time", Value: run.wall.Seconds(), Unit: "s", Better: lower, Baseline: ptr(base.wall.Seconds())})
		res.add(Figure{Name: p + "cancels_per_second", Value: run.perSecond(), Unit: "1/s", Better: higher, Baseline: ptr(base.perSecond())})
		res.add(Figure{Name: p + "fraction_of_q", Value: run.perSecond() / tpQ, Unit: "Q", Target: ptr(sc.fraction), Better: higher, Baseline: ptr(base.perSecond() / tpQ)})
		res.add(Figure{Name: p + "throttled_responses", Value: run.throttledPct(), Unit: "%", Target: ptr(sc.throttledPct), Better: lower, Baseline: ptr(base.throttledPct())})
	}
	return nil
}
