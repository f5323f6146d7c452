package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// cmdEmulator serves the Resource Manager emulator (or, with -directory
// aws-organizations, the AWS Organizations one) on a loopback address until
// interrupted, and prints the environment that points a client at it.
func cmdEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("janitor emulator", flag.ContinueOnError)
	directory := fs.String("directory", "resource-directory", "the directory to emulate: resource-directory (Alibaba Cloud Resource Manager) or aws-organizations")
	addr := fs.String("addr", "127.0.0.1:8088", "listen address: a loopback host and a port (0 for any free port)")
	seed := fs.String("seed", "", "seed file: JSON invitations in the API's shape, or {\"generate\":{...}} (see pkg/rmemu)")
	generate := fs.Int("generate", 0, "also generate this many invitations (60% fresh, 30% stale, 10% final unless -stale-share is set)")
	staleShare := fs.Float64("stale-share", -1, "with -generate: the share of stale Pending invitations, 0 to 1 (the rest fresh)")
	latency := fs.Duration("latency", 0, "added latency per request")
	jitter := fs.Duration("jitter", 0, "random extra latency per request, up to this")
	rateLimit := fs.Float64("rate-limit", 0, "server-side limit in requests per second, answering Throttling.User beyond it (0: none)")
	errorRate := fs.Float64("error-rate", 0, "share of requests answered 503 ServiceUnavailable or 500 InternalError, 0 to 1")
	quiet := fs.Bool("quiet", false, "print only the endpoint line")
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{exitUsage, fmt.Errorf("emulator takes no arguments, got %q", fs.Args())}
	}
	switch *directory {
	case "resource-directory":
	case "aws-organizations":
		return serveOrganizations(ctx, orgEmulatorFlags{addr: *addr, seed: *seed, generate: *generate, staleShare: *staleShare,
			latency: *latency, jitter: *jitter, rateLimit: *rateLimit, errorRate: *errorRate, quiet: *quiet}, stdout)
	default:
		return &exitError{exitUsage, fmt.Errorf("-directory %q: want resource-directory or aws-organizations", *directory)}
	}
	faults := rmemu.Faults{Latency: *latency, Jitter: *jitter, RateLimit: *rateLimit, ErrorRate: *errorRate}
	if err := faults.Validate(); err != nil {
		return &exitError{exitUsage, err}
	}
	srv := rmemu.New(rmemu.Options{Faults: faults, RandSeed: uint64(time.Now().UnixNano())})
	if *seed != "" {
		f, err := os.Open(*seed)
		if err != nil {
			return &exitError{exitUsage, err}
		}
		err = srv.LoadSeed(f)
		f.Close()
		if err != nil {
			return &exitError{exitUsage, err}
		}
	}
	if *generate > 0 {
		o := rmemu.GenerateOptions{Count: *generate, Seed: 1}
		if *staleShare >= 0 {
			if *staleShare > 1 {
				return &exitError{exitUsage, fmt.Errorf("-stale-share %v: want 0 to 1", *staleShare)}
			}
			o.Stale, o.Fresh = *staleShare, 1-*staleShare
		}
		if err := srv.Seed(rmemu.Generate(o)...); err != nil {
			return err
		}
	}
	return rmemu.ListenAndServe(ctx, *addr, srv, func(endpoint string) {
		if *quiet {
			fmt.Fprintln(stdout, endpoint)
			return
		}
		fmt.Fprintf(stdout, `Resource Manager emulator serving %d invitation(s) on %s (Ctrl-C stops it).
Point janitor at it from another shell:

  export RESOURCEMANAGER_ENDPOINT=%s
  export ALIBABA_CLOUD_ACCESS_KEY_ID=%s
  export ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s   # the emulator's well-known test key
  janitor sweep --dry-run

`, srv.Len(), endpoint, endpoint, rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret)
	})
}
