package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// demoSample is one sample event of events/ and what it shows.
type demoSample struct {
	file, what string
}

// The samples in the order the demo runs them, per platform. Each platform
// starts from a freshly seeded emulator, so both show the same story: named
// invitations cancelled, final ones skipped, a sweep finding the stale one
// nobody named, and redelivered IDs coming back skipped.
var demoPlatforms = []struct {
	platform, title string
	samples         []demoSample
}{
	{logging.PlatformAWS, "AWS Lambda handler", []demoSample{
		{"aws-schedule-input.json", "EventBridge Scheduler input: a dry-run sweep of invitations older than 3 days"},
		{"aws-sqs.json", "SQS batch of 3 messages naming invitations"},
		{"aws-scheduled-event.json", "EventBridge schedule: a sweep with the configured policy (STALE_AFTER=7d)"},
		{"policy-sweep.json", "a sweep with a target policy: the fresh invitation to an outsider is cancelled (reason target_not_allowed)"},
		{"direct.json", "direct invocation naming a missing, a cancelled and an invalid ID"},
	}},
	{logging.PlatformFC, "Function Compute handler", []demoSample{
		{"fc-mns-queue.json", "MNS queue message (base64 body) through EventBridge"},
		{"fc-mns-queue-batch.json", "MNS queue batch of 2 messages (event streaming)"},
		{"fc-mns-topic.json", "MNS topic message, JSON format"},
		{"fc-timer.json", "timer trigger whose payload names two invitations"},
		{"fc-timer-sweep.json", "timer trigger with an empty payload: a sweep"},
		{"policy-sweep.json", "a sweep with a target policy: the fresh invitation to an outsider is cancelled (reason target_not_allowed)"},
		{"direct.json", "direct invocation naming a missing, a cancelled and an invalid ID"},
	}},
}

// cmdDemo runs every sample event through the real handlers against an
// in-process emulator: what `make run` shows. No account, no network. The
// last part runs the AWS handler on AWS Organizations, against pkg/orgemu.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("janitor demo", flag.ContinueOnError)
	dir := fs.String("events", "events", "directory of the sample events and emulator/seed.json")
	var lf logFormat
	lf.register(fs)
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := lf.check(); err != nil {
		return err
	}
	for _, p := range demoPlatforms {
		logger := lf.logger(stdout, config.DefaultLogLevel, getenv)
		if err := demoPlatform(ctx, *dir, p.platform, p.title, p.samples, logger, stdout); err != nil {
			return err
		}
	}
	if err := demoOrganizations(ctx, *dir, lf.logger(stdout, config.DefaultLogLevel, getenv), stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Each sample above printed the function's log lines (one per invitation, then the invocation summary)")
	fmt.Fprintln(stdout, "and the answer the platform receives. The functions write them as JSON lines: janitor demo -log-format json.")
	fmt.Fprintln(stdout, "Run one yourself: janitor invoke -platform aws -event events/aws-sqs.json")
	return nil
}

func demoPlatform(ctx context.Context, dir, platform, title string, samples []demoSample, logger zerolog.Logger, w io.Writer) error {
	emu := rmemu.New(rmemu.Options{})
	seed, err := os.Open(filepath.Join(dir, "emulator", "seed.json"))
	if err != nil {
		return fmt.Errorf("demo: %w (run it from the repository's root, or give -events)", err)
	}
	err = emu.LoadSeed(seed)
	seed.Close()
	if err != nil {
		return err
	}
	endpoint, stop, err := serveEmulator(ctx, "rmemu", emu)
	if err != nil {
		return err
	}
	defer stop()

	cfg := config.Default()
	cfg.Endpoint = endpoint
	creds := resourcemanager.StaticCredentials(resourcemanager.Credentials{
		AccessKeyID: rmemu.TestAccessKeyID, AccessKeySecret: rmemu.TestAccessKeySecret,
	})
	h, err := handler.New(platform, cfg, logger, creds)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n==== %s, against the emulator at %s seeded with %d invitations (events/README.md) ====\n", title, endpoint, emu.Len())
	for i, s := range samples {
		payload, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n---- events/%s: %s\n", s.file, s.what)
		inv := handler.Invocation{ID: fmt.Sprintf("demo-%s-%d", platform, i+1)}
		if platform == logging.PlatformFC {
			// FC hands each invocation its role's temporary credentials.
			inv.Credentials = &resourcemanager.Credentials{
				AccessKeyID: rmemu.TestSTSAccessKeyID, AccessKeySecret: rmemu.TestSTSAccessKeySecret,
				SecurityToken: rmemu.TestSecurityToken,
			}
		}
		var resp any
		if platform == logging.PlatformFC {
			resp, err = h.FC(ctx, inv, payload)
		} else {
			resp, err = h.AWS(ctx, inv, payload)
		}
		if err != nil {
			fmt.Fprintf(w, "=> the invocation fails, so the platform retries it: %v\n", err)
			continue
		}
		out, _ := json.MarshalIndent(resp, "   ", "  ")
		fmt.Fprintf(w, "=> response:\n   %s\n", out)
	}
	fmt.Fprintln(w, "\nInvitations in the emulator now:")
	for _, hs := range emu.Handshakes() {
		fmt.Fprintf(w, "  %s  %-9s  %s\n", hs.HandshakeID, hs.Status, hs.Note)
	}
	return nil
}

// serveEmulator serves emu (named name in errors) on a free loopback port
// until stop is called.
func serveEmulator(ctx context.Context, name string, emu http.Handler) (endpoint string, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- emulator.ListenAndServe(ctx, name, "127.0.0.1:0", emu, func(e string) { ready <- e }) }()
	select {
	case endpoint = <-ready:
	case err = <-done:
		cancel()
		return "", nil, err
	}
	var once sync.Once
	return endpoint, func() { once.Do(func() { cancel(); <-done }) }, nil
}
