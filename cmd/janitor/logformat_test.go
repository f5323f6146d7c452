package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cancelWithLogFormat runs `janitor cancel` on a cancellable, a final and an
// invalid invitation with -log-format format, logging to stderr.
func cancelWithLogFormat(t *testing.T, format string, stderr *os.File) (code int, stdout string) {
	t.Helper()
	_, getenv := emulatorEnv(t, pending("h-Pending000000001", time.Hour))
	var out bytes.Buffer
	args := []string{"cancel", "h-Pending000000001", "h-Missing000000001", "h-bad"}
	if format != "" {
		args = append([]string{"cancel", "-log-format", format}, args[1:]...)
	}
	code = run(context.Background(), args, &out, stderr, getenv)
	return code, out.String()
}

// tempFile is a regular file standing in for a redirected stderr.
func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogsAreJSONLinesWhenRedirectedOrAskedFor(t *testing.T) {
	for _, format := range []string{"", "auto", "json"} {
		t.Run("format="+format, func(t *testing.T) {
			f := tempFile(t)
			if code, _ := cancelWithLogFormat(t, format, f); code != 0 {
				t.Fatalf("exit %d:\n%s", code, readAll(t, f))
			}
			sc := bufio.NewScanner(strings.NewReader(readAll(t, f)))
			var outcomes []string
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("not a JSON line: %v: %s", err, sc.Bytes())
				}
				if o, ok := m["outcome"].(string); ok {
					outcomes = append(outcomes, o)
				}
			}
			if strings.Join(outcomes, ",") != "cancelled,not_found,invalid" {
				t.Errorf("outcomes logged %v, want cancelled, not_found, invalid", outcomes)
			}
		})
	}
}

func TestLogFormatConsoleIsReadableAndTheReportATable(t *testing.T) {
	f := tempFile(t)
	code, stdout := cancelWithLogFormat(t, "console", f)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	logs := readAll(t, f)
	for _, want := range []string{
		`(?m)^\d\d:\d\d:\d\d INF cancelled h-Pending000000001 named status=Cancelled attempts=1 `,
		`(?m)^\d\d:\d\d:\d\d WRN not_found h-Missing000000001 named EntityNotExists.Handshake error=`,
		`(?m)^\d\d:\d\d:\d\d WRN invalid   h-bad named error=`,
		`(?m)^\d\d:\d\d:\d\d INF invocation summary cancelled=1 skipped=0 not_found=1 invalid=1 dry_run=0 failed=0 `,
	} {
		if !regexp.MustCompile(want).MatchString(logs) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "{") || strings.Contains(logs, "\x1b[") {
		t.Errorf("console logs to a file hold JSON or color codes:\n%s", logs)
	}
	if !regexp.MustCompile(`(?m)^HANDSHAKE\s+OUTCOME\s+REASON\s+TARGET\s+STATUS\s+ERROR CODE\s+ATTEMPTS\s+REQUEST ID\n` +
		`h-Pending000000001\s+cancelled\s+named\s+\S+\s+Cancelled\s+-\s+1\s+\S+\n`).MatchString(stdout) {
		t.Errorf("the Report is not a table:\n%s", stdout)
	}
}

func TestBadLogFormatExitsTwo(t *testing.T) {
	for _, cmd := range [][]string{{"sweep"}, {"cancel", "h-Pending000000001"}, {"invoke", "-event", "x"}, {"demo"}} {
		var stdout, stderr bytes.Buffer
		args := append([]string{cmd[0], "-log-format", "yaml"}, cmd[1:]...)
		if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 2 {
			t.Errorf("janitor %q: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "want auto, console or json") {
			t.Errorf("janitor %q: stderr does not say what is accepted:\n%s", args, stderr.String())
		}
	}
}

func TestDevNullAndFilesAreNotTerminals(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is a character device but no terminal")
	}
	if isTerminal(tempFile(t)) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
}

func TestReportCellsNeverBreakTheTableOrTheTerminal(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "-",
		"h-Ab12Cd34Ef56Gh78": "h-Ab12Cd34Ef56Gh78",
		"h-a\tb":             `"h-a\tb"`,
		"h-\x1b[2J":          `"h-\x1b[2J"`,
		"two words":          `"two words"`,
		`say "hi"`:           `"say \"hi\""`,
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %s, want %s", in, got, want)
		}
	}
}
