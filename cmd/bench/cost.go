package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Figure 2: the cost of one invitation.
const (
	// costStale invitations are swept by one janitor process; at
	// API_QPS=1000 (the highest the configuration takes) that is ~4 s.
	costStale = 4000
	// costPool stale invitations are there for each client benchmark:
	// more than testing.Benchmark's one second can use (a cancel that
	// found its invitation already cancelled would cost less).
	costPool = 60000
	// costRuns is how many times each process is measured.
	costRuns = 5
)

// sweepSummary is the part of the janitor's JSON report read here.
type sweepSummary struct {
	Summary struct {
		Cancelled int `json:"cancelled"`
		DryRun    int `json:"dry_run"`
		Failed    int `json:"failed"`
	} `json:"summary"`
}

func benchCost(ctx context.Context, res *results, o options) error {
	// CPU per invitation: a whole janitor process (as shipped, and with
	// GOMAXPROCS=1), then the official client's loop, each against an
	// emulator of its own; costRuns rounds, median taken (CPU time on a
	// shared machine varies from one run to the next).
	var jans, jan1s, offs []time.Duration
	for i := range costRuns {
		logf("cost: round %d/%d over %d stale invitations each, zero-latency emulator", i+1, costRuns, costStale)
		jan, err := janitorSweepCPU(ctx, o.janitor, 31+i)
		if err != nil {
			return err
		}
		jan1, err := janitorSweepCPU(ctx, o.janitor, 131+i, "GOMAXPROCS=1")
		if err != nil {
			return err
		}
		off, err := officialLoopCPU(ctx, 231+i)
		if err != nil {
			return err
		}
		jans, jan1s, offs = append(jans, jan), append(jan1s, jan1), append(offs, off)
	}
	logf("  CPU per invitation: janitor %v, janitor at GOMAXPROCS=1 %v, official loop %v", roundAll(jans), roundAll(jan1s), roundAll(offs))
	// The target: no more than the official client's loop, in this run.
	res.add(Figure{Name: "cost.cpu_per_invitation", Value: us(median(jans)), Unit: "µs", Target: ptr(us(median(offs))), Better: lower, Baseline: ptr(us(median(offs)))})
	res.add(Figure{Name: "cost.cpu_per_invitation_gomaxprocs_1", Value: us(median(jan1s)), Unit: "µs", Better: lower, Baseline: ptr(us(median(offs)))})

	// Allocations per cancel, in this process, against one more emulator.
	logf("cost: CancelHandshake benchmarks (testing.Benchmark), this client and the official one")
	emu, err := startEmulator(ctx, "-generate", strconv.Itoa(2*costPool), "-stale", strconv.Itoa(2*costPool), "-seed", "21")
	if err != nil {
		return err
	}
	defer emu.Close()
	var ids []handshake.ID
	for _, h := range rmemu.Generate(generateOptions(2*costPool, 2*costPool, 21)) {
		id, err := handshake.ParseID(h.HandshakeID)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	ours, theirs := ids[:costPool], ids[costPool:]

	client, err := resourcemanager.New(resourcemanager.Options{
		Endpoint: emu.Endpoint,
		Credentials: resourcemanager.StaticCredentials(resourcemanager.Credentials{
			AccessKeyID: rmemu.TestAccessKeyID, AccessKeySecret: rmemu.TestAccessKeySecret,
		}),
		QPS: 1e9, // the rate limiter never waits: the call's own cost
	})
	if err != nil {
		return err
	}
	next, failed := 0, 0
	ourBench := func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if next >= len(ours) {
				b.Fatal("out of Pending invitations")
			}
			if _, err := client.CancelHandshake(ctx, ours[next]); err != nil {
				failed++
			}
			next++
		}
	}
	r := testing.Benchmark(ourBench)
	if failed > 0 || r.N == 0 {
		res.notef("cost: this client's benchmark: %d of %d cancels failed", failed, r.N)
	}

	official, err := newOfficial(emu.Endpoint)
	if err != nil {
		return err
	}
	next, failed = 0, 0
	ro := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if next >= len(theirs) {
				b.Fatal("out of Pending invitations")
			}
			if err := officialCancelCall(official, string(theirs[next])); err != nil {
				failed++
			}
			next++
		}
	})
	if failed > 0 || ro.N == 0 {
		res.notef("cost: official client's benchmark: %d of %d cancels failed", failed, ro.N)
	}
	logf("  this client:     %s %s", r, r.MemString())
	logf("  official client: %s %s", ro, ro.MemString())
	res.add(Figure{Name: "cost.allocs_per_cancel", Value: float64(r.AllocsPerOp()), Unit: "allocs", Better: lower, Baseline: ptr(float64(ro.AllocsPerOp()))})
	res.add(Figure{Name: "cost.bytes_per_cancel", Value: float64(r.AllocedBytesPerOp()), Unit: "B", Better: lower, Baseline: ptr(float64(ro.AllocedBytesPerOp()))})
	res.add(Figure{Name: "cost.cancel_round_trip", Value: us(time.Duration(r.NsPerOp())), Unit: "µs", Better: lower, Baseline: ptr(us(time.Duration(ro.NsPerOp())))})
	if o.profileDir == "" {
		return nil
	}
	// Profiles, after the figures so as not to weigh on them: the client
	// benchmark once more, then a whole engine sweep.
	logf("cost: profiling the client benchmark")
	stopProfile, err := startProfiles(o.profileDir)
	if err != nil {
		return err
	}
	testing.Benchmark(ourBench)
	if err := stopProfile(); err != nil {
		return err
	}
	return profileSweep(ctx, o.profileDir)
}

