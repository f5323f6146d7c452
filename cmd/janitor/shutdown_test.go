package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// The shutdown contract (issue 7, item 6): on SIGINT or SIGTERM, `janitor
// sweep` and `janitor cancel` start no new cancellation, let the calls in
// flight finish, print the Report of what was done (the rest failed) and
// exit non-zero. These tests run the built binary against the emulator,
// with latency long enough that the signal always lands while calls are in
// flight and no worker is free to start another.

const (
	shutdownInvitations = 24
	shutdownConcurrency = 4
	shutdownLatency     = 1500 * time.Millisecond
)

// cancelTracker sits in front of the emulator and counts CancelHandshake
// requests as they arrive and as they are answered.
type cancelTracker struct {
	next http.Handler

	mu       sync.Mutex
	arrived  int
	inFlight int
}

func (c *cancelTracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cancel := r.Header.Get("x-acs-action") == "CancelHandshake" || r.URL.Query().Get("Action") == "CancelHandshake"
	if cancel {
		c.mu.Lock()
		c.arrived++
		c.inFlight++
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.inFlight--
			c.mu.Unlock()
		}()
	}
	c.next.ServeHTTP(w, r)
}

func (c *cancelTracker) counts() (arrived, inFlight int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arrived, c.inFlight
}

// buildJanitor builds this command into dir.
func buildJanitor(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the CLI: %v", err)
	}
	bin := filepath.Join(dir, "janitor")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestShutdownOnSignalFinishesCallsInFlightStartsNoneAndReportsEveryID(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the CLI")
	}
	bin := buildJanitor(t, t.TempDir())
	for _, cmd := range []string{"cancel", "sweep"} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(cmd+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				testShutdown(t, bin, cmd, sig)
			})
		}
	}
}

func testShutdown(t *testing.T, bin, command string, sig syscall.Signal) {
	// Stale Pending invitations: a sweep selects them all; cancel names
	// them all.
	emu := rmemu.New(rmemu.Options{Faults: rmemu.Faults{Latency: shutdownLatency}})
	var ids []string
	for i := range shutdownInvitations {
		id := fmt.Sprintf("h-Shutdown%08d", i)
		ids = append(ids, id)
		if err := emu.Seed(handshake.Handshake{HandshakeID: id, CreateTime: time.Now().Add(-10 * 24 * time.Hour), TargetEntity: "1000000000000001"}); err != nil {
			t.Fatal(err)
		}
	}
	tracker := &cancelTracker{next: emu}
	srv := httptest.NewServer(tracker)
	t.Cleanup(srv.Close)

	args := []string{command, "-output", "json"}
	if command == "cancel" {
		args = append(args, ids...)
	}
	cmd := exec.Command(bin, args...)
	home := t.TempDir() // no credentials file or CLI profile from the machine
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"RESOURCEMANAGER_ENDPOINT=" + srv.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + rmemu.TestAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + rmemu.TestAccessKeySecret,
		fmt.Sprintf("API_CONCURRENCY=%d", shutdownConcurrency),
		"API_QPS=1000",
		"API_TIMEOUT=10s",
		"MAX_CANCELLATIONS=1000",
		"STALE_AFTER=7d",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	var waitErr error
	exited := make(chan struct{}) // closed once waitErr is set
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}()

	// Wait (bounded) until every worker has a cancel in flight; then no
	// cancel can start until one of them is answered, shutdownLatency
	// later, so any cancel that arrives after the signal was started
	// after it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, n := tracker.counts(); n == shutdownConcurrency {
			break
		}
		select {
		case <-exited:
			t.Fatalf("janitor %s exited before the signal: %v\nstdout:\n%s\nstderr:\n%s", command, waitErr, stdout.Bytes(), stderr.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %d cancels in flight\nstderr:\n%s", shutdownConcurrency, stderr.Bytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
	atSignal, _ := tracker.counts()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v", err)
	}

	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("janitor %s still running 30s after %v\nstderr:\n%s", command, sig, stderr.Bytes())
	}
	code := cmd.ProcessState.ExitCode()
	if waitErr == nil || code <= 0 {
		t.Errorf("janitor %s exited with code %d (%v) after %v, want a non-zero exit code", command, code, waitErr, sig)
	}

	// No cancel started after the signal.
	arrived, _ := tracker.counts()
	if arrived != atSignal {
		t.Errorf("%d CancelHandshake calls started after %v (%d before it)", arrived-atSignal, sig, atSignal)
	}

	// The Report accounts for every invitation, once.
	var rep janitor.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not a JSON Report: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	got := make(map[string]janitor.Result)
	for _, r := range rep.Results {
		if _, dup := got[r.HandshakeID]; dup {
			t.Errorf("%s reported twice", r.HandshakeID)
		}
		got[r.HandshakeID] = r
	}
	total := 0
	for _, n := range rep.Summary {
		total += n
	}
	if total != len(rep.Results) {
		t.Errorf("summary %+v counts %d, the report has %d results", rep.Summary, total, len(rep.Results))
	}

	// The calls in flight finished: what they cancelled is reported
	// cancelled, and the emulator agrees; the rest is failed, untouched.
	cancelled := 0
	for _, id := range ids {
		r, ok := got[id]
		if !ok {
			t.Errorf("%s missing from the report", id)
			continue
		}
		status := emu.Status(id)
		switch r.Outcome {
		case handshake.OutcomeCancelled:
			cancelled++
			if status != handshake.StatusCancelled {
				t.Errorf("%s reported cancelled, but the emulator has it %s", id, status)
			}
		case handshake.OutcomeFailed:
			if status != handshake.StatusPending {
				t.Errorf("%s reported failed (%s), but the emulator has it %s: a cancel applied was not reported", id, r.ErrorCode, status)
			}
		default:
			t.Errorf("%s: %s, want cancelled (in flight at the signal) or failed (not started)", id, r.Outcome)
		}
	}
	if cancelled != atSignal {
		t.Errorf("%d invitations reported cancelled, want the %d whose calls were in flight at the signal: the calls in flight must finish", cancelled, atSignal)
	}
	if rep.Summary[handshake.OutcomeFailed] != len(ids)-atSignal {
		t.Errorf("%d reported failed, want the %d never started", rep.Summary[handshake.OutcomeFailed], len(ids)-atSignal)
	}
	for _, c := range emu.Calls() {
		if c.Action == "CancelHandshake" && c.Status != http.StatusOK {
			t.Errorf("CancelHandshake of %s ended %d %s: the call in flight was cut off, not finished", c.HandshakeID, c.Status, c.Code)
		}
	}
	if t.Failed() {
		t.Logf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.Bytes(), stderr.Bytes())
	}
}

