package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// orgEmulatorFlags are the emulator command's flags, for the AWS
// Organizations emulator.
type orgEmulatorFlags struct {
	addr, seed           string
	generate             int
	staleShare           float64
	latency, jitter      time.Duration
	rateLimit, errorRate float64
	quiet                bool
}

// serveOrganizations serves the AWS Organizations emulator (pkg/orgemu)
// until ctx is done, and prints the environment that points an AWS SDK
// client at it.
func serveOrganizations(ctx context.Context, f orgEmulatorFlags, stdout io.Writer) error {
	faults := orgemu.Faults{Latency: f.latency, Jitter: f.jitter, RateLimit: f.rateLimit, ErrorRate: f.errorRate}
	if err := faults.Validate(); err != nil {
		return &exitError{exitUsage, err}
	}
	srv := orgemu.New(orgemu.Options{Faults: faults, RandSeed: uint64(time.Now().UnixNano())})
	if f.seed != "" {
		file, err := os.Open(f.seed)
		if err != nil {
			return &exitError{exitUsage, err}
		}
		err = srv.LoadSeed(file)
		file.Close()
		if err != nil {
			return &exitError{exitUsage, err}
		}
	}
	if f.generate > 0 {
		o := orgemu.GenerateOptions{Count: f.generate, Seed: 1}
		if f.staleShare >= 0 {
			if f.staleShare > 1 {
				return &exitError{exitUsage, fmt.Errorf("-stale-share %v: want 0 to 1", f.staleShare)}
			}
			o.Stale, o.Fresh = f.staleShare, 1-f.staleShare
		}
		if err := srv.Seed(orgemu.Generate(o)...); err != nil {
			return err
		}
	}
	return orgemu.ListenAndServe(ctx, f.addr, srv, func(endpoint string) {
		if f.quiet {
			fmt.Fprintln(stdout, endpoint)
			return
		}
		fmt.Fprintf(stdout, `AWS Organizations emulator serving %d handshake(s) of %s on %s (Ctrl-C stops it).
Point an AWS SDK client or the AWS CLI at it from another shell:

  export AWS_ENDPOINT_URL_ORGANIZATIONS=%s
  export AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=%s
  export AWS_SECRET_ACCESS_KEY=%s   # the emulator's well-known test key
  aws organizations list-handshakes-for-organization

`, srv.Len(), srv.OrganizationID(), endpoint, endpoint, orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey)
	})
}
