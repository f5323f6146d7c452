package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/startup"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// engineFlags are the flags sweep and cancel share.
type engineFlags struct {
	dryRun bool
	output string
	log    logFormat
	dir    directoryFlag
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.dryRun, "dry-run", false, "report what would be cancelled, cancel nothing (DRY_RUN=true does the same)")
	fs.StringVar(&f.output, "output", "text", "report format on stdout: text (a table) or json")
	f.log.register(fs)
	f.dir.register(fs)
}

func (f *engineFlags) check() error {
	if f.output != "text" && f.output != "json" {
		return &exitError{exitUsage, fmt.Errorf("-output %q: want text or json", f.output)}
	}
	return f.log.check()
}

func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("janitor sweep", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	olderThan := fs.String("older-than", "", "a Pending invitation older than this is stale: Go duration or whole days like 7d (default STALE_AFTER)")
	maxN := -1 // not given: MAX_CANCELLATIONS
	fs.Func("max", "blast-radius guard: refuse a sweep that selects more than this; 0 allows no real cancellation (default MAX_CANCELLATIONS)", func(v string) error {
		n, err := parseMax(v)
		maxN = n
		return err
	})
	targetType := fs.String("target-type", "", "only invitations of this target type: Account or Email")
	targetEntity := fs.String("target-entity", "", "only invitations whose target entity matches this glob, e.g. '*@example.com'")
	var allow []string
	fs.Func("allow", "target policy for this run, replacing ALLOWED_TARGETS: an account ID of the directory (16 digits on resource-directory, 12 on aws-organizations), an e-mail address or a pattern like '*@example.com' (repeat it, or give a comma-separated list); a Pending invitation to any other target is cancelled whatever its age", func(v string) error {
		allow = append(allow, v)
		return nil
	})
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{exitUsage, fmt.Errorf("sweep takes no arguments, got %q (to cancel named invitations use 'janitor cancel')", fs.Args())}
	}
	if err := ef.check(); err != nil {
		return err
	}
	sweep := &janitor.Sweep{}
	if *olderThan != "" {
		d, err := config.ParseDuration(*olderThan)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("-older-than: %w", err)}
		}
		sweep.OlderThan = d
	}
	g, err := janitor.ParseGlob(*targetEntity)
	if err != nil {
		return &exitError{exitUsage, fmt.Errorf("-target-entity: %w", err)}
	}
	sweep.TargetEntity = g
	if len(allow) > 0 {
		k, err := ef.dir.kind(getenv)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("-directory: %w", err)}
		}
		p, err := targetpolicy.Parse(strings.Join(allow, ","), k)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("-allow: %w", err)}
		}
		if p.Empty() {
			return &exitError{exitUsage, errors.New("-allow: no pattern given: leave the flag out to use ALLOWED_TARGETS")}
		}
		sweep.AllowedTargets = p
	}
	if *targetType != "" {
		tt, err := handshake.ParseTargetType(*targetType)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("-target-type: %w", err)}
		}
		sweep.TargetType = tt
	}
	return runJob(ctx, janitor.Job{Sweep: sweep, DryRun: ef.dryRun}, "sweep", ef, maxN, stdout, stderr, getenv)
}

func cmdCancel(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("janitor cancel", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: janitor cancel [flags] h-XXXXXXXXXXXXXXXX...")
		fs.PrintDefaults()
	}
	var ef engineFlags
	ef.register(fs)
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{exitUsage, errors.New("cancel needs at least one invitation ID")}
	}
	if err := ef.check(); err != nil {
		return err
	}
	job := janitor.Job{Items: []janitor.Item{{Key: "command-line", IDs: fs.Args()}}, DryRun: ef.dryRun}
	return runJob(ctx, job, "cancel", ef, -1, stdout, stderr, getenv)
}

// parseMax reads -max as MAX_CANCELLATIONS is read: a whole number, 0 or
// more (config.ParseMaxCancellations).
func parseMax(v string) (int, error) {
	n, err := config.ParseMaxCancellations(v)
	if err != nil {
		return -1, errors.New(config.WantMaxCancellations)
	}
	return n, nil
}

// runJob builds the engine from the environment, runs job, and prints the
// Report. It fails when any result failed or the engine refused the job.
func runJob(ctx context.Context, job janitor.Job, trig string, ef engineFlags, maxN int, stdout, stderr io.Writer, getenv func(string) string) error {
	getenv = ef.dir.env(getenv)
	h, err := startup.New(ctx, startup.Options{Platform: logging.PlatformCLI, Getenv: getenv, Logger: func(level zerolog.Level) zerolog.Logger {
		return ef.log.logger(stderr, level, getenv)
	}})
	if err != nil {
		return startupError(err)
	}
	if err := requireCredentials(ctx, getenv); err != nil {
		return err
	}
	if maxN >= 0 {
		h.Engine.MaxCancellations = maxN
	}
	ctx = logging.WithInvocation(ctx, h.Logger, logging.Invocation{Platform: logging.PlatformCLI, Trigger: trig, ColdStart: true})
	report, runErr := h.Engine.Run(ctx, job)
	if err := printReport(stdout, &report, ef.output); err != nil {
		return err
	}
	if err := interruptedListing(ctx, runErr); err != nil {
		return err
	}
	if ge, ok := errors.AsType[*janitor.GuardError](runErr); ok {
		return &exitError{exitFailed, fmt.Errorf("refused: the sweep selected %d invitations, more than the limit of %d; none was cancelled: narrow the sweep (--older-than, --target-type, --target-entity), raise the limit with --max (default MAX_CANCELLATIONS), or review them with --dry-run",
			ge.Selected, ge.Limit)}
	}
	if runErr != nil {
		return runErr
	}
	if err := interruptedError(ctx, &report); err != nil {
		return err
	}
	if report.Failed() {
		return &exitError{exitFailed, fmt.Errorf("%d invitation(s) failed; run again to retry them", report.Summary[handshake.OutcomeFailed])}
	}
	return nil
}

func printReport(w io.Writer, r *janitor.Report, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, c := range reportColumns {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, c.title)
	}
	fmt.Fprintln(tw)
	for _, res := range r.Results {
		for i, c := range reportColumns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cell(c.value(res)))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d invitation(s):", len(r.Results))
	for i, o := range handshake.Outcomes() {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %d %s", sep, r.Summary[o], strings.ReplaceAll(string(o), "_", " "))
	}
	fmt.Fprintln(w)
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	return nil
}

// reportColumns are the columns of the Report's table, in order: a new
// column is one more entry.
var reportColumns = []struct {
	title string
	value func(janitor.Result) string
}{
	{"HANDSHAKE", func(r janitor.Result) string { return r.HandshakeID }},
	{"OUTCOME", func(r janitor.Result) string { return string(r.Outcome) }},
	{"REASON", func(r janitor.Result) string { return string(r.Reason) }},
	{"TARGET", func(r janitor.Result) string { return r.TargetEntity }},
	{"STATUS", func(r janitor.Result) string { return string(r.Status) }},
	{"ERROR CODE", func(r janitor.Result) string { return r.ErrorCode }},
	{"ATTEMPTS", func(r janitor.Result) string { return strconv.Itoa(r.Attempts) }},
	{"REQUEST ID", func(r janitor.Result) string { return r.APIRequestID }},
}

// cell is a table cell: "-" for nothing, else the value as
// handshake.Show shows it (an invalid ID is whatever the sender wrote; a
// tab would break the table, a control character the terminal).
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return handshake.Show(s, 200)
}
