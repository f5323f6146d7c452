package janitor

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// Defaults for the zero fields of an Engine, the same as pkg/config's.
// MaxCancellations has none: its zero is a setting
// of its own, the narrowest (no real cancellation).
const (
	DefaultConcurrency = 4
	DefaultStaleAfter  = 7 * 24 * time.Hour
)

// Error codes the engine itself puts in Results.
const (
	// CodeDeadlineExceeded: the invocation's deadline came before the
	// invitation was finished; the platform should redeliver it.
	CodeDeadlineExceeded = "DeadlineExceeded"
	// CodeCanceled: the invocation was cancelled before the invitation was
	// finished.
	CodeCanceled = "Canceled"
	// CodeMaxCancellationsExceeded marks the invitations of a sweep that the
	// blast-radius guard refused: none was cancelled.
	CodeMaxCancellationsExceeded = "MaxCancellationsExceeded"
)

// ErrListing is wrapped by the error Run returns when a sweep could not list
// the directory's invitations to the end.
var ErrListing = errors.New("listing invitations failed")

// Engine runs Jobs. Zero fields take the defaults above; an Engine is safe
// for concurrent use by several Runs once set up.
type Engine struct {
	// API is the directory of invitations the engine works on.
	API directory.Directory

	// Concurrency is the most calls in flight at once. The
	// API client's rate limiter paces them further.
	Concurrency int
	// MaxCancellations is the blast-radius guard: a real sweep that selects
	// more invitations than this cancels none and fails. Zero (also the
	// zero Engine's) means no real cancellation at all: a real Job that
	// would cancel any invitation, a sweep's or a named one, is refused
	// the same way. A dry run is never refused.
	MaxCancellations int
	// DryRun reports what would be cancelled and cancels nothing.
	DryRun bool
	// StaleAfter is the sweep's default age: an open invitation created
	// longer ago than this is stale.
	StaleAfter time.Duration
	// Now is the clock sweeps measure age from; default time.Now.
	Now func() time.Time
	// AllowedTargets is the target policy (ALLOWED_TARGETS): a sweep also
	// selects every open invitation whose target it does not allow,
	// whatever its age, and a checking Job cancels such an invitation.
	// Empty: no target policy. A Sweep may replace it.
	AllowedTargets targetpolicy.Policy
	// LogTargets puts targets in Results and log lines as they are;
	// false masks e-mail addresses (targetpolicy.MaskTarget).
	LogTargets bool
	// DecorateSummary, when set, adds a platform's fields to the invocation
	// summary line (see LogSummary): ctx is the invocation's (its
	// logging.Invocation says the platform, trigger and cold start), rep
	// what the line reports.
	DecorateSummary func(ctx context.Context, ev *zerolog.Event, rep Report)
}

// Run carries out job and reports one Result per distinct invitation.
//
// The returned error is non-nil only when the Job as a whole was refused or
// could not be worked out: the engine's settings or the sweep's are invalid,
// the sweep's listing failed (nothing is cancelled then), or the guard
// refused the sweep (*GuardError). Per-invitation failures are Results, not
// errors: check Report.Failed. The Report is meaningful in every case.
//
// Run spends its time as the invocation's deadline.Budget says
// (deadline.Of(ctx): the one ctx carries, else ctx's deadline with the
// default API timeout), and passes that Budget to the API client in the
// calls' context, so that the client's attempts take at most its API
// timeout: every invitation not finished in time is failed with error code
// DeadlineExceeded, or Canceled when ctx was cancelled.
func (e *Engine) Run(ctx context.Context, job Job) (Report, error) {
	start := time.Now()
	dry := e.DryRun || job.DryRun
	b := deadline.Of(ctx)
	ctx = deadline.NewContext(ctx, b)

	listCtx, cancelList := cutOffContext(ctx, b)
	defer cancelList()
	p, err := e.plan(listCtx, job, dry)
	abandoned := 0
	if err == nil {
		e.skipFinished(listCtx, &p)
		abandoned = e.cancelAll(ctx, p.entries, dry)
	}
	rep := p.report()
	if len(job.Warnings) > 0 {
		rep.Warnings = append(append([]string(nil), job.Warnings...), rep.Warnings...)
	}
	rep.Mode, rep.DryRunMode, rep.Abandoned, rep.Duration = job.mode(), dry, abandoned, time.Since(start)
	logItems(ctx, rep.Items)
	logResults(ctx, rep.Results)
	e.LogSummary(ctx, rep, err)
	return rep, err
}

// cutOffContext derives from parent the context whose deadline is the
// Budget's cut-off. (parent may be context.WithoutCancel of the
// invocation's context, which has no deadline of its own.)
func cutOffContext(parent context.Context, b deadline.Budget) (context.Context, context.CancelFunc) {
	if at, ok := b.CutOff(); ok {
		return context.WithDeadline(parent, at)
	}
	return context.WithCancel(parent)
}

func (e *Engine) concurrency() int {
	if e.Concurrency > 0 {
		return e.Concurrency
	}
	return DefaultConcurrency
}

func (e *Engine) staleAfter() time.Duration {
	if e.StaleAfter > 0 {
		return e.StaleAfter
	}
	return DefaultStaleAfter
}

// showTarget is how a target appears in Results and log lines: as it is
// with LOG_TARGETS=true, else an e-mail address masked (targetpolicy.MaskTarget).
func showTarget(entity string, logTargets bool) string {
	if logTargets || entity == "" {
		return entity
	}
	return targetpolicy.MaskTarget(entity)
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
