package main

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/fcruntime"
	"github.com/handshake-janitor/handshake-janitor/internal/lambdarie"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Figure 3: cold start and binary size.
const (
	initTarget  = 25 * time.Millisecond
	firstTarget = 50 * time.Millisecond
	sizeTarget  = 12 // MB
	// startTimeout bounds one cold start, emulator start included.
	startTimeout = 30 * time.Second

	// The minimal functions of the two harnesses: the baselines, what
	// each SDK costs on its own.
	awsEchoPkg = "./internal/lambdarie/testdata/echo"
	fcEchoPkg  = "./internal/fcruntime/testdata/echo"
)

// startTimes are the medians of several cold starts.
type startTimes struct {
	init, first time.Duration
}

func benchColdStart(ctx context.Context, res *results, o options) error {
	tmp, err := os.MkdirTemp("", "bench-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Sizes: the shipped binaries, beside a minimal function on the same
	// SDK built the same way for the same platform.
	for _, path := range strings.Split(o.sizes, ",") {
		if err := weigh(ctx, res, tmp, path); err != nil {
			return err
		}
	}

	// Baselines for this machine, built with the harnesses (the
	// Makefile's flags, this GOOS/GOARCH).
	awsEcho, fcEcho := filepath.Join(tmp, "aws-echo", "bootstrap"), filepath.Join(tmp, "fc-echo", "main")
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := lambdarie.Build(bctx, awsEchoPkg, awsEcho); err != nil {
		return err
	}
	if err := fcruntime.Build(bctx, fcEchoPkg, fcEcho); err != nil {
		return err
	}
	rie, err := lambdarie.BuildRIE(bctx)
	if err != nil {
		return err
	}

	// One emulator answers every start: each cancels an invitation of its own.
	n := o.starts
	emu, err := startEmulator(ctx, "-generate", strconv.Itoa(2*n), "-stale", strconv.Itoa(2*n), "-seed", "41")
	if err != nil {
		return err
	}
	defer emu.Close()
	ids := []string{}
	for _, h := range rmemu.Generate(generateOptions(2*n, 2*n, 41)) {
		ids = append(ids, h.HandshakeID)
	}
	env := func(extra ...string) []string {
		return append([]string{
			config.EnvEndpoint + "=" + emu.Endpoint,
			config.EnvLogLevel + "=info",
		}, extra...)
	}
	payload := func(id string) []byte { return []byte(`{"handshakeId":"` + id + `"}`) }

	logf("coldstart: AWS function under the Lambda RIE, %d starts, and the minimal function", n)
	awsEnv := env(config.EnvAccessKeyID+"="+rmemu.TestAccessKeyID, config.EnvAccessKeySecret+"="+rmemu.TestAccessKeySecret)
	aws, err := medianStarts(ctx, n, func(ctx context.Context, i int) (startTimes, error) {
		return awsStart(ctx, rie, o.awsFunc, awsEnv, payload(ids[i]), true)
	})
	if err != nil {
		return fmt.Errorf("AWS function: %w", err)
	}
	awsBase, err := medianStarts(ctx, n, func(ctx context.Context, i int) (startTimes, error) {
		return awsStart(ctx, rie, awsEcho, nil, []byte(`{"echo":"x"}`), false)
	})
	if err != nil {
		return fmt.Errorf("AWS minimal function: %w", err)
	}

	logf("coldstart: FC function under the FC runtime test server, %d starts, and the minimal function", n)
	// FC puts the function role's credentials in the environment and in
	// each invocation's headers.
	fcEnv := env(config.EnvAccessKeyID+"="+rmemu.TestSTSAccessKeyID, config.EnvAccessKeySecret+"="+rmemu.TestSTSAccessKeySecret,
		config.EnvSecurityToken+"="+rmemu.TestSecurityToken)
	fc, err := medianStarts(ctx, n, func(ctx context.Context, i int) (startTimes, error) {
		return fcStart(ctx, o.fcFunc, fcEnv, payload(ids[n+i]), true)
	})
	if err != nil {
		return fmt.Errorf("FC function: %w", err)
	}
	fcBase, err := medianStarts(ctx, n, func(ctx context.Context, i int) (startTimes, error) {
		return fcStart(ctx, fcEcho, nil, []byte(`{}`), false)
	})
	if err != nil {
		return fmt.Errorf("FC minimal function: %w", err)
	}

	for _, f := range []struct {
		name      string
		got, base startTimes
	}{{"aws", aws, awsBase}, {"fc", fc, fcBase}} {
		res.add(Figure{Name: "coldstart." + f.name + ".init", Value: ms(f.got.init), Unit: "ms", Target: ptr(ms(initTarget)), Better: lower, Baseline: ptr(ms(f.base.init))})
		res.add(Figure{Name: "coldstart." + f.name + ".first_response", Value: ms(f.got.first), Unit: "ms", Target: ptr(ms(firstTarget)), Better: lower, Baseline: ptr(ms(f.base.first))})
	}
	return nil
}

// medianStarts runs n cold starts and returns the median of each time.
func medianStarts(ctx context.Context, n int, start func(context.Context, int) (startTimes, error)) (startTimes, error) {
	var inits, firsts []time.Duration
	for i := range n {
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		t, err := start(sctx, i)
		cancel()
		if err != nil {
			return startTimes{}, fmt.Errorf("start %d: %w", i+1, err)
		}
		inits = append(inits, t.init)
		firsts = append(firsts, t.first)
	}
	logf("  init %v", roundAll(inits))
	logf("  first response %v", roundAll(firsts))
	return startTimes{median(inits), median(firsts)}, nil
}

// awsStart starts the Lambda RIE with bin, invokes it once and returns the
// init time as the RIE measured it (exec until the first GET next) and the
// time from just before the invocation to its answer (the RIE starts the
// function at the first invocation, so that is the whole cold start).
func awsStart(ctx context.Context, rie, bin string, env []string, payload []byte, isJanitor bool) (startTimes, error) {
	e, err := lambdarie.Start(ctx, bin, lambdarie.Options{Env: env, RIE: rie, Timeout: startTimeout})
	if err != nil {
		return startTimes{}, err
	}
	defer e.Kill()
	t0 := time.Now()
	status, body, err := e.Invoke(ctx, payload)
	first := time.Since(t0)
	if err != nil {
		return startTimes{}, err
	}
	if fe, isErr := lambdarie.ParseError(body); status != 200 || isErr {
		return startTimes{}, fmt.Errorf("invocation answered %d %s %s", status, fe.Type, fe.Message)
	}
	if isJanitor {
		if err := checkCancelled(body); err != nil {
			return startTimes{}, err
		}
	}
	init, err := e.InitDuration(ctx, 0)
	if err != nil {
		return startTimes{}, err
	}
	return startTimes{init, first}, nil
}

// fcStart starts bin against a fresh FC runtime test server, invokes it once
// (the server hands the invocation over at the function's first GET next)
// and returns the time from fork/exec to that first GET next, and to the
// answer.
func fcStart(ctx context.Context, bin string, env []string, payload []byte, isJanitor bool) (startTimes, error) {
	srv := fcruntime.NewServer(fcruntime.Options{Timeout: startTimeout})
	defer srv.Close()
	p, err := fcruntime.StartProcess(bin, srv, fcruntime.ProcessOptions{Env: env})
	if err != nil {
		return startTimes{}, err
	}
	defer p.Close() // before srv.Close: the SDK retries a failed GET next at once
	resp, err := srv.Invoke(ctx, payload, fcruntime.InvokeOptions{Credentials: fcruntime.Credentials{
		KeyID: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret, Token: rmemu.TestSecurityToken,
	}})
	if err != nil {
		return startTimes{}, err
	}
	if resp.Err != nil || resp.TimedOut {
		return startTimes{}, fmt.Errorf("invocation failed: %v (timed out: %v); stderr: %s", resp.Err, resp.TimedOut, p.Stderr())
	}
	if isJanitor {
		if err := checkCancelled(resp.Body); err != nil {
			return startTimes{}, err
		}
	}
	next, ok := srv.FirstNext()
	if !ok {
		return startTimes{}, fmt.Errorf("no GET next seen")
	}
	return startTimes{next.Sub(p.Started()), resp.Responded.Sub(p.Started())}, nil
}

// checkCancelled makes sure a cold start did the real work: one invitation
// cancelled through the emulator.
func checkCancelled(body []byte) error {
	var rep sweepSummary
	if err := json.Unmarshal(body, &rep); err != nil {
		return fmt.Errorf("answer %.200q: %w", body, err)
	}
	if rep.Summary.Cancelled != 1 {
		return fmt.Errorf("answer %.300q: want one invitation cancelled", body)
	}
	return nil
}

// weigh adds the size of a shipped binary, beside a minimal function on the
// same SDK built the same way for the same platform.
func weigh(ctx context.Context, res *results, tmp, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("binary to weigh: %w (run make build)", err)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	arch := goarch(f.Machine)
	f.Close()
	pkg, tags := fcEchoPkg, ""
	name := "fc_main"
	if filepath.Base(path) == "bootstrap" {
		pkg, tags, name = awsEchoPkg, "lambda.norpc", "aws_bootstrap"
	}
	echo := filepath.Join(tmp, "size-"+name)
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(bctx, "go", "build", "-tags="+tags, "-trimpath", "-ldflags=-s -w -buildid=", "-o", echo, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s for linux/%s: %w: %s", pkg, arch, err, out)
	}
	efi, err := os.Stat(echo)
	if err != nil {
		return err
	}
	logf("size: %s (linux/%s) %d bytes; minimal function %d bytes", path, arch, fi.Size(), efi.Size())
	res.add(Figure{Name: "size." + name, Value: mb(fi.Size()), Unit: "MB", Target: ptr(sizeTarget), Better: lower, Baseline: ptr(mb(efi.Size()))})
	return nil
}

func goarch(m elf.Machine) string {
	switch m {
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_X86_64:
		return "amd64"
	}
	return "unknown"
}

// median is the middle value (the mean of the two middle ones for an even
// count) of durations or byte counts.
func median[T ~int64](ds []T) T {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// roundAll rounds durations for the progress log: to the microsecond below
// 10 ms, to a tenth of a millisecond above.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		if d < 10*time.Millisecond {
			out[i] = d.Round(time.Microsecond)
		} else {
			out[i] = d.Round(100 * time.Microsecond)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
