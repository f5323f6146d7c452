package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// emulatorLifetime bounds how long an emulator child serves, should its
// parent vanish without closing its stdin or the kernel's parent-death
// signal be lost.
const emulatorLifetime = 15 * time.Minute

// statsPath is the control path the emulator child serves beside the API:
// its counters as JSON. It bypasses the emulator's authentication and fault
// injection; only the bench process, which started the child on a loopback
// port, calls it.
const statsPath = "/_bench/stats"

// cmdEmulator is the hidden subcommand `bench emulator`: rmemu in a process
// of its own, so that the janitor's CPU time and memory are measured without
// the service's. It prints "endpoint http://127.0.0.1:PORT" once listening
// and serves until its stdin is closed (the parent closes it, or dies).
func cmdEmulator(args []string) error {
	fs := flag.NewFlagSet("bench emulator", flag.ContinueOnError)
	latency := fs.Duration("latency", 0, "added latency per answer")
	rateLimit := fs.Float64("rate-limit", 0, "server-side limit in requests/s (0: none); beyond it, 400 Throttling.User")
	rateBurst := fs.Int("rate-burst", 0, "requests the server-side limit lets through at once (0: one second's worth)")
	throttleRate := fs.Float64("throttle-rate", 0, "fraction of requests answered 400 Throttling.User at random (a quota shared with others)")
	generate := fs.Int("generate", 0, "invitations to generate")
	stale := fs.Int("stale", 0, "of which stale Pending (the rest: 9 fresh Pending to 1 final)")
	seed := fs.Uint64("seed", 1, "random seed (invitation IDs, faults)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *generate < 0 || *stale < 0 || *stale > *generate {
		return fmt.Errorf("-generate %d -stale %d: want 0 <= stale <= generate", *generate, *stale)
	}
	faults := rmemu.Faults{Latency: *latency, RateLimit: *rateLimit, RateBurst: *rateBurst, ThrottleRate: *throttleRate}
	if err := faults.Validate(); err != nil {
		return err
	}
	srv := rmemu.New(rmemu.Options{Faults: faults, RandSeed: *seed})
	if *generate > 0 {
		if err := srv.Seed(rmemu.Generate(generateOptions(*generate, *stale, *seed))...); err != nil {
			return err
		}
	}

	return serveChild(srv, func() any { return srv.Stats() })
}

// serveChild serves api beside statsPath (stats' value as JSON) on a free
// loopback port, prints "endpoint http://127.0.0.1:PORT", and serves until
// its stdin is closed (the parent closes it, or dies) or emulatorLifetime
// has passed.
func serveChild(api http.Handler, stats func() any) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(stats())
	})
	mux.Handle("/", api)

	ctx, cancel := context.WithTimeout(context.Background(), emulatorLifetime)
	defer cancel()
	go func() {
		// Serve until the parent closes our stdin (or dies).
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Printf("endpoint http://%s\n", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	hs.Shutdown(shut)
	return nil
}

// generateOptions splits n invitations into exactly stale stale Pending
// ones, and the rest 9 fresh Pending to 1 final (Accepted, Cancelled,
// Declined, Expired), so that a sweep selects exactly stale of them.
func generateOptions(n, stale int, seed uint64) rmemu.GenerateOptions {
	rest := n - stale
	final := rest / 10
	return rmemu.GenerateOptions{Count: n, Stale: float64(stale), Final: float64(final), Fresh: float64(rest - final), Seed: seed}
}

// emulator is a running `bench emulator` child.
type emulator struct {
	Endpoint string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	client   *http.Client
	done     chan error
}

// startEmulator starts `bench emulator args...` and waits for its endpoint.
func startEmulator(ctx context.Context, args ...string) (*emulator, error) {
	return startEmulatorCommand(ctx, "emulator", args...)
}

// startEmulatorCommand starts `bench <command> args...`, an emulator
// subcommand that prints "endpoint URL" once listening and serves until
// its stdin closes, and waits for its endpoint.
func startEmulatorCommand(ctx context.Context, command string, args ...string) (*emulator, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{command}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	e := &emulator{cmd: cmd, stdin: stdin, done: make(chan error, 1), client: &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		Timeout:   30 * time.Second,
	}}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "endpoint "); ok {
				lines <- ep
			}
		}
		close(lines)
		e.done <- cmd.Wait()
	}()
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	select {
	case ep, ok := <-lines:
		if !ok {
			return nil, errors.New("the emulator exited before listening")
		}
		e.Endpoint = ep
		return e, nil
	case <-wait.Done():
		e.Close()
		return nil, fmt.Errorf("waiting for the emulator: %w", wait.Err())
	}
}

// Stats returns the counters of a `bench emulator` child.
func (e *emulator) Stats(ctx context.Context) (rmemu.Stats, error) {
	var st rmemu.Stats
	return st, e.statsInto(ctx, &st)
}

// statsInto decodes the emulator child's counters into v.
func (e *emulator) statsInto(ctx context.Context, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Endpoint+statsPath, nil)
	if err != nil {
		return err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("emulator stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("emulator stats: %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Close stops the emulator: its stdin closes, it shuts down; it is killed
// if that takes more than a few seconds.
func (e *emulator) Close() {
	e.client.CloseIdleConnections()
	e.stdin.Close()
	select {
	case <-e.done:
	case <-time.After(7 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}
