package janitor

import (
	"context"
	"time"

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
func level(o handshake.Outcome) zerolog.Level {
	switch o {
	case handshake.OutcomeCancelled, handshake.OutcomeSkipped, handshake.OutcomeDryRun:
		return zerolog.InfoLevel
	case handshake.OutcomeNotFound, handshake.OutcomeInvalid:
		return zerolog.WarnLevel
	}
	return zerolog.ErrorLevel
}

// logResults writes one line per Result, in Report order. entries, when
// given, carries each Result's call duration.
func logResults(ctx context.Context, results []Result, entries []*entry) {
	log := zerolog.Ctx(ctx)
	for i, r := range results {
		lvl := level(r.Outcome)
		if r.ErrorCode == CodeMaxCancellationsExceeded {
			lvl = zerolog.WarnLevel
		}
		ev := log.WithLevel(lvl)
		if ev == nil {
			continue
		}
		var d time.Duration
		if entries != nil {
			d = entries[i].duration
		}
		ev = ev.Str(logging.FieldHandshakeID, r.HandshakeID).
			Str(logging.FieldOutcome, string(r.Outcome)).
			Str(logging.FieldErrorCode, r.ErrorCode).
			Str(logging.FieldAPIRequestID, r.APIRequestID).
			Int(logging.FieldAttempts, r.Attempts).
			Int64(logging.FieldDurationMS, d.Milliseconds())
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

// logSummary writes the one "invocation summary" line of a Run.
func logSummary(ctx context.Context, rep Report, job Job, dry bool, d time.Duration, err error) {
	log := zerolog.Ctx(ctx)
	lvl := zerolog.InfoLevel
	if err != nil || rep.Failed() {
		lvl = zerolog.ErrorLevel
	}
	ev := log.WithLevel(lvl)
	if ev == nil {
		return
	}
	mode := "items"
	if job.Sweep != nil {
		mode = "sweep"
	}
	s := rep.Summary
	ev = ev.Int("cancelled", s.Cancelled).
		Int("skipped", s.Skipped).
		Int("not_found", s.NotFound).
		Int("invalid", s.Invalid).
		Int("dry_run", s.DryRun).
		Int("failed", s.Failed).
		Bool(logging.FieldColdStart, coldStart(ctx)).
		Str("mode", mode).
		Bool("dry_run_mode", dry).
		Int("records", len(rep.Items)).
		Int("records_redeliver", len(rep.Redeliver())).
		Int64(logging.FieldDurationMS, d.Milliseconds())
	if len(rep.Warnings) > 0 {
		ev = ev.Strs("warnings", rep.Warnings)
	}
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg(logging.MessageSummary)
}

// coldStart reports the invocation's cold start flag; false outside an
// invocation (tests, library use).
func coldStart(ctx context.Context) bool {
	inv, _ := logging.InvocationFrom(ctx)
	return inv.ColdStart
}
