package logging

import (
	"fmt"
	"io"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// fieldReason is the field a result line may carry to say why an
// invitation was selected or left alone; the console shows it when present.
const fieldReason = "reason"

// NewConsole returns a logger for people at a terminal: the same events as
// New, rendered by zerolog's ConsoleWriter as
//
//	15:04:05 INF cancelled h-Ab12Cd34Ef56Gh78 attempts=1 duration_ms=21 status=Cancelled ...
//
// time, level, then for a result its outcome, handshake ID, reason and
// error code, then the message (a result's is its outcome again, so it is
// left out), then the other fields, empty ones left out; colored when color
// is true. The redacting writer sits in front of the console writer, so
// what reaches w has been redacted exactly as a JSON line would be.
func NewConsole(w io.Writer, level zerolog.Level, color bool) zerolog.Logger {
	if w == nil {
		w = io.Discard
	}
	cw := zerolog.ConsoleWriter{
		Out:        w,
		NoColor:    !color,
		TimeFormat: "15:04:05",
		PartsOrder: []string{
			zerolog.TimestampFieldName, zerolog.LevelFieldName,
			FieldOutcome, FieldHandshakeID, fieldReason, FieldErrorCode,
			zerolog.MessageFieldName,
		},
		FieldsExclude: []string{
			FieldOutcome, FieldHandshakeID, fieldReason, FieldErrorCode,
			FieldPlatform, FieldInvocationID, FieldVersion, // the same on every line of a run
		},
		// The summary's counts in the order the Report prints them, then
		// a result's details; the rest alphabetically.
		FieldsOrder: append(outcomeNames(),
			FieldGuardRefused, FieldStatus, FieldAttempts, FieldDurationMS, FieldAPIRequestID),
		FormatPartValueByName: consolePart(color),
		FormatPrepare:         consolePrepare,
	}
	return zerolog.New(&redactingWriter{w: cw}).Level(level).With().Timestamp().Logger()
}

// consolePrepare drops what a person need not read: empty strings (a
// result's error code when there is none) and a result's message, which
// only repeats its outcome.
func consolePrepare(evt map[string]any) error {
	for k, v := range evt {
		if s, ok := v.(string); ok && s == "" && k != zerolog.MessageFieldName {
			delete(evt, k)
		}
	}
	if _, ok := evt[FieldOutcome]; ok {
		delete(evt, zerolog.MessageFieldName)
	}
	return nil
}

// ANSI colors of the console parts.
const (
	ansiRed    = 31
	ansiGreen  = 32
	ansiYellow = 33
	ansiCyan   = 36
	ansiBold   = 1
)

// outcomeColors says at a glance what needs a look: red fails, yellow
// warns, green and cyan did or would do what was asked.
var outcomeColors = map[string]int{
	string(handshake.OutcomeCancelled): ansiGreen,
	string(handshake.OutcomeDryRun):    ansiCyan,
	string(handshake.OutcomeNotFound):  ansiYellow,
	string(handshake.OutcomeInvalid):   ansiYellow,
	string(handshake.OutcomeFailed):    ansiRed,
}

// outcomeNames are the summary line's count fields: every outcome's name,
// in handshake.Outcomes order.
func outcomeNames() []string {
	var names []string
	for _, o := range handshake.Outcomes() {
		names = append(names, string(o))
	}
	return names
}

// consolePart formats the console's own parts: nothing when the line lacks
// the field, the outcome padded so that the IDs after it line up.
func consolePart(color bool) zerolog.FormatterByFieldName {
	paint := func(s string, c int) string {
		if !color || c == 0 {
			return s
		}
		return "\x1b[" + strconv.Itoa(c) + "m" + s + "\x1b[0m"
	}
	return func(v any, name string) string {
		if v == nil {
			return ""
		}
		s := fmt.Sprint(v)
		if s == "" {
			return ""
		}
		switch name {
		case FieldOutcome:
			return paint(fmt.Sprintf("%-9s", s), outcomeColors[s])
		case FieldHandshakeID:
			return paint(quoteIfNeeded(s), ansiBold)
		case FieldErrorCode:
			return paint(quoteIfNeeded(s), ansiRed)
		}
		return quoteIfNeeded(s)
	}
}

// quoteIfNeeded quotes s when it holds spaces, quotes or anything not
// printable ASCII: an invalid ID is whatever the sender wrote, and a
// terminal must not receive its control characters raw.
func quoteIfNeeded(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.Quote(s)
		}
	}
	return s
}
