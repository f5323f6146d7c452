// Package handler is the body of the handshake-janitor function, with one
// method per platform (AWS, FC): it decodes a platform event with pkg/trigger, runs the Job with
// pkg/janitor under the invocation's logger and deadline, and shapes the
// answer the platform expects (an SQS partial batch response, an error that
// makes an FC trigger redeliver, or the Report). functions/aws and
// functions/fc wrap it in their SDK's start-up and context; the CLI's
// `invoke` and `demo` commands call it directly.
package handler

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

// Handler is built once per cold start and serves every invocation of the
// process. It is safe for concurrent use.
type Handler struct {
	Platform string // logging.PlatformAWS, PlatformFC or PlatformCLI
	Logger   zerolog.Logger
	Engine   *janitor.Engine
	// APITimeout is T of every invocation's deadline.Budget (API_TIMEOUT):
	// the longest one API attempt may take. Zero: deadline.DefaultAPITimeout.
	APITimeout time.Duration

	invocations atomic.Int64 // cold_start is true only for the first
}

// New builds the Resource Manager client and the engine from a validated
// Config whose directory is Resource Directory. creds serves the
// invocations that bring no credentials of their own (an FC invocation
// brings its role's); the function mains pass
// resourcemanager.DefaultCredentials. When creds is nil, such an
// invocation's calls fail with resourcemanager.ErrNoCredentials.
func New(platform string, cfg config.Config, logger zerolog.Logger, creds resourcemanager.CredentialsProvider) (*Handler, error) {
	if k := cfg.Kind(); k != directory.ResourceDirectory {
		return nil, fmt.Errorf("handler.New builds a %s client, not one of %s=%s: use NewWithDirectory", directory.ResourceDirectory.Title, config.EnvDirectory, k.Name)
	}
	client, err := resourcemanager.New(resourcemanager.Options{
		Endpoint:    cfg.Endpoint,
		Credentials: creds,
		QPS:         cfg.APIQPS,
	})
	if err != nil {
		return nil, fmt.Errorf("resource manager client: %w", err)
	}
	return NewWithDirectory(platform, cfg, logger, client)
}

// NewWithDirectory builds the engine on dir, the client of the directory
// cfg names, from a validated Config.
func NewWithDirectory(platform string, cfg config.Config, logger zerolog.Logger, dir directory.Directory) (*Handler, error) {
	if dir.Kind() != cfg.Kind() {
		return nil, fmt.Errorf("a %s client for %s=%s", dir.Kind().Title, config.EnvDirectory, cfg.Kind().Name)
	}
	allowed, err := cfg.TargetPolicy()
	if err != nil {
		return nil, err
	}
	return &Handler{
		Platform:   platform,
		Logger:     logger,
		APITimeout: cfg.APITimeout,
		Engine: &janitor.Engine{
			API:              dir,
			Concurrency:      cfg.APIConcurrency,
			MaxCancellations: cfg.MaxCancellations,
			DryRun:           cfg.DryRun,
			StaleAfter:       cfg.StaleAfter,
			Now:              time.Now,
			AllowedTargets:   allowed,
			LogTargets:       cfg.LogTargets,
		},
	}, nil
}

// Invocation describes one call of the function.
type Invocation struct {
	ID          string                       // the platform's request ID
	Credentials *resourcemanager.Credentials // this invocation's own (FC), or nil
}

// AWS serves one Lambda invocation. For an SQS event it returns an
// *events.SQSEventResponse (a partial batch response) listing every record to redeliver and a nil error (so the
// successful records are deleted); for anything else it returns the
// *janitor.Report, with an error when any result is failed.
func (h *Handler) AWS(ctx context.Context, inv Invocation, payload []byte) (any, error) {
	decoded, derr := trigger.AWSFor(payload, h.Engine.API.Kind())
	ctx = h.begin(ctx, inv, decoded.Trigger)
	if derr != nil {
		return nil, h.refuse(ctx, derr)
	}
	report, err := h.Engine.Run(ctx, decoded.Job)
	if decoded.Trigger == trigger.SQS {
		if err != nil {
			// The whole batch goes back, nothing dropped: the guard at a
			// limit of zero refuses named invitations (every record that
			// named one is to be redelivered anyway).
			return nil, err
		}
		resp := &events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, it := range report.Items {
			if it.Redeliver {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: it.Key})
			}
		}
		return resp, nil
	}
	return h.answer(&report, err)
}

