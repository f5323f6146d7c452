package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// readmeCLICommands returns the janitor command lines of README.md's "The
// CLI" section, each split into its arguments (single quotes honoured,
// comments dropped).
func readmeCLICommands(t *testing.T) [][]string {
	t.Helper()
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The CLI\n")
	if !ok {
		t.Fatal(`README.md has no section "The CLI"`)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal(`README.md's "The CLI" has no sh block`)
	}
	block, _, _ = strings.Cut(block, "```")
	var out [][]string
	for line := range strings.Lines(block) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "./janitor ")
		if !ok {
			continue
		}
		out = append(out, shellWords(t, rest))
	}
	if len(out) < 3 {
		t.Fatalf("found %d janitor commands in README.md's \"The CLI\": %q", len(out), out)
	}
	return out
}

// shellWords splits a command line as sh would for the simple lines the
// README shows: blanks separate words, single quotes quote, # starts a
// comment.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == '#' && !inWord:
			return words
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			if strings.ContainsRune(`"$\|&;<>()`+"`", r) {
				t.Fatalf("README command %q uses shell syntax this test does not read", s)
			}
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("README command %q has an unterminated quote", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// Every janitor command the README shows runs as shown, from the module's
// root, against the emulator seeded as `janitor emulator --seed` seeds it
// (the emulator command itself on a free port), and exits 0.
func TestReadmeCLICommandsRun(t *testing.T) {
	cmds := readmeCLICommands(t)
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	emu, ts := testkit.Emulator(t, rmemu.Options{})
	env := map[string]string{"RESOURCEMANAGER_ENDPOINT": ts.URL}
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", rmemu.TestAccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", rmemu.TestAccessKeySecret)
	getenv := func(k string) string { return env[k] }
	for _, args := range cmds {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			testkit.Reset(t, emu)
			if args[0] == "emulator" {
				runEmulatorAsShown(t, args)
				return
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr, getenv); code != 0 {
				t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr.String())
			}
			if stdout.Len() == 0 {
				t.Error("printed no Report")
			}
		})
	}
}

// runEmulatorAsShown runs the README's emulator command on a free port (the
// flag added last wins) until it serves its seed, then stops it.
func runEmulatorAsShown(t *testing.T, args []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(args, "-addr", "127.0.0.1:0", "-quiet"), pw, io.Discard, nil)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		t.Fatalf("emulator printed %q, %v; want its endpoint", line, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("emulator exit %d after interrupt, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop")
	}
}
