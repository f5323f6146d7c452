package logging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// lines splits JSON-lines output and decodes each line, failing the test on
// anything that is not one JSON object per line.
func lines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var got []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not a JSON object: %v: %s", err, sc.Bytes())
		}
		got = append(got, m)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	return got
}

const secretValue = "s3cr3t-VALUE"

func TestRedactsFieldsWhoseNamesLookSecret(t *testing.T) {
	names := []string{
		"secret", "client_secret", "AccessKeySecret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
		"token", "SecurityToken", "security_token", "x-acs-security-token", "id_token", "NextToken",
		"password", "db_password", "Passwd", "authorization", "Authorization",
		"signature", "X-Acs-Signature", "credential", "credentials", "Credentials",
		"access_key", "access_key_id", "AccessKeyId", "accesskey", "access-key", "ACCESS.KEY",
		"private_key", "PrivateKey", "private-key", "cookie", "Set-Cookie", "api_key", "apiKey",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, zerolog.InfoLevel)
			log.Info().Str(name, secretValue).Str("handshake_id", "h-abc").Msg("x")
			if bytes.Contains(buf.Bytes(), []byte(secretValue)) {
				t.Fatalf("secret reached the output: %s", buf.Bytes())
			}
			got := lines(t, buf.Bytes())
			if len(got) != 1 {
				t.Fatalf("want 1 line, got %d", len(got))
			}
			if got[0][name] != Redacted {
				t.Errorf("%s = %v, want %q", name, got[0][name], Redacted)
			}
			if got[0]["handshake_id"] != "h-abc" || got[0]["message"] != "x" {
				t.Errorf("other fields changed: %v", got[0])
			}
		})
	}
}

func TestLeavesHarmlessFieldsUntouched(t *testing.T) {
	names := []string{
		FieldHandshakeID, FieldOutcome, FieldErrorCode, FieldAPIRequestID, FieldStatus,
		FieldPlatform, FieldInvocationID, FieldTrigger, FieldCredentialsSecretID,
		FieldReason, FieldTargetType, FieldTargetEntity, "error", "endpoint", "key", "access", "request_id", "target_entity", "note", "page",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, zerolog.InfoLevel)
			log.Info().Str(name, "visible").Msg("x")
			got := lines(t, buf.Bytes())
			if len(got) != 1 || got[0][name] != "visible" {
				t.Fatalf("%s was changed: %s", name, buf.Bytes())
			}
		})
	}
}

func TestUntouchedLinesAreByteForByteIdentical(t *testing.T) {
	var direct, redacted bytes.Buffer
	line := func(l zerolog.Logger) {
		l.Info().Str(FieldHandshakeID, "h-0123456789abcdef").Str("note", `quote " backslash \ tab	`).
			Float64("f", 1.5e-7).Int(FieldAttempts, 3).Bool(FieldColdStart, true).
			Interface("nested", map[string]any{"a": []any{1, "two", nil}}).Msg("message mentions a token")
	}
	line(zerolog.New(&direct))
	line(zerolog.New(&redactingWriter{w: &redacted}))
	if direct.String() != redacted.String() {
		t.Fatalf("redactor changed a clean line:\n%s\n%s", direct.Bytes(), redacted.Bytes())
	}
}

func TestRedactsEveryValueTypeAndNestedObjects(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, zerolog.InfoLevel)
	log.Info().
		Int("token", 12345).
		Bool("password", true).
		Interface("credentials", map[string]any{"AccessKeyId": "LTAI" + secretValue, "n": 1}).
		Strs("cookies", []string{secretValue, secretValue}).
		RawJSON("secret", []byte(`null`)).
		Dict("request", zerolog.Dict().
			Str("url", "https://example.com/").
			Dict("headers", zerolog.Dict().Str("Authorization", "Bearer "+secretValue).Str("Accept", "json"))).
		Interface("results", []any{
			map[string]any{"handshake_id": "h-1", "security_token": secretValue},
			[]any{map[string]any{"deep": map[string]any{"private_key": secretValue}}},
		}).
		Msg("x")
	if bytes.Contains(buf.Bytes(), []byte(secretValue)) || bytes.Contains(buf.Bytes(), []byte("12345")) {
		t.Fatalf("secret reached the output: %s", buf.Bytes())
	}
	got := lines(t, buf.Bytes())
	if len(got) != 1 {
		t.Fatalf("want 1 line, got %d", len(got))
	}
	m := got[0]
	for _, k := range []string{"token", "password", "credentials", "cookies", "secret"} {
		if m[k] != Redacted {
			t.Errorf("%s = %v, want %q", k, m[k], Redacted)
		}
	}
	headers := m["request"].(map[string]any)["headers"].(map[string]any)
	if headers["Authorization"] != Redacted || headers["Accept"] != "json" {
		t.Errorf("nested headers = %v", headers)
	}
	if u := m["request"].(map[string]any)["url"]; u != "https://example.com/" {
		t.Errorf("nested harmless url = %v", u)
	}
	results := m["results"].([]any)
	r0 := results[0].(map[string]any)
	if r0["handshake_id"] != "h-1" || r0["security_token"] != Redacted {
		t.Errorf("object in array = %v", r0)
	}
	deep := results[1].([]any)[0].(map[string]any)["deep"].(map[string]any)
	if deep["private_key"] != Redacted {
		t.Errorf("object in nested array = %v", deep)
	}
}

