// Package lambdarie runs a Lambda function binary under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie, pinned as a tool in go.mod), on
// 127.0.0.1 and without Docker, for end-to-end tests and cold-start
// benchmarks.
//
// What the emulator does, as read from its source and observed here:
//   - It starts the function lazily: the bootstrap process is exec'd by the
//     first invocation, not at emulator start, so the first Invoke is the
//     cold start. After a timeout the emulator kills the function and the
//     next Invoke starts a fresh one.
//   - A handler error is HTTP 200 with {"errorMessage","errorType"}; a
//     timeout is HTTP 200 with the plain text "Task timed out after N.00
//     seconds" (see ParseError and IsTimeout).
//   - It serves one invocation at a time; Invoke queues callers.
//   - The function inherits the emulator's whole environment, plus
//     AWS_LAMBDA_RUNTIME_API and AWS_LAMBDA_FUNCTION_* set by the emulator.
//     AWS_LAMBDA_FUNCTION_TIMEOUT must be whole seconds (the emulator panics
//     on anything else); AWS_LAMBDA_MAX_CONCURRENCY switches it to another
//     mode, so Start refuses it. LOG_LEVEL is read by the emulator too, so
//     Start pins the emulator's own level with --log-level.
//   - The function's stdout and stderr come out on the emulator's stdout,
//     between its START/END/REPORT lines; the emulator logs to stderr,
//     including "INIT REPORT(durationMs: X)" once the function has asked for
//     its first event (see InitDuration).
//   - On SIGTERM it stops the function (which gets SIGTERM first when it
//     registered for it, as lambda.WithEnableSIGTERM does), waits up to 2 s,
//     SIGKILLs it and exits. The function runs in its own process group.
//   - The "Init Duration" of its REPORT line measures nothing useful (the
//     init call is asynchronous); InitDuration reads "INIT REPORT" instead.
//
// Cold start: start an Emulator (Start returns once its ports accept; the
// function is not running yet), then time the first Invoke from just before
// the call to its return: that is the time to the first response, including
// the function's exec and init and one loopback HTTP round trip through the
// emulator. InitDuration(ctx, 0) is the init time as the emulator measures
// it: from just before it execs the bootstrap until the function's first
// GET next. Started and Ready give the emulator's own start.
package lambdarie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// InvokePath is the emulator's invoke endpoint.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Defaults of Options.
const (
	DefaultFunctionName = "handshake-janitor"
	DefaultMemoryMB     = 128
	DefaultTimeout      = 30 * time.Second
	DefaultRegion       = "us-east-1"
	DefaultStartTimeout = 10 * time.Second
)

const (
	// maxResponse bounds a response body (Lambda's own limit is 6 MB).
	maxResponse = 8 << 20
	// stopGrace is how long Close waits after SIGTERM (the emulator's own
	// shutdown takes up to 2 s), and after SIGKILL.
	stopGrace = 3 * time.Second
	// startAttempts: a port picked free may be taken before the emulator
	// binds it; the emulator then exits and Start tries fresh ports.
	startAttempts = 3
)

// Options shape the emulated function.
type Options struct {
	// Env is the function's own environment ("KEY=VALUE"), applied last.
	// The test's environment is not inherited (no real credential reaches
	// the function by accident); the base is PATH, TZ=:UTC,
	// LAMBDA_TASK_ROOT, AWS_REGION, AWS_DEFAULT_REGION and the
	// AWS_LAMBDA_FUNCTION_* variables from the fields below. The emulator
	// passes AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
	// on as the function's credentials when set here.
	Env []string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME.
	FunctionName string
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
	MemoryMB int
	// Timeout is AWS_LAMBDA_FUNCTION_TIMEOUT: whole seconds, at least 1s.
	Timeout time.Duration
	// Region is AWS_REGION and AWS_DEFAULT_REGION.
	Region string
	// RIE is the emulator binary; empty means BuildRIE.
	RIE string
	// Stdout receives, besides the Emulator's own capture, the emulator's
	// stdout (the function's output); Stderr the emulator's log.
	Stdout, Stderr io.Writer
	// StartTimeout bounds the wait for the emulator's ports.
	StartTimeout time.Duration
}

// Emulator is a running aws-lambda-rie with one function.
type Emulator struct {
	cmd        *exec.Cmd
	url        string
	runtimeAPI string
	started    time.Time
	ready      time.Time
	stdout     *testbin.Buffer
	stderr     *initLog
	exited     chan struct{}
	waitErr    error // set before exited is closed
	client     *http.Client
	turn       chan struct{} // one invocation at a time

	closeOnce sync.Once
	closeErr  error
}

