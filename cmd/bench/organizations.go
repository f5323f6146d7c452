package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// Figure 5: an AWS Organizations sweep against the service's rate limit.
// The janitor CLI, DIRECTORY=aws-organizations, sweeps orgStale stale
// invitations from pkg/orgemu in a process of its own, with 20 ms of latency
// and a server-side limit of Q requests/s (burst orgBurst), at
// API_QPS = 0.95 Q; the wall time is the janitor process's, start-up
// included. Baseline: the official SDK client, as a user would write it
// (its standard retryer on), listing then cancelling one at a time.
//
// Two limits: Q = 100/s, figure 1's, and Q = 50/s. The figure with the
// target (0.9 Q) is the rate of requests served, listing included: how much
// of the limit the sweep uses. Cancels alone are bounded lower: the
// blast-radius guard needs the whole listing before the first cancel, a
// listing is a chain of round trips of 20 handshakes each, and its requests
// count against the same limit, so cancels per second are at most
// Q / max(Q L / 20 + 1/0.95, 1.05/0.95) with latency L: 0.868 Q at 100/s,
// 0.905 Q at 50/s (docs/performance.md).
var orgLimits = []float64{100, 50}

const (
	orgBurst   = tpBurst
	orgStale   = 1000
	orgLatency = tpLatency
	// orgRunTimeout bounds one run; a sweep takes about 11 s at 100/s and
	// 22 s at 50/s, the sequential baseline about 22 s.
	orgRunTimeout = 150 * time.Second
)

// cmdOrgEmulator is the hidden subcommand `bench org-emulator`: pkg/orgemu
// in a process of its own, serving -stale stale invitations (and nothing
// else), as cmdEmulator serves rmemu.
func cmdOrgEmulator(args []string) error {
	fs := flag.NewFlagSet("bench org-emulator", flag.ContinueOnError)
	latency := fs.Duration("latency", 0, "added latency per answer")
	rateLimit := fs.Float64("rate-limit", 0, "server-side limit in requests/s (0: none); beyond it, 429 TooManyRequestsException")
	rateBurst := fs.Int("rate-burst", 0, "requests the server-side limit lets through at once (0: one second's worth)")
	stale := fs.Int("stale", 0, "stale OPEN invitations to generate")
	seed := fs.Uint64("seed", 1, "random seed (handshake IDs, faults)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stale < 0 {
		return fmt.Errorf("-stale %d: want 0 or more", *stale)
	}
	faults := orgemu.Faults{Latency: *latency, RateLimit: *rateLimit, RateBurst: *rateBurst}
	if err := faults.Validate(); err != nil {
		return err
	}
	srv := orgemu.New(orgemu.Options{Faults: faults, RandSeed: *seed})
	if err := srv.Seed(orgSeed(*stale, *seed)...); err != nil {
		return err
	}
	return serveChild(srv, func() any { return srv.Stats() })
}

// orgSeed returns n stale OPEN invitations (and nothing else): every one a
// sweep with the default STALE_AFTER and no target policy cancels.
func orgSeed(n int, seed uint64) []orgemu.Handshake {
	return orgemu.Generate(orgemu.GenerateOptions{Count: n, Stale: 1, StaleAfter: staleAfter, Seed: seed})
}

// startOrgEmulator starts the Organizations emulator of figure 5 with a
// limit of q requests/s, seeded.
func startOrgEmulator(ctx context.Context, q float64, seed int) (*emulator, error) {
	return startEmulatorCommand(ctx, "org-emulator",
		"-latency", orgLatency.String(),
		"-rate-limit", strconv.FormatFloat(q, 'f', -1, 64), "-rate-burst", strconv.Itoa(orgBurst),
		"-stale", strconv.Itoa(orgStale), "-seed", strconv.Itoa(seed))
}

// orgStats returns an Organizations emulator child's counters.
func orgStats(ctx context.Context, e *emulator) (orgemu.Stats, error) {
	var st orgemu.Stats
	return st, e.statsInto(ctx, &st)
}

// orgSweep runs `janitor sweep` with DIRECTORY=aws-organizations and
// API_QPS = 0.95 q against a fresh emulator limited to q: the standard AWS
// environment (static keys, region, AWS_ENDPOINT_URL_ORGANIZATIONS),
// nothing else from this process's.
func orgSweep(ctx context.Context, bin string, q float64, seed int) (tpRun, error) {
	emu, err := startOrgEmulator(ctx, q, seed)
	if err != nil {
		return tpRun{}, err
	}
	defer emu.Close()
	home, err := os.MkdirTemp("", "bench-home-")
	if err != nil {
		return tpRun{}, err
	}
	defer os.RemoveAll(home)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		config.EnvDirectory + "=" + directory.AWSOrganizations.Name,
		"AWS_ENDPOINT_URL_ORGANIZATIONS=" + emu.Endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + orgemu.TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + orgemu.TestSecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
		config.EnvAPIQPS + "=" + strconv.FormatFloat(0.95*q, 'f', -1, 64),
		config.EnvMaxCancellations + "=" + strconv.Itoa(orgStale),
		config.EnvLogLevel + "=warn",
	}
	run, err := runChild(ctx, orgRunTimeout, bin, []string{"sweep", "-output", "json"}, env)
	if err != nil {
		return tpRun{}, err
	}
	var rep sweepSummary
	if err := json.Unmarshal(run.stdout, &rep); err != nil {
		return tpRun{}, fmt.Errorf("janitor sweep report: %w", err)
	}
	es, err := orgStats(ctx, emu)
	if err != nil {
		return tpRun{}, err
	}
	return tpRun{
		wall: run.wall, stale: orgStale, cancelled: rep.Summary.Cancelled, failed: rep.Summary.Failed,
		results: rep.Summary.Cancelled + rep.Summary.Failed, requests: es.Requests, throttled: es.Throttled,
	}, nil
}

