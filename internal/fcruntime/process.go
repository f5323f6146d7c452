package fcruntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// Build compiles the main package pkg into the file out for the host, with
// the flags the Makefile uses for dist/fc/main (CGO_ENABLED=0, -trimpath,
// stripped) so that sizes and start times are those of the shipped binary.
// pkg is resolved as the go command does in the current directory: in a
// test, "./testdata/echo" or a full import path.
func Build(ctx context.Context, pkg, out string) error {
	if err := testbin.Build(ctx, "", out, pkg, "-trimpath", "-ldflags=-s -w -buildid="); err != nil {
		return fmt.Errorf("fcruntime: %w", err)
	}
	return nil
}

// ProcessOptions shape a function process.
type ProcessOptions struct {
	// Env is the function's own environment ("KEY=VALUE"), applied over the
	// variables StartProcess sets. The test's environment is not inherited,
	// so no real credential leaks into a function under test; pass
	// ALIBABA_CLOUD_ACCESS_KEY_ID and friends here to give the instance the
	// role credentials FC puts in its environment.
	Env []string
	// Stdout and Stderr, when set, also receive the process's output.
	Stdout, Stderr io.Writer
	// Dir is the working directory; empty means the binary's directory
	// (FC_FUNC_CODE_PATH).
	Dir string
}

// stopGrace is how long Close waits after SIGTERM before SIGKILL, and again
// after SIGKILL before giving up.
const stopGrace = 2 * time.Second

// Process is a running function binary.
type Process struct {
	cmd     *exec.Cmd
	started time.Time
	stdout  *testbin.Buffer
	stderr  *testbin.Buffer
	exited  chan struct{}
	waitErr error // set before exited is closed

	closeOnce sync.Once
	closeErr  error
}

// StartProcess starts the binary bin as an FC instance served by srv. Its
// environment is PATH, FC_RUNTIME_API=srv.Addr(), the FC_* variables FC sets
// (FC_FUNCTION_NAME, FC_FUNCTION_HANDLER, FC_FUNCTION_MEMORY_SIZE, FC_REGION,
// FC_ACCOUNT_ID, FC_INSTANCE_ID, FC_FUNCTION_VERSION, FC_FUNC_CODE_PATH) from
// srv.Options(), then opts.Env. It runs in its own process group. Call Close.
func StartProcess(bin string, srv *Server, opts ProcessOptions) (*Process, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, fmt.Errorf("fcruntime: binary path %q: %w", bin, err)
	}
	o := srv.Options()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"FC_RUNTIME_API=" + srv.Addr(),
		"FC_FUNCTION_NAME=" + o.FunctionName,
		"FC_FUNCTION_HANDLER=" + o.Handler,
		"FC_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(o.MemoryMB),
		"FC_REGION=" + o.Region,
		"FC_ACCOUNT_ID=" + o.AccountID,
		"FC_INSTANCE_ID=fcruntime-" + strconv.Itoa(os.Getpid()),
		"FC_FUNCTION_VERSION=" + o.Qualifier,
		"FC_FUNC_CODE_PATH=" + filepath.Dir(abs),
	}
	env = append(env, opts.Env...) // exec keeps the last value of a duplicate key

	p := &Process{
		stdout: testbin.NewBuffer("fcruntime"),
		stderr: testbin.NewBuffer("fcruntime"),
		exited: make(chan struct{}),
	}
	cmd := exec.Command(abs)
	cmd.Env = env
	cmd.Dir = opts.Dir
	if cmd.Dir == "" {
		cmd.Dir = filepath.Dir(abs)
	}
	cmd.Stdout = tee(p.stdout, opts.Stdout)
	cmd.Stderr = tee(p.stderr, opts.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = stopGrace // bound the output copy should a child keep the pipes open
	p.cmd = cmd

	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fcruntime: starting %s: %w", abs, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func tee(buf *testbin.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

// Pid is the process ID (also its process group ID).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Started is the time taken just before the process was forked and exec'd.
func (p *Process) Started() time.Time { return p.started }

// Stdout returns what the process wrote to stdout so far (the SDK's
// "FC Invoke Start/End RequestId: ..." lines go there).
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr returns what the process wrote to stderr so far (the SDK logs
// handler errors and panics there with the log package).
func (p *Process) Stderr() string { return p.stderr.String() }

// Exited is closed once the process has exited and its output is read.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Wait waits for the process to exit, or ctx to be done, and returns its
// exit error (nil for status 0; an *exec.ExitError otherwise).
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.exited:
		return p.waitErr
	case <-ctx.Done():
		return fmt.Errorf("fcruntime: waiting for pid %d to exit: %w", p.Pid(), context.Cause(ctx))
	}
}

// Close stops the process: SIGTERM to its process group (the SDK installs no
// handler, so the Go runtime exits at once), then SIGKILL if it is still
// running after a grace period. It returns an error only when the process
// could not be stopped; its exit status is Wait's business. Safe to call
// more than once.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		pgid := p.Pid()
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
			return
		case <-time.After(stopGrace):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
			p.closeErr = fmt.Errorf("fcruntime: pid %d still running %v after SIGKILL", pgid, stopGrace)
		}
	})
	return p.closeErr
}

// errNotExited is returned by ExitCode before the process has exited.
var errNotExited = errors.New("fcruntime: process has not exited")

// ExitCode returns the exit code once the process has exited (-1 when it was
// killed by a signal).
func (p *Process) ExitCode() (int, error) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), nil
	default:
		return 0, errNotExited
	}
}