func TestRedactsEscapedKeyNames(t *testing.T) {
	var buf bytes.Buffer
	w := &redactingWriter{w: &buf}
	in := `{"\u0074oken":"` + secretValue + `","t\"x":"ok"}` + "\n"
	if _, err := w.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	want := `{"\u0074oken":"[REDACTED]","t\"x":"ok"}` + "\n"
	if buf.String() != want {
		t.Fatalf("got %s want %s", buf.Bytes(), want)
	}
}

func TestPassesNonJSONThroughUnchanged(t *testing.T) {
	for _, in := range []string{
		"plain text mentioning a token\n",
		`{"token":` + "\n",
		`{"a":"unterminated` + "\n",
		`[1,2` + "\n",
		"",
		"\n",
		strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "\n",
	} {
		var buf bytes.Buffer
		n, err := (&redactingWriter{w: &buf}).Write([]byte(in))
		if err != nil || n != len(in) {
			t.Errorf("Write(%q) = %d, %v", in, n, err)
		}
		if buf.String() != in {
			t.Errorf("Write(%q) wrote %q", in, buf.String())
		}
	}
}

func TestKeepsLinesWholeUnderConcurrentWriters(t *testing.T) {
	var buf bytes.Buffer // not safe for concurrent use: the logger must serialise
	log := New(&buf, zerolog.InfoLevel)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := log.Info().Int("g", g).Int("i", i)
				if i%2 == 0 {
					e = e.Str("access_key_secret", secretValue)
				}
				e.Msg("line")
			}
		}()
	}
	wg.Wait()
	got := lines(t, buf.Bytes())
	if len(got) != goroutines*each {
		t.Fatalf("got %d lines, want %d", len(got), goroutines*each)
	}
	if bytes.Contains(buf.Bytes(), []byte(secretValue)) {
		t.Fatal("secret reached the output")
	}
	seen := map[string]bool{}
	for _, m := range got {
		seen[fmt.Sprint(m["g"], "/", m["i"])] = true
	}
	if len(seen) != goroutines*each {
		t.Fatalf("got %d distinct lines, want %d", len(seen), goroutines*each)
	}
}

func TestRedactsWhatItCanParseOfAMalformedLine(t *testing.T) {
	var buf bytes.Buffer
	in := `{"token":"` + secretValue + `","a":1 oops "password":"x"}` + "\n"
	if _, err := (&redactingWriter{w: &buf}).Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	want := `{"token":"[REDACTED]","a":1 oops "password":"x"}` + "\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestReportsWriteErrors(t *testing.T) {
	w := &redactingWriter{w: failingWriter{}}
	for _, in := range []string{`{"a":1}` + "\n", `{"token":1}` + "\n"} {
		if _, err := w.Write([]byte(in)); !errors.Is(err, errWrite) {
			t.Errorf("Write(%q) error = %v, want %v", in, err, errWrite)
		}
	}
}

type otherKey struct{}

func TestInvocationFieldsOnEveryLineFromContext(t *testing.T) {
	var buf bytes.Buffer
	inv := Invocation{Platform: PlatformAWS, InvocationID: "req-1", Trigger: "sqs", ColdStart: true}
	ctx := WithInvocation(context.Background(), New(&buf, zerolog.InfoLevel), inv)

	zerolog.Ctx(ctx).Info().Str(FieldHandshakeID, "h-1").Msg("result")
	func(ctx context.Context) { // a package further down sees the same logger
		zerolog.Ctx(ctx).Warn().Msg("deeper")
	}(context.WithValue(ctx, otherKey{}, 1))
	zerolog.Ctx(ctx).Info().Int("cancelled", 1).Msg(MessageSummary)

	got := lines(t, buf.Bytes())
	if len(got) != 3 {
		t.Fatalf("want 3 lines, got %d: %s", len(got), buf.Bytes())
	}
	for i, m := range got {
		if m[FieldPlatform] != "aws" || m[FieldInvocationID] != "req-1" || m[FieldTrigger] != "sqs" {
			t.Errorf("line %d lacks invocation fields: %v", i, m)
		}
		if _, ok := m["time"]; !ok {
			t.Errorf("line %d lacks a timestamp: %v", i, m)
		}
	}
	back, ok := InvocationFrom(ctx)
	if !ok || back != inv {
		t.Errorf("InvocationFrom = %+v, %v; want %+v, true", back, ok, inv)
	}
}

