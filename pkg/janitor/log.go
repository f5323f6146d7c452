package janitor

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/version"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// Field names of the engine's own lines, beyond pkg/logging's contract.
const (
	fieldItemKey   = "item_key"
	fieldRedeliver = "redeliver"
	fieldAbandoned = "abandoned" // summary line: calls that had not returned when Run had to answer
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
			Str(logging.FieldReason, string(r.Reason)).
			Str(logging.FieldErrorCode, r.ErrorCode).
			Str(logging.FieldAPIRequestID, r.APIRequestID).
			Int(logging.FieldAttempts, r.Attempts).
			Int64(logging.FieldDurationMS, r.Duration.Milliseconds())
		if r.Status != "" {
			ev = ev.Str(logging.FieldStatus, string(r.Status))
		}
		if r.TargetEntity != "" {
			ev = ev.Str(logging.FieldTargetType, string(r.TargetType)).Str(logging.FieldTargetEntity, r.TargetEntity)
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
// invocation that log-based metrics count: the count of every outcome
// (handshake.Outcomes, each under its own name), guard_refused (1 when err
// is the guard's refusal), the duration (zero when no Job ran), cold_start,
// the build's version, the mode and the records, the calls abandoned at the
// hard stop when there were any (abandoned), and err (the Job's refusal, or
// an event that could not be decoded) when it is not nil. It is
// the only writer of that line: Run calls it, and so does an adapter that
// refuses an event before the engine runs (with an empty Report). The line
// is an error when err is set or a Result failed.
//
// The line is written whatever LOG_LEVEL says: a quiet LOG_LEVEL must not
// blank the metrics of healthy runs.
//
// A platform adds fields of its own to the line with DecorateSummary.
func (e *Engine) LogSummary(ctx context.Context, rep Report, err error) {
	lvl := zerolog.InfoLevel
	if err != nil || rep.Failed() {
		lvl = zerolog.ErrorLevel
	}
	log := zerolog.Ctx(ctx)
	ev := log.WithLevel(lvl)
	if ev == nil {
		// LOG_LEVEL is above the line's level: write it all the same, at
		// zerolog's NoLevel with its level named, since metrics and alarms
		// are built from it (only a disabled logger drops it).
		ev = log.Log()
		if ev == nil {
			return
		}
		ev = ev.Str(zerolog.LevelFieldName, zerolog.LevelFieldMarshalFunc(lvl))
	}
	inv, _ := logging.InvocationFrom(ctx) // the zero Invocation outside one: not a cold start
	guardRefused := 0                     // a number, like the counts: metrics are built from it
	if _, ok := errors.AsType[*GuardError](err); ok {
		guardRefused = 1
	}
	for _, o := range handshake.Outcomes() {
		ev = ev.Int(string(o), rep.Summary[o]) // each outcome's count, under its name
	}
	ev = ev.Int(logging.FieldGuardRefused, guardRefused).
		Int64(logging.FieldDurationMS, rep.Duration.Milliseconds()).
		Bool(logging.FieldColdStart, inv.ColdStart).
		Str(logging.FieldVersion, version.String())
	if rep.Mode != "" {
		ev = ev.Str("mode", rep.Mode).
			Bool("dry_run_mode", rep.DryRunMode).
			Int("records", len(rep.Items)).
			Int("records_redeliver", len(rep.Redeliver()))
	}
	if rep.Abandoned > 0 {
		ev = ev.Int(fieldAbandoned, rep.Abandoned)
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
