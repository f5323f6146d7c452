// Package logging sets up the zerolog JSON logger every part of
// handshake-janitor writes to: one JSON object per line, a timestamp on each,
// the invocation's fields (platform, invocation_id, trigger) carried through
// context.Context, and values of fields whose names look like secrets
// replaced by "[REDACTED]" before a byte reaches the output.
//
// The field names of the log contract are constants here, so that every
// package writes the same names; dashboards and alarms read them.
package logging

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
)

// Field names of the log contract.
const (
	FieldHandshakeID  = "handshake_id"
	FieldOutcome      = "outcome"
	FieldErrorCode    = "error_code"
	FieldAPIRequestID = "api_request_id"
	FieldAttempts     = "attempts"
	FieldDurationMS   = "duration_ms"
	FieldStatus       = "status"
	FieldPlatform     = "platform"
	FieldInvocationID = "invocation_id"
	FieldTrigger      = "trigger"
	FieldColdStart    = "cold_start"
	FieldGuardRefused = "guard_refused" // summary line: 1 when the blast-radius guard refused the sweep, else 0
	FieldVersion      = "version"       // summary and start-up lines: the build's version (internal/version)

	// FieldReason says why the engine selected an invitation (stale,
	// target_not_allowed, named); FieldTargetType and FieldTargetEntity
	// name its target, an e-mail address redacted unless LOG_TARGETS=true.
	FieldReason       = "reason"
	FieldTargetType   = "target_type"
	FieldTargetEntity = "target_entity"

	// FieldCredentialsSecretID names the Secrets Manager secret (its name or
	// ARN, never its content) in the start-up configuration line. It is the
	// one name containing "secret" that is not redacted: it identifies where
	// the credentials live, which is what an operator needs to see when
	// reading them fails.
	FieldCredentialsSecretID = "credentials_secret_id"
)

// MessageSummary is the message of the one summary line per invocation, which
// carries the six outcome counts, guard_refused, duration_ms, cold_start and
// version.
const MessageSummary = "invocation summary"

// Platforms, the values of the platform field.
const (
	PlatformAWS = "aws"
	PlatformFC  = "fc"
	PlatformCLI = "cli"
)

// Redacted replaces the value of every field whose name looks like a secret.
const Redacted = "[REDACTED]"

// New returns a logger that writes JSON lines with a timestamp to w (os.Stdout
// when w is nil), drops events below level, and redacts the values of fields
// whose names look like secrets or tokens. The logger is safe for concurrent
// use: each line reaches w in one Write call, never interleaved with another.
func New(w io.Writer, level zerolog.Level) zerolog.Logger {
	if w == nil {
		w = os.Stdout
	}
	return zerolog.New(&redactingWriter{w: w}).Level(level).With().Timestamp().Logger()
}

// levels lists the words LOG_LEVEL accepts, in zerolog's spelling.
var levels = [...]zerolog.Level{
	zerolog.TraceLevel, zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel,
	zerolog.ErrorLevel, zerolog.FatalLevel, zerolog.PanicLevel, zerolog.Disabled,
}

// LevelWords is what ParseLevel accepts, for error messages and help text.
const LevelWords = "trace, debug, info, warn, error, fatal, panic or disabled"

// ParseLevel accepts the LOG_LEVEL words trace, debug, info, warn, error,
// fatal, panic and disabled, in any case. Unlike zerolog.ParseLevel it
// refuses numbers and the empty string, so a typo never silently means
// "log everything".
func ParseLevel(s string) (zerolog.Level, error) {
	for _, l := range levels {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return zerolog.NoLevel, fmt.Errorf("invalid log level %q: want %s", s, LevelWords)
}

// Invocation identifies one invocation of the function or one CLI run.
type Invocation struct {
	Platform     string // PlatformAWS, PlatformFC or PlatformCLI
	InvocationID string // the Lambda or FC request ID
	Trigger      string // the kind of event that started it
	ColdStart    bool   // first invocation of this process
}

type invocationKey struct{}

// WithInvocation returns a context carrying inv and a child of logger that
// writes platform, invocation_id and trigger on every line, so that
// zerolog.Ctx(ctx) anywhere below logs them. The engine reads inv back with
// InvocationFrom to put cold_start on the summary line.
func WithInvocation(ctx context.Context, logger zerolog.Logger, inv Invocation) context.Context {
	child := logger.With().
		Str(FieldPlatform, inv.Platform).
		Str(FieldInvocationID, inv.InvocationID).
		Str(FieldTrigger, inv.Trigger).
		Logger()
	ctx = context.WithValue(ctx, invocationKey{}, inv)
	return child.WithContext(ctx)
}

// InvocationFrom returns the Invocation stored by WithInvocation.
func InvocationFrom(ctx context.Context) (Invocation, bool) {
	inv, ok := ctx.Value(invocationKey{}).(Invocation)
	return inv, ok
}
