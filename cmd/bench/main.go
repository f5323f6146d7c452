// Command bench measures handshake-janitor on this machine, each figure
// beside the way a user would do the same by hand (measured in the same
// run), prints one table and writes bench/results.json. `make bench` runs it
// after building the shipped binaries.
//
// The five measurements:
//
//   - throughput: a sweep of 2,000 stale invitations through the engine,
//     against the emulator in a process of its own with 20 ms of latency and
//     a server-side limit of Q = 100 requests/s (burst 5), at API_QPS=95 and
//     200; and a sweep of 200 under a quota shared with others (no limit of
//     the emulator's own, a fifth of the requests throttled at random,
//     API_QPS=50, API_CONCURRENCY=4); baseline: a sequential
//     CancelHandshake loop through the same client, in the same setting;
//   - cost: CPU time of a `janitor sweep` process per cancelled invitation
//     against a zero-latency emulator process (median of five rounds, also
//     at GOMAXPROCS=1), no more than the official client's loop in the same
//     run, and allocations and bytes per CancelHandshake
//     (testing.Benchmark); baseline: the same through the official OpenAPI
//     client (linked into this program only); with -profile, CPU and
//     allocation profiles of the client and of a whole engine sweep;
//   - cold start: the AWS function under the Lambda Runtime Interface
//     Emulator and the FC function under the FC runtime test server, median
//     init time and time to the first response over several starts, and the
//     shipped binaries' sizes; baseline: a minimal function on each SDK;
//   - memory: peak RSS (VmHWM, median of five runs) of `janitor sweep
//     --dry-run` over 10,000 and 100,000 invitations; baseline: a loop that
//     first collects the whole listing;
//   - organizations: an AWS Organizations sweep (`janitor sweep`,
//     DIRECTORY=aws-organizations) of 1,000 stale invitations against
//     pkg/orgemu in a process of its own with 20 ms of latency and a limit
//     of Q = 100 and 50 requests/s (burst 5), at API_QPS = 0.95 Q: the
//     requests served and the cancels, per second, as fractions of Q;
//     baseline: the official SDK client listing, then cancelling one at a
//     time.
//
// Everything runs on 127.0.0.1; every loop and child process is bounded.
// The emulators and the baselines run as hidden subcommands of this program
// (`bench emulator`, `bench org-emulator`, `bench official-loop`) in
// processes of their own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	var err error
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "emulator":
			err = cmdEmulator(os.Args[2:])
			exit(err)
		case "official-loop":
			err = cmdOfficialLoop(os.Args[2:])
			exit(err)
		case "org-emulator":
			err = cmdOrgEmulator(os.Args[2:])
			exit(err)
		}
	}
	exit(run(os.Args[1:]))
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// options are the command line of a bench run.
type options struct {
	out        string
	janitor    string // the CLI binary
	awsFunc    string // the AWS function built for this machine
	fcFunc     string // the FC function built for this machine
	sizes      string // comma-separated shipped binaries to weigh
	only       string
	starts     int
	profileDir string
	timeout    time.Duration
}

var allParts = []string{"throughput", "cost", "coldstart", "memory", "organizations"}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "bench/results.json", "where to write the figures")
	fs.StringVar(&o.janitor, "janitor", "dist/bench/janitor", "the janitor CLI binary (built with the Makefile's flags)")
	fs.StringVar(&o.awsFunc, "aws", "dist/bench/bootstrap", "the AWS function binary, built for this machine with the Makefile's flags")
	fs.StringVar(&o.fcFunc, "fc", "dist/fc/main", "the FC function binary, runnable on this machine")
	fs.StringVar(&o.sizes, "sizes", "dist/aws/bootstrap,dist/fc/main", "the shipped binaries to weigh")
	fs.StringVar(&o.only, "only", strings.Join(allParts, ","), "measurements to run (comma-separated)")
	fs.IntVar(&o.starts, "starts", 12, "cold starts per function (median taken)")
	fs.StringVar(&o.profileDir, "profile", "", "write CPU and allocation profiles (client benchmark, engine sweep) into this directory")
	fs.DurationVar(&o.timeout, "timeout", 9*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	parts := strings.Split(o.only, ",")
	for _, p := range parts {
		if !slices.Contains(allParts, p) {
			return fmt.Errorf("-only %q: want some of %s", p, strings.Join(allParts, ","))
		}
	}
	if o.profileDir != "" {
		// Sample allocations finely enough to rank their sources, from
		// the start (as the runtime asks). Only this process's own
		// figures can feel it (allocations are counted exactly anyway),
		// not those of the child processes.
		runtime.MemProfileRate = 4096
	}
	if o.starts < 1 || o.starts > 100 {
		return fmt.Errorf("-starts %d: want 1 to 100", o.starts)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	logf("bench: %s/%s, %d CPUs, %s; %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
	start := time.Now()
	res := &results{}
	var errs []error
	steps := map[string]func(context.Context, *results) error{
		"throughput": benchThroughput,
		"cost":       func(ctx context.Context, r *results) error { return benchCost(ctx, r, o) },
		"coldstart":  func(ctx context.Context, r *results) error { return benchColdStart(ctx, r, o) },
		"memory":     func(ctx context.Context, r *results) error { return benchMemory(ctx, r, o) },
		"organizations": func(ctx context.Context, r *results) error {
			return benchOrganizations(ctx, r, o)
		},
	}
	for _, p := range allParts {
		if !slices.Contains(parts, p) {
			continue
		}
		t0 := time.Now()
		if err := steps[p](ctx, res); err != nil {
			res.notef("%s: %v", p, err)
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
		logf("%s: done in %v", p, time.Since(t0).Round(time.Millisecond))
	}
	fmt.Println()
	res.printTable(os.Stdout)
	fmt.Printf("\n%s/%s, %d CPUs (%s), %s; whole run %v\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), time.Since(start).Round(time.Second))
	if o.out != "" {
		if err := res.writeJSON(o.out); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Println("wrote", o.out)
		}
	}
	return errors.Join(errs...)
}

// logf reports progress on stderr; the table goes to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// cpuModel names this machine's processor, from /proc/cpuinfo (Linux).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