// profileSweep runs the engine's sweep in this process, as janitorSweepCPU
// runs it in the CLI, under the CPU profiler: sweep.cpu.prof and
// sweep.allocs.prof in dir. The allocation profile covers the whole run
// (sampled finely once -profile is set); focus it on the engine with
// `go tool pprof -focus=Engine`.
func profileSweep(ctx context.Context, dir string) error {
	logf("cost: profiling an engine sweep over %d stale invitations in this process", costStale)
	emu, err := startEmulator(ctx, "-generate", strconv.Itoa(costStale), "-stale", strconv.Itoa(costStale), "-seed", "51")
	if err != nil {
		return err
	}
	defer emu.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devNull.Close()
	h, _, err := newHandler(emu.Endpoint, map[string]string{
		config.EnvAPIQPS:           strconv.Itoa(int(config.MaxAPIQPS)),
		config.EnvMaxCancellations: strconv.Itoa(costStale),
	})
	if err != nil {
		return err
	}
	h.Logger = logging.New(devNull, zerolog.InfoLevel)
	cpu, err := os.Create(filepath.Join(dir, "sweep.cpu.prof"))
	if err != nil {
		return err
	}
	defer cpu.Close()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return err
	}
	rctx := logging.WithInvocation(ctx, h.Logger, logging.Invocation{Platform: logging.PlatformCLI, Trigger: "bench", ColdStart: true})
	rep, err := h.Engine.Run(rctx, janitor.Job{Sweep: &janitor.Sweep{}})
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	logf("  %d cancelled; profiles in %s", rep.Summary[handshake.OutcomeCancelled], dir)
	allocs, err := os.Create(filepath.Join(dir, "sweep.allocs.prof"))
	if err != nil {
		return err
	}
	defer allocs.Close()
	return pprof.Lookup("allocs").WriteTo(allocs, 0)
}

// janitorSweepCPU runs `janitor sweep` over costStale stale invitations in a
// process of its own and returns its CPU time per cancelled invitation.
func janitorSweepCPU(ctx context.Context, bin string, seed int, extraEnv ...string) (time.Duration, error) {
	emu, err := startEmulator(ctx, "-generate", strconv.Itoa(costStale), "-stale", strconv.Itoa(costStale), "-seed", strconv.Itoa(seed))
	if err != nil {
		return 0, err
	}
	defer emu.Close()
	home, err := os.MkdirTemp("", "bench-home-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(home)
	env := janitorEnv(home, emu.Endpoint, append([]string{
		config.EnvAPIQPS + "=" + strconv.Itoa(int(config.MaxAPIQPS)),
		config.EnvMaxCancellations + "=" + strconv.Itoa(costStale),
	}, extraEnv...)...)
	run, err := runChild(ctx, 2*time.Minute, bin, []string{"sweep", "-output", "json"}, env)
	if err != nil {
		return 0, err
	}
	var rep sweepSummary
	if err := json.Unmarshal(run.stdout, &rep); err != nil {
		return 0, fmt.Errorf("janitor sweep report: %w", err)
	}
	n := rep.Summary.Cancelled
	logf("  janitor sweep %v: %d cancelled, %d failed in %v; CPU %v; peak RSS %.1f MB", extraEnv, n, rep.Summary.Failed, run.wall.Round(time.Millisecond), run.cpu, mb(run.maxRSS))
	if n == 0 {
		return 0, fmt.Errorf("janitor sweep cancelled nothing")
	}
	return run.cpu / time.Duration(n), nil
}

// officialLoopCPU runs `bench official-loop` over costStale stale
// invitations and returns its CPU time per cancelled invitation.
func officialLoopCPU(ctx context.Context, seed int) (time.Duration, error) {
	emu, err := startEmulator(ctx, "-generate", strconv.Itoa(costStale), "-stale", strconv.Itoa(costStale), "-seed", strconv.Itoa(seed))
	if err != nil {
		return 0, err
	}
	defer emu.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	run, err := runChild(ctx, 2*time.Minute, self, []string{"official-loop", "-endpoint", emu.Endpoint}, []string{"PATH=" + os.Getenv("PATH")})
	if err != nil {
		return 0, err
	}
	var rep childReport
	if err := json.Unmarshal(run.stdout, &rep); err != nil {
		return 0, fmt.Errorf("official loop report: %w", err)
	}
	logf("  official loop: %d cancelled, %d failed in %v; CPU %v; peak RSS %.1f MB", rep.Cancelled, rep.Failed, run.wall.Round(time.Millisecond), run.cpu, mb(run.maxRSS))
	if rep.Cancelled == 0 {
		return 0, fmt.Errorf("official loop cancelled nothing")
	}
	return run.cpu / time.Duration(rep.Cancelled), nil
}

// startProfiles starts a CPU profile and raises the allocation sampling
// rate, when dir is set; the returned function writes cpu.prof and
// allocs.prof there.
func startProfiles(dir string) (func() error, error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "cpu.prof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		m, err := os.Create(filepath.Join(dir, "allocs.prof"))
		if err != nil {
			return err
		}
		defer m.Close()
		return pprof.Lookup("allocs").WriteTo(m, 0)
	}, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mb(b int64) float64 { return float64(b) / (1 << 20) }