// orgLoop is the baseline: the official SDK client with its defaults (the
// standard retryer), listing every handshake, then cancelling the stale
// open invitations one after the other.
func orgLoop(ctx context.Context, q float64, seed int) (tpRun, error) {
	ctx, cancel := context.WithTimeout(ctx, orgRunTimeout)
	defer cancel()
	emu, err := startOrgEmulator(ctx, q, seed)
	if err != nil {
		return tpRun{}, err
	}
	defer emu.Close()
	client := sdk.New(sdk.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(emu.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, ""),
	})
	start := time.Now()
	cutoff := start.Add(-staleAfter)
	var ids []string
	pages := sdk.NewListHandshakesForOrganizationPaginator(client, &sdk.ListHandshakesForOrganizationInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return tpRun{}, err
		}
		for _, h := range page.Handshakes {
			open := h.State == types.HandshakeStateOpen || h.State == types.HandshakeStateRequested
			if h.Action == types.ActionTypeInviteAccountToOrganization && open && h.RequestedTimestamp != nil && h.RequestedTimestamp.Before(cutoff) {
				ids = append(ids, aws.ToString(h.Id))
			}
		}
	}
	run := tpRun{stale: orgStale}
	for _, id := range ids {
		run.results++
		if _, err := client.CancelHandshake(ctx, &sdk.CancelHandshakeInput{HandshakeId: aws.String(id)}); err != nil {
			run.failed++
			continue
		}
		run.cancelled++
	}
	run.wall = time.Since(start)
	es, err := orgStats(ctx, emu)
	if err != nil {
		return tpRun{}, err
	}
	run.requests, run.throttled = es.Requests, es.Throttled
	return run, nil
}

func logOrgRun(r tpRun) {
	logf("  %d cancelled in %v (%.1f/s), %d failed, %d requests (%.1f/s), %d throttled",
		r.cancelled, r.wall.Round(time.Millisecond), r.perSecond(), r.failed, r.requests, float64(r.requests)/r.wall.Seconds(), r.throttled)
}

// benchOrganizations measures figure 5.
func benchOrganizations(ctx context.Context, res *results, o options) error {
	for i, q := range orgLimits {
		qps := 0.95 * q
		logf("organizations: Q=%g/s (burst %d), latency %v, %d stale invitations: official SDK loop (baseline)", q, orgBurst, orgLatency, orgStale)
		base, err := orgLoop(ctx, q, 41+10*i)
		if err != nil {
			return fmt.Errorf("organizations Q=%g baseline: %w", q, err)
		}
		logOrgRun(base)
		logf("organizations: janitor sweep, DIRECTORY=aws-organizations, API_QPS=%g", qps)
		run, err := orgSweep(ctx, o.janitor, q, 42+10*i)
		if err != nil {
			return fmt.Errorf("organizations Q=%g sweep: %w", q, err)
		}
		logOrgRun(run)
		if run.failed > 0 || run.cancelled != orgStale {
			res.notef("organizations Q=%g: %d of %d cancelled, %d failed", q, run.cancelled, orgStale, run.failed)
		}
		p := fmt.Sprintf("throughput.organizations.q_%g.api_qps_%g.", q, qps)
		res.add(Figure{Name: p + "wall_time", Value: run.wall.Seconds(), Unit: "s", Better: lower, Baseline: ptr(base.wall.Seconds())})
		res.add(Figure{Name: p + "cancels_per_second", Value: run.perSecond(), Unit: "1/s", Better: higher, Baseline: ptr(base.perSecond())})
		// The target is on the requests the sweep gets served, listing
		// included: how much of the service's limit it uses. Cancels alone
		// are bounded below that by the listing (see above).
		res.add(Figure{Name: p + "fraction_of_q", Value: run.perSecond() / q, Unit: "Q", Better: higher, Baseline: ptr(base.perSecond() / q)})
		res.add(Figure{Name: p + "requests_fraction_of_q", Value: float64(run.requests) / run.wall.Seconds() / q, Unit: "Q", Target: ptr(0.9), Better: higher, Baseline: ptr(float64(base.requests) / base.wall.Seconds() / q)})
		res.add(Figure{Name: p + "throttled_responses", Value: run.throttledPct(), Unit: "%", Target: ptr(1), Better: lower, Baseline: ptr(base.throttledPct())})
	}
	return nil
}