// startCancel starts the built CLI cancelling ids against srv, with env
// added, and returns it with a channel closed when it exits.
func startCancel(t *testing.T, bin, url string, ids []string, env ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"cancel", "-output", "json"}, ids...)...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"RESOURCEMANAGER_ENDPOINT=" + url,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + rmemu.TestAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + rmemu.TestAccessKeySecret,
		"API_CONCURRENCY=1",
		"API_TIMEOUT=60s",
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	return cmd, &stdout, &stderr, exited
}

// waitFor polls cond every 5 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s", what)
		}
	}
}

// exitedWithin20s fails unless the CLI exits within 20 s (the waits it must
// not sit out are 50 s or more), and returns its Report.
func exitedWithin20s(t *testing.T, cmd *exec.Cmd, stdout, stderr *bytes.Buffer, exited <-chan struct{}) janitor.Report {
	t.Helper()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20 s after the interrupt\nstderr:\n%s", stderr.Bytes())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want %d\nstderr:\n%s", code, exitInterrupted, stderr.Bytes())
	}
	var rep janitor.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not a JSON Report: %v\n%s", err, stdout.Bytes())
	}
	return rep
}

func TestAnInterruptStopsACallWaitingForTheRateLimiterAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the CLI")
	}
	bin := buildJanitor(t, t.TempDir())
	emu := rmemu.New(rmemu.Options{})
	ids := []string{"h-Waiting000000001", "h-Waiting000000002"}
	for _, id := range ids {
		if err := emu.Seed(handshake.Handshake{HandshakeID: id, CreateTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	// One call per 50 s: the first goes at once, the second waits.
	cmd, stdout, stderr, exited := startCancel(t, bin, srv.URL, ids, "API_QPS=0.02")
	waitFor(t, "the first cancel", func() bool { return emu.Status(ids[0]) == handshake.StatusCancelled })
	time.Sleep(100 * time.Millisecond) // the second call is at the limiter now
	cmd.Process.Signal(syscall.SIGINT)
	rep := exitedWithin20s(t, cmd, stdout, stderr, exited)
	if len(rep.Results) != 2 || rep.Results[1].ErrorCode != janitor.CodeCanceled || rep.Results[0].Outcome != handshake.OutcomeCancelled {
		t.Errorf("results %+v: want the first cancelled, the waiting one failed Canceled", rep.Results)
	}
	if !strings.Contains(stderr.String(), "1 invitation(s) not finished") {
		t.Errorf("stderr:\n%s", stderr.Bytes())
	}
}

func TestASecondInterruptStopsTheCallInFlightNow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the CLI")
	}
	bin := buildJanitor(t, t.TempDir())
	emu := rmemu.New(rmemu.Options{Faults: rmemu.Faults{Latency: 50 * time.Second}})
	id := "h-InFlight00000001"
	if err := emu.Seed(handshake.Handshake{HandshakeID: id, CreateTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tracker := &cancelTracker{next: emu}
	srv := httptest.NewServer(tracker)
	t.Cleanup(srv.Close)
	cmd, stdout, stderr, exited := startCancel(t, bin, srv.URL, []string{id}, "API_QPS=100")
	waitFor(t, "the cancel in flight", func() bool { _, n := tracker.counts(); return n == 1 })
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	rep := exitedWithin20s(t, cmd, stdout, stderr, exited)
	if len(rep.Results) != 1 || rep.Results[0].Outcome != handshake.OutcomeFailed || rep.Results[0].ErrorCode != janitor.CodeCanceled {
		t.Errorf("results %+v: want the call in flight failed Canceled", rep.Results)
	}
	if !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("stderr:\n%s", stderr.Bytes())
	}
}