func TestInvocationFromEmptyContext(t *testing.T) {
	if inv, ok := InvocationFrom(context.Background()); ok {
		t.Errorf("InvocationFrom(Background) = %+v, true; want false", inv)
	}
}

func TestFiltersByLevel(t *testing.T) {
	all := []zerolog.Level{zerolog.TraceLevel, zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel}
	for _, level := range append(all, zerolog.Disabled) {
		t.Run(level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, level)
			for _, l := range all {
				log.WithLevel(l).Msg(l.String())
			}
			got := lines(t, buf.Bytes())
			var want []string
			for _, l := range all {
				if level != zerolog.Disabled && l >= level {
					want = append(want, l.String())
				}
			}
			if len(got) != len(want) {
				t.Fatalf("level %s: got %d lines, want %v", level, len(got), want)
			}
			for i, m := range got {
				if m["level"] != want[i] || m["message"] != want[i] {
					t.Errorf("line %d = %v, want level %s", i, m, want[i])
				}
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want zerolog.Level
	}{
		{"trace", zerolog.TraceLevel}, {"debug", zerolog.DebugLevel}, {"info", zerolog.InfoLevel},
		{"INFO", zerolog.InfoLevel}, {"Warn", zerolog.WarnLevel}, {"error", zerolog.ErrorLevel},
		{"fatal", zerolog.FatalLevel}, {"panic", zerolog.PanicLevel}, {"disabled", zerolog.Disabled},
	} {
		if got, err := ParseLevel(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "verbose", "warning", "0", "-1", "5", " info", "inf"} {
		if got, err := ParseLevel(in); err == nil {
			t.Errorf("ParseLevel(%q) = %v, nil; want an error", in, got)
		} else if !strings.Contains(err.Error(), "trace, debug, info, warn") {
			t.Errorf("ParseLevel(%q) error %q does not say what is accepted", in, err)
		}
	}
}

// FuzzRedactingWriter checks the redactor against encoding/json: for any
// valid JSON input the output is valid JSON in which every sensitive key's
// value is "[REDACTED]", and a line without sensitive keys is unchanged; any
// input comes out whole when it is not JSON.
func FuzzRedactingWriter(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"token":"x","b":[{"secret":{"c":1}}]}`, `[{"Cookie":null}]`, `"token"`,
		`{"a":"\"","b\\":"\\","password":[1,2,{"x":"y"}]}`, `{"\u0074oken":1}`, `not json`, `{"a":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		n, err := (&redactingWriter{w: &buf}).Write(in)
		if err != nil || n != len(in) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		out := buf.Bytes()
		if !json.Valid(in) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("valid input %q gave invalid output %q", in, out)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber() // numbers beyond float64 are valid JSON
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if !checkRedacted(t, v) && !bytes.Equal(in, out) {
			t.Fatalf("input without sensitive keys changed: %q -> %q", in, out)
		}
	})
}

// checkRedacted fails t if a sensitive key in v has a value other than
// Redacted, and reports whether v has any sensitive key.
func checkRedacted(t *testing.T, v any) bool {
	found := false
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			q, _ := json.Marshal(k)
			if sensitiveKey(q) {
				found = true
				if val != Redacted {
					t.Fatalf("sensitive key %q kept value %v", k, val)
				}
				continue
			}
			found = checkRedacted(t, val) || found
		}
	case []any:
		for _, e := range v {
			found = checkRedacted(t, e) || found
		}
	}
	return found
}

func BenchmarkLogLine(b *testing.B) {
	for _, bc := range []struct {
		name   string
		secret bool
	}{{"clean", false}, {"redacted", true}} {
		b.Run(bc.name, func(b *testing.B) {
			inv := Invocation{Platform: PlatformFC, InvocationID: "1-6527a2b1-0123456789abcdef01234567", Trigger: "mns"}
			log := *zerolog.Ctx(WithInvocation(context.Background(), New(discard{}, zerolog.InfoLevel), inv))
			b.ReportAllocs()
			for b.Loop() {
				e := log.Info().Str(FieldHandshakeID, "h-0123456789abcdef").Str(FieldOutcome, "cancelled").
					Str(FieldErrorCode, "").Str(FieldAPIRequestID, "6C1B3E8C-3C1A-4D0B-9C5E-9A0F0E7A1234").
					Int(FieldAttempts, 1).Int64(FieldDurationMS, 87).Str(FieldStatus, "Pending")
				if bc.secret {
					e = e.Str("security_token", "CAIS"+secretValue)
				}
				e.Msg("handshake cancelled")
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
