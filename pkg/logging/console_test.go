package logging

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// resultLine logs a result line as pkg/janitor does.
func resultLine(log zerolog.Logger, outcome, id, code string) {
	ctx := WithInvocation(context.Background(), log, Invocation{Platform: PlatformCLI, Trigger: "sweep"})
	ev := zerolog.Ctx(ctx).Info().
		Str(FieldHandshakeID, id).Str(FieldOutcome, outcome).Str(FieldErrorCode, code).
		Str(FieldAPIRequestID, "").Int(FieldAttempts, 1).Int64(FieldDurationMS, 21)
	ev.Msg("handshake " + outcome)
}

func TestConsoleShowsTimeLevelOutcomeIDReasonAndErrorCodeFirst(t *testing.T) {
	var buf bytes.Buffer
	log := NewConsole(&buf, zerolog.InfoLevel, false)
	resultLine(log, "cancelled", "h-Ab12Cd34Ef56Gh78", "")
	log.Warn().Str(FieldHandshakeID, "h-Zx98Yw76Vu54Ts32").Str(FieldOutcome, "dry_run").
		Str(fieldReason, "older than 7d").Str(FieldErrorCode, "MaxCancellationsExceeded").Msg("handshake dry_run")
	log.Info().Int("cancelled", 1).Int("failed", 0).Int("skipped", 2).Msg(MessageSummary)

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{
		`^\d\d:\d\d:\d\d INF cancelled h-Ab12Cd34Ef56Gh78 attempts=1 duration_ms=21 trigger=sweep$`,
		`^\d\d:\d\d:\d\d WRN dry_run   h-Zx98Yw76Vu54Ts32 "older than 7d" MaxCancellationsExceeded$`,
		`^\d\d:\d\d:\d\d INF invocation summary cancelled=1 skipped=2 failed=0$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d = %q\nwant %s", i, lines[i], want)
		}
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Errorf("color codes with color off: %q", buf.String())
	}
}

func TestConsoleColorsTheOutcomeByWhatItNeeds(t *testing.T) {
	for outcome, code := range map[string]string{"cancelled": "\x1b[32m", "failed": "\x1b[31m", "invalid": "\x1b[33m", "dry_run": "\x1b[36m"} {
		var buf bytes.Buffer
		resultLine(NewConsole(&buf, zerolog.InfoLevel, true), outcome, "h-Ab12Cd34Ef56Gh78", "")
		if !strings.Contains(buf.String(), code+outcome) {
			t.Errorf("%s: %q lacks color %q", outcome, buf.String(), code)
		}
	}
}

func TestConsoleRedactsSecretsAndQuotesControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	log := NewConsole(&buf, zerolog.InfoLevel, true)
	log.Info().Str("access_key_secret", secretValue).Str("SecurityToken", secretValue).
		Interface("request", map[string]string{"Authorization": secretValue}).Msg("calling")
	log.Error().Err(errors.New("boom")).Str("password", secretValue).Msg("failed")
	resultLine(log, "invalid", "h-\x1b[2Jevil\n", "")
	out := buf.String()
	if strings.Contains(out, secretValue) {
		t.Fatalf("a secret reached the console:\n%s", out)
	}
	if n := strings.Count(out, Redacted); n != 4 {
		t.Errorf("%d redactions, want 4:\n%s", n, out)
	}
	if strings.Contains(out, "\x1b[2J") || strings.Count(out, "\n") != 3 {
		t.Errorf("an ID's control characters reached the terminal raw:\n%q", out)
	}
}

func TestConsoleDropsEventsBelowItsLevel(t *testing.T) {
	var buf bytes.Buffer
	log := NewConsole(&buf, zerolog.WarnLevel, false)
	log.Info().Msg("quiet")
	log.Warn().Msg("loud")
	if strings.Contains(buf.String(), "quiet") || !strings.Contains(buf.String(), "loud") {
		t.Errorf("level not applied:\n%s", buf.String())
	}
}
