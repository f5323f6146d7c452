package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// childRun is what a measured child process used.
type childRun struct {
	cpu    time.Duration // user + system
	maxRSS int64         // peak resident set (VmHWM), bytes
	wall   time.Duration
	stdout []byte
}

// runChild runs bin with args and exactly env (nothing inherited), and
// returns its CPU time (from wait4) and peak RSS. stdout is kept; stderr
// (the janitor's log lines) is read and only its end kept, for error
// messages.
func runChild(ctx context.Context, timeout time.Duration, bin string, args, env []string) (childRun, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return childRun{}, err
	}
	// Peak RSS: the child's VmHWM, read until it exits. Not wait4's
	// ru_maxrss: Linux counts in it the RSS of the process that forked the
	// child, at exec (this process, far larger than a janitor), so it says
	// nothing about a small child.
	var hwm atomic.Int64
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		tick := time.NewTicker(hwmPoll)
		defer tick.Stop()
		for {
			if kb, ok := vmHWM(cmd.Process.Pid); ok {
				hwm.Store(max(hwm.Load(), kb))
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(stop)
	<-polled
	r := childRun{wall: time.Since(start), stdout: stdout.Bytes(), maxRSS: hwm.Load() * 1024}
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return r, fmt.Errorf("%s %v: %w; stderr ends:\n%s", bin, args, err, stderr.String())
	}
	return r, nil
}

// hwmPoll is how often a child's VmHWM is read. VmHWM is the high-water
// mark itself, so a read only misses what the child reaches in its last
// interval before exiting.
const hwmPoll = 2 * time.Millisecond

// vmHWM reads the peak resident set size of pid, in kilobytes, from
// /proc/<pid>/status (Linux).
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// janitorEnv is the environment of a janitor CLI child against endpoint:
// the emulator's test credentials, and nothing from this process's
// environment but PATH (no real credential can reach it).
func janitorEnv(home, endpoint string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		config.EnvEndpoint + "=" + endpoint,
		config.EnvAccessKeyID + "=" + rmemu.TestAccessKeyID,
		config.EnvAccessKeySecret + "=" + rmemu.TestAccessKeySecret,
		config.EnvLogLevel + "=info",
		// The credential chains' metadata services are off this machine.
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
		"AWS_EC2_METADATA_DISABLED=true",
	}, extra...)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