// FC serves one Function Compute invocation. Queue and topic batches have no
// partial response: when any record is left to redeliver, the invocation
// fails with an error naming those records and their IDs, so the trigger
// retries (what already succeeded comes back skipped). Timer and direct
// invocations return the *janitor.Report, with an error when any result is
// failed.
func (h *Handler) FC(ctx context.Context, inv Invocation, payload []byte) (any, error) {
	if inv.Credentials != nil && inv.Credentials.AccessKeyID != "" {
		ctx = resourcemanager.WithCredentials(ctx, *inv.Credentials)
	}
	decoded, derr := trigger.FC(payload)
	ctx = h.begin(ctx, inv, decoded.Trigger)
	if derr != nil {
		return nil, h.refuse(ctx, derr)
	}
	report, err := h.Engine.Run(ctx, decoded.Job)
	if decoded.Trigger == trigger.MNSQueue || decoded.Trigger == trigger.MNSTopic {
		if err != nil {
			return nil, err
		}
		if redo := report.Redeliver(); len(redo) > 0 {
			return nil, &RedeliverError{Items: redo, Records: len(report.Items), Results: report.Results}
		}
		return &report, nil
	}
	return h.answer(&report, err)
}

// begin puts the invocation's logger, fields and deadline budget (from the
// platform's deadline and the API timeout) into ctx.
func (h *Handler) begin(ctx context.Context, inv Invocation, trig string) context.Context {
	if trig == "" {
		trig = "unknown"
	}
	ctx = deadline.NewContext(ctx, deadline.For(ctx, h.APITimeout))
	return logging.WithInvocation(ctx, h.Logger, logging.Invocation{
		Platform:     h.Platform,
		InvocationID: inv.ID,
		Trigger:      trig,
		ColdStart:    h.invocations.Add(1) == 1,
	})
}

// answer is the response to a timer, schedule or direct invocation. Its
// error is not logged here: the engine's summary line carries a Job's
// error, and the result lines say which invitations failed.
func (h *Handler) answer(report *janitor.Report, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if report.Failed() {
		return nil, &FailedError{Summary: report.Summary, Results: report.Results}
	}
	return report, nil
}

// refuse answers an event that could not be decoded at all with an error,
// so the platform retries or dead-letters the event: nothing is dropped
// silently. The engine did not run, so the summary line (every invocation
// has exactly one, which is what log-based metrics count) carries the error
// and no result.
func (h *Handler) refuse(ctx context.Context, err error) error {
	err = fmt.Errorf("event not accepted: %w", err)
	h.Engine.LogSummary(ctx, janitor.Report{}, err)
	return err
}

// maxListed bounds how many records or IDs an error message names, so that
// it fits the platforms' limits on error messages; the log lines have all.
const maxListed = 50

// RedeliverError is returned by an FC queue or topic invocation that left
// records unfinished. Its message names each such record and, for each, the
// invitations that make it go back (failed or invalid, with the error code)
// or that it could not be decoded.
type RedeliverError struct {
	Items   []janitor.ItemReport // the records to redeliver
	Records int                  // records in the batch
	Results []janitor.Result     // the Report's results, to say why
}

func (e *RedeliverError) Error() string {
	why := make(map[string]janitor.Result, len(e.Results))
	for _, r := range e.Results {
		why[r.HandshakeID] = r
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d record(s) to redeliver:", len(e.Items), max(e.Records, len(e.Items)))
	for i, it := range e.Items {
		if i == maxListed {
			fmt.Fprintf(&b, " and %d more", len(e.Items)-i)
			break
		}
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" ")
		b.WriteString(handshake.Show(it.Key, shown))
		if it.Err != nil {
			b.WriteString(" (not decoded)")
			continue
		}
		var ids []string
		for _, id := range it.HandshakeIDs {
			r, ok := why[id]
			if !ok || !r.Outcome.Redeliver() {
				continue
			}
			s := handshake.Show(id, shown) + " " + string(r.Outcome)
			if r.ErrorCode != "" {
				s += " " + handshake.Show(r.ErrorCode, shown)
			}
			ids = append(ids, s)
		}
		if len(ids) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(ids, ", "))
		}
	}
	return b.String()
}

// FailedError is returned by a timer, schedule or direct invocation that has
// failed results: the platform retries, and the log lines hold every result.
type FailedError struct {
	Summary janitor.Summary
	Results []janitor.Result
}

func (e *FailedError) Error() string {
	var ids []string
	for _, r := range e.Results {
		if r.Outcome == handshake.OutcomeFailed {
			ids = append(ids, handshake.Show(r.HandshakeID, shown))
		}
	}
	more := ""
	if len(ids) > maxListed {
		more = fmt.Sprintf(" and %d more", len(ids)-maxListed)
		ids = ids[:maxListed]
	}
	counts := make([]string, 0, len(handshake.Outcomes()))
	for _, o := range handshake.Outcomes() {
		counts = append(counts, fmt.Sprintf("%s %d", o, e.Summary[o]))
	}
	return fmt.Sprintf("%d invitation(s) failed and should be retried: %s%s (%s)",
		e.Summary[handshake.OutcomeFailed], strings.Join(ids, ","), more, strings.Join(counts, ", "))
}

// shown bounds how much of an untrusted value (an invalid ID is whatever
// the sender wrote) an error message shows.
const shown = 64
