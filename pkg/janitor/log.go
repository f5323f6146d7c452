package janitor

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// Field names of the engine's own lines, beyond pkg/logging's contract.
const (
	fieldItemKey   = "item_key"
	fieldRedeliver = "redeliver"
)

// level is how loudly a Result is logged: what needs a look is warned,
// what needs redelivery is an error.
func level(r Result) zerolog.Level {
	switch r.Outcome {
	case handshake.OutcomeCancelled, handshake.OutcomeSkipped:
		return zerolog.InfoLevel
	case handshake.OutcomeDryRun:
		if r.ErrorCode == CodeMaxCancellationsExceeded {
			return zerolog.WarnLevel
		}
		return zerolog.InfoLevel
	case handshake.OutcomeNotFound, handshake.OutcomeInvalid:
		return zerolog.WarnLevel
	}
	return zerolog.ErrorLevel
}

// logResults writes one line per Result, in Report order.
func logResults(ctx context.Context, results []Result) {
	log := zerolog.Ctx(ctx)
	for _, r := range results {
		ev := log.WithLevel(level(r))
		if ev == nil {
			continue
		}
		ev = ev.Str(logging.FieldHandshakeID, r.HandshakeID).
			Str(logging.FieldOutcome, string(r.Outcome)).
			Str(logging.FieldErrorCode, r.ErrorCode).
			Str(logging.FieldAPIRequestID, r.APIRequestID).
			Int(logging.FieldAttempts, r.Attempts).
			Int64(logging.FieldDurationMS, r.Duration.Milliseconds())
		if r.Status != "" {
			ev = ev.Str(logging.FieldStatus, string(r.Status))
		}
		if r.Error != "" {
			ev = ev.Str(zerolog.ErrorFieldName, r.Error)
		}
		ev.Msg("handshake " + string(r.Outcome))
	}
}

// logItems writes a line for every record that no Result line shows: an
// error for one that could not be decoded (it goes back to the queue), a
// warning for one that names no invitation at all.
func logItems(ctx context.Context, items []ItemReport) {
	log := zerolog.Ctx(ctx)
	for _, it := range items {
		switch {
		case it.Err != nil:
			log.Error().Str(fieldItemKey, it.Key).Bool(fieldRedeliver, it.Redeliver).Err(it.Err).
				Msg("record not processed")
		case len(it.HandshakeIDs) == 0:
			log.Warn().Str(fieldItemKey, it.Key).Bool(fieldRedeliver, it.Redeliver).
				Msg("record names no invitation")
		}
	}
}

// LogSummary writes the invocation summary line, the one line per
// invocation that log-based metrics count: the six outcome counts,
// cold_start, the mode, the records and the duration, and err (the Job's
// refusal, or an event that could not be decoded) when it is not nil. It is
// the only writer of that line: Run calls it, and so does an adapter that
// refuses an event before the engine runs (with an empty Report). The line
// is an error when err is set or a Result failed.
//
// A platform adds fields of its own to the line with DecorateSummary.
func (e *Engine) LogSummary(ctx context.Context, rep Report, err error) {
	lvl := zerolog.InfoLevel
	if err != nil || rep.Failed() {
		lvl = zerolog.ErrorLevel
	}
	ev := zerolog.Ctx(ctx).WithLevel(lvl)
	if ev == nil {
		return
	}
	inv, _ := logging.InvocationFrom(ctx) // the zero Invocation outside one: not a cold start
	s := rep.Summary
	ev = ev.Int("cancelled", s.Cancelled).
		Int("skipped", s.Skipped).
		Int("not_found", s.NotFound).
		Int("invalid", s.Invalid).
		Int("dry_run", s.DryRun).
		Int("failed", s.Failed).
		Bool(logging.FieldColdStart, inv.ColdStart)
	if rep.Mode != "" {
		ev = ev.Str("mode", rep.Mode).
			Bool("dry_run_mode", rep.DryRunMode).
			Int("records", len(rep.Items)).
			Int("records_redeliver", len(rep.Redeliver())).
			Int64(logging.FieldDurationMS, rep.Duration.Milliseconds())
	}
	if len(rep.Warnings) > 0 {
		ev = ev.Strs("warnings", rep.Warnings)
	}
	if err != nil {
		ev = ev.Err(err)
	}
	if e.DecorateSummary != nil {
		e.DecorateSummary(ctx, ev, rep)
	}
	ev.Msg(logging.MessageSummary)
}