// Start runs the emulator with the function binary bootstrap (working
// directory: the binary's) on two free 127.0.0.1 ports and waits until both
// accept connections. ctx bounds the start only. Call Close.
func Start(ctx context.Context, bootstrap string, opts Options) (*Emulator, error) {
	abs, err := filepath.Abs(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: bootstrap path %q: %w", bootstrap, err)
	}
	if !isFile(abs) {
		return nil, fmt.Errorf("lambdarie: bootstrap %s is not a file", abs)
	}
	env, err := opts.environ(filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	rieBin := opts.RIE
	if rieBin == "" {
		if rieBin, err = BuildRIE(ctx); err != nil {
			return nil, err
		}
	}
	wait := opts.StartTimeout
	if wait <= 0 {
		wait = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()

	var errs []error
	for range startAttempts {
		e, err := start(ctx, rieBin, abs, env, opts)
		if err == nil {
			return e, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

var errExitedEarly = errors.New("emulator exited before it was ready")

func start(ctx context.Context, rieBin, bootstrap string, env []string, opts Options) (*Emulator, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	invokeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	runtimeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	e := &Emulator{
		url:        "http://" + invokeAddr,
		runtimeAPI: runtimeAddr,
		stdout:     testbin.NewBuffer("lambdarie"),
		stderr:     newInitLog(),
		exited:     make(chan struct{}),
		turn:       make(chan struct{}, 1),
		client: &http.Client{Transport: &http.Transport{
			Proxy:       nil, // loopback only, whatever HTTP_PROXY says
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		}},
	}
	cmd := exec.Command(rieBin,
		"--log-level", "info", // not the function's LOG_LEVEL; info logs INIT REPORT
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	cmd.Env = env
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Stdout = tee(e.stdout, opts.Stdout)
	cmd.Stderr = tee(e.stderr, opts.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = stopGrace // bound the output copy should a function outlive the emulator
	e.cmd = cmd

	e.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lambdarie: starting %s: %w", rieBin, err)
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for _, addr := range []string{invokeAddr, runtimeAddr} {
		for !accepts(ctx, addr) {
			select {
			case <-e.exited:
				return nil, fmt.Errorf("lambdarie: %w (%v); its log:\n%s", errExitedEarly, e.waitErr, testbin.Tail(e.stderr.String()))
			case <-ctx.Done():
				_ = e.Close()
				return nil, fmt.Errorf("lambdarie: waiting for the emulator on %s: %w; its log:\n%s", addr, context.Cause(ctx), testbin.Tail(e.stderr.String()))
			case <-tick.C:
			}
		}
	}
	e.ready = time.Now()
	return e, nil
}

func (o Options) environ(taskRoot string) ([]string, error) {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < time.Second || o.Timeout%time.Second != 0 {
		return nil, fmt.Errorf("lambdarie: timeout %v: the emulator accepts whole seconds, at least 1s", o.Timeout)
	}
	if o.FunctionName == "" {
		o.FunctionName = DefaultFunctionName
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = DefaultMemoryMB
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_REGION=" + o.Region,
		"AWS_DEFAULT_REGION=" + o.Region,
		"AWS_LAMBDA_FUNCTION_NAME=" + o.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(o.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(o.Timeout/time.Second)),
	}
	env = append(env, o.Env...)
	final := map[string]string{} // exec keeps the last of duplicate keys
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("lambdarie: environment entry %q is not KEY=VALUE", kv)
		}
		final[k] = v
	}
	if _, ok := final["AWS_LAMBDA_MAX_CONCURRENCY"]; ok {
		return nil, errors.New("lambdarie: AWS_LAMBDA_MAX_CONCURRENCY switches the emulator to Lambda Managed Instances mode; not supported")
	}
	if n, err := strconv.Atoi(final["AWS_LAMBDA_FUNCTION_TIMEOUT"]); err != nil || n < 1 {
		return nil, fmt.Errorf("lambdarie: AWS_LAMBDA_FUNCTION_TIMEOUT=%q: the emulator accepts whole seconds, at least 1", final["AWS_LAMBDA_FUNCTION_TIMEOUT"])
	}
	return env, nil
}

// URL is the emulator's base URL, http://127.0.0.1:port.
func (e *Emulator) URL() string { return e.url }

// RuntimeAPI is the runtime API address the function talks to
// (AWS_LAMBDA_RUNTIME_API).
func (e *Emulator) RuntimeAPI() string { return e.runtimeAPI }

// Started is the time taken just before the emulator was forked and exec'd.
func (e *Emulator) Started() time.Time { return e.started }

// Ready is when both of the emulator's ports first accepted a connection.
// The function itself is not running yet: the first Invoke starts it.
func (e *Emulator) Ready() time.Time { return e.ready }

// Invoke posts payload to the invoke endpoint and returns the status and
// body. A handler error and a timeout both come back as status 200 (see
// ParseError, IsTimeout). Concurrent calls take turns. err is non-nil only
// when no answer could be read (ctx done, emulator gone).
func (e *Emulator) Invoke(ctx context.Context, payload []byte) (status int, body []byte, err error) {
	return e.InvokeWithID(ctx, "", payload)
}

// InvokeWithID is Invoke with the request ID the function sees
// (lambdacontext AwsRequestID), sent as X-Amzn-RequestId; empty means the
// emulator makes a UUID.
func (e *Emulator) InvokeWithID(ctx context.Context, requestID string, payload []byte) (int, []byte, error) {
	select {
	case e.turn <- struct{}{}:
		defer func() { <-e.turn }()
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("lambdarie: waiting for the previous invocation: %w", context.Cause(ctx))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+InvokePath, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("lambdarie: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if requestID != "" {
		req.Header.Set("X-Amzn-RequestId", requestID)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("lambdarie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("lambdarie: reading the response: %w", err)
	}
	if len(body) > maxResponse {
		return resp.StatusCode, nil, fmt.Errorf("lambdarie: response over %d bytes", maxResponse)
	}
	return resp.StatusCode, body, nil
}

// InitDuration waits (as long as ctx allows) for the i-th initialisation of
// the function (0: the cold start; another follows each timeout or crash)
// and returns its duration as the emulator measured it: from just before it
// exec'd the bootstrap until the function first asked for an event
// (GET /runtime/invocation/next), at microsecond resolution, from the
// "INIT REPORT(durationMs: X)" line of its log.
func (e *Emulator) InitDuration(ctx context.Context, i int) (time.Duration, error) {
	for {
		d, ok, changed := e.stderr.init(i)
		if ok {
			return d, nil
		}
		select {
		case <-changed:
		case <-e.exited:
			if d, ok, _ := e.stderr.init(i); ok {
				return d, nil
			}
			return 0, fmt.Errorf("lambdarie: emulator exited before init %d was reported", i)
		case <-ctx.Done():
			return 0, fmt.Errorf("lambdarie: waiting for init %d: %w", i, context.Cause(ctx))
		}
	}
}

// Inits returns the init durations reported so far.
func (e *Emulator) Inits() []time.Duration { return e.stderr.all() }

// Output returns the emulator's stdout so far: the function's stdout and
// stderr, between the emulator's START/END/REPORT lines.
func (e *Emulator) Output() string { return e.stdout.String() }

// FunctionLines returns Output's complete lines that the function wrote,
// without the emulator's START, END and REPORT lines and empty lines.
func (e *Emulator) FunctionLines() []string {
	var lines []string
	for _, line := range testbin.CompleteLines(e.Output()) {
		if line == "" || strings.HasPrefix(line, "START RequestId: ") ||
			strings.HasPrefix(line, "END RequestId: ") || strings.HasPrefix(line, "REPORT RequestId: ") {
			continue
		}
		lines = append(lines, line)
	}
	return lines
}

// Log returns the emulator's own log (its stderr) so far.
func (e *Emulator) Log() string { return e.stderr.String() }

// Exited is closed once the emulator has exited.
func (e *Emulator) Exited() <-chan struct{} { return e.exited }

// Close stops the emulator and its function gracefully: SIGTERM to the
// emulator, which passes SIGTERM on to a function registered for it
// (lambda.WithEnableSIGTERM), gives it up to 2 s of shutdown, kills it and
// exits; then SIGKILL to the emulator's process group if it is still running
// after a grace period, and to any function process group left behind (the
// emulator starts the function in a group of its own). It returns an error
// only when something could not be stopped. Safe to call more than once;
// after the first call of Close or Kill the others do nothing.
func (e *Emulator) Close() error { return e.stop(true) }

// Kill stops the emulator and its function at once with SIGKILL, skipping
// the shutdown phase: for benchmarks that start many emulators.
func (e *Emulator) Kill() error { return e.stop(false) }

func (e *Emulator) stop(graceful bool) error {
	e.closeOnce.Do(func() {
		e.client.CloseIdleConnections()
		select {
		case <-e.exited:
			return
		default:
		}
		pid := e.cmd.Process.Pid
		kids := children(pid)
		exited := false
		if graceful {
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			select {
			case <-e.exited:
				exited = true
			case <-time.After(stopGrace):
			}
		}
		if !exited {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-e.exited:
			case <-time.After(stopGrace):
				e.closeErr = fmt.Errorf("lambdarie: emulator pid %d still running %v after SIGKILL", pid, stopGrace)
			}
		}
		for _, k := range kids {
			if syscall.Kill(k, 0) == nil {
				_ = syscall.Kill(-k, syscall.SIGKILL)
			}
		}
	})
	return e.closeErr
}

// FunctionError is the body of an invocation whose handler returned an error
// or panicked.
type FunctionError struct {
	Message    string          `json:"errorMessage"`
	Type       string          `json:"errorType"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

// ParseError reports whether body is a function error, and decodes it.
func ParseError(body []byte) (FunctionError, bool) {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || (fe.Message == "" && fe.Type == "") {
		return FunctionError{}, false
	}
	return fe, true
}

// IsTimeout reports whether body is the emulator's timeout answer.
func IsTimeout(body []byte) bool { return bytes.HasPrefix(body, []byte("Task timed out after ")) }

// accepts reports whether addr accepts a TCP connection right now.
func accepts(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: 100 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freePorts returns n ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("lambdarie: finding a free port: %w", err)
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// children lists the processes whose parent is pid, from /proc (Linux);
// elsewhere it finds none and Close relies on the emulator's own shutdown.
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, ent := range entries {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

func tee(buf io.Writer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}
