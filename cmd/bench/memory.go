package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
)

// Figure 4: memory at scale.
const (
	memStale     = 50
	memTargetMB  = 32
	memFlatPct   = 10
	memRunBudget = 3 * time.Minute
	memRuns      = 5
)

func benchMemory(ctx context.Context, res *results, o options) error {
	home, err := os.MkdirTemp("", "bench-home-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	peak := map[string]map[int]int64{"janitor": {}, "collect": {}}
	for _, n := range []int{10000, 100000} {
		logf("memory: %d invitations (%d pages), %d stale", n, n/100, memStale)
		emu, err := startEmulator(ctx, "-generate", strconv.Itoa(n), "-stale", strconv.Itoa(memStale), "-seed", strconv.Itoa(50+n))
		if err != nil {
			return err
		}
		// The janitor: `janitor sweep --dry-run`, paced at the highest
		// API_QPS the configuration takes (1,000 pages take a second);
		// memRuns runs, median taken: a process this small peaks a
		// megabyte higher or lower depending on when its collections fall.
		env := janitorEnv(home, emu.Endpoint, config.EnvAPIQPS+"="+strconv.Itoa(int(config.MaxAPIQPS)))
		var peaks []int64
		for range memRuns {
			run, err := runChild(ctx, memRunBudget, o.janitor, []string{"sweep", "--dry-run", "-output", "json"}, env)
			if err != nil {
				emu.Close()
				return err
			}
			var rep sweepSummary
			if err := json.Unmarshal(run.stdout, &rep); err != nil || rep.Summary.DryRun != memStale {
				emu.Close()
				return fmt.Errorf("janitor sweep --dry-run over %d: want %d dry_run, got %+v (%v)", n, memStale, rep.Summary, err)
			}
			logf("  janitor sweep --dry-run: %d selected in %v, peak RSS %.1f MB, CPU %v", rep.Summary.DryRun, run.wall.Round(time.Millisecond), mb(run.maxRSS), run.cpu)
			peaks = append(peaks, run.maxRSS)
		}
		peak["janitor"][n] = median(peaks)

		// The baseline: the whole listing first, through the official
		// client, then the selection.
		base, err := runChild(ctx, memRunBudget, self, []string{"official-loop", "-collect-only", "-endpoint", emu.Endpoint}, []string{"PATH=" + os.Getenv("PATH")})
		emu.Close()
		if err != nil {
			return err
		}
		var brep childReport
		if err := json.Unmarshal(base.stdout, &brep); err != nil || brep.Selected != memStale || brep.Listed != n {
			return fmt.Errorf("collect-all over %d: want %d listed and %d selected, got %+v (%v)", n, n, memStale, brep, err)
		}
		logf("  collect-all loop: %d listed in %v, peak RSS %.1f MB", brep.Listed, base.wall.Round(time.Millisecond), mb(base.maxRSS))
		peak["collect"][n] = base.maxRSS
	}
	j, c := peak["janitor"], peak["collect"]
	res.add(Figure{Name: "memory.peak_rss_10k", Value: mb(j[10000]), Unit: "MB", Target: ptr(memTargetMB), Better: lower, Baseline: ptr(mb(c[10000]))})
	res.add(Figure{Name: "memory.peak_rss_100k", Value: mb(j[100000]), Unit: "MB", Target: ptr(memTargetMB), Better: lower, Baseline: ptr(mb(c[100000]))})
	growth := func(m map[int]int64) float64 { return 100 * (float64(m[100000])/float64(m[10000]) - 1) }
	res.add(Figure{Name: "memory.growth_10k_to_100k", Value: growth(j), Unit: "%", Target: ptr(memFlatPct), Better: lower, Baseline: ptr(growth(c))})
	return nil
}
