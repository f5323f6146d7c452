// Package testkit is test support shared by the module's packages: the
// Resource Manager emulator served on 127.0.0.1 with a client signing with
// its test credentials, the sample events under events/, and the checks the
// end-to-end tests make on the emulator and on a function's JSON log lines.
// Only tests import it.
package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// The emulator's well-known test credentials: a long-term key, and an STS
// triple as a RAM role hands out.
var (
	Credentials    = resourcemanager.Credentials{AccessKeyID: rmemu.TestAccessKeyID, AccessKeySecret: rmemu.TestAccessKeySecret}
	STSCredentials = resourcemanager.Credentials{AccessKeyID: rmemu.TestSTSAccessKeyID, AccessKeySecret: rmemu.TestSTSAccessKeySecret, SecurityToken: rmemu.TestSecurityToken}
)

// Emulator makes an rmemu Server with opts, seeds it and serves it over
// real HTTP on 127.0.0.1 until the test ends.
func Emulator(t testing.TB, opts rmemu.Options, seed ...handshake.Handshake) (*rmemu.Server, *httptest.Server) {
	t.Helper()
	emu := rmemu.New(opts)
	if err := emu.Seed(seed...); err != nil {
		t.Fatalf("seed: %v", err)
	}
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	return emu, hs
}

// Client is a real resourcemanager.Client for the emulator at url, fast so
// that tests stay quick: Credentials, QPS 1000, 3 attempts and a 2 s timeout,
// unless o sets them.
func Client(t testing.TB, url string, o resourcemanager.Options) *resourcemanager.Client {
	t.Helper()
	o.Endpoint = url
	if o.Credentials == nil {
		o.Credentials = resourcemanager.StaticCredentials(Credentials)
	}
	if o.QPS == 0 {
		o.QPS = 1000
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	c, err := resourcemanager.New(o)
	if err != nil {
		t.Fatalf("resourcemanager.New: %v", err)
	}
	return c
}

// eventsDir is the module's events/ directory.
func eventsDir(t testing.TB) string {
	t.Helper()
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "events")
}

// ReadEvent returns the sample event events/name.
func ReadEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Reset seeds emu with the invitations events/README.md describes
// (events/emulator/seed.json, replacing their state) and removes every fault
// and script.
func Reset(t testing.TB, emu *rmemu.Server) {
	t.Helper()
	emu.SetFaults(rmemu.Faults{})
	emu.ClearScripts()
	f, err := os.Open(filepath.Join(eventsDir(t), "emulator", "seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := emu.LoadSeed(f); err != nil {
		t.Fatal(err)
	}
}

// SeedFresh adds Pending invitations created a minute ago: no sweep selects
// them.
func SeedFresh(t testing.TB, emu *rmemu.Server, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := emu.Seed(handshake.Handshake{HandshakeID: id, TargetEntity: "1000000000000001", CreateTime: time.Now().Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
}

// WantStatus checks that each invitation is in status want in emu.
func WantStatus(t testing.TB, emu *rmemu.Server, want handshake.Status, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got := emu.Status(id); got != want {
			t.Errorf("emulator: %s is %q, want %q", id, got, want)
		}
	}
}

// Outcomes indexes a Report's outcomes by HandshakeID.
func Outcomes(r janitor.Report) map[string]handshake.Outcome {
	m := make(map[string]handshake.Outcome, len(r.Results))
	for _, res := range r.Results {
		m[res.HandshakeID] = res.Outcome
	}
	return m
}

var seq atomic.Int64

// RequestID makes a request ID unique in the process (tests may run more
// than once against a shared function), so that its log lines are its own.
func RequestID(name string) string { return fmt.Sprintf("%s-%d", name, seq.Add(1)) }

// InvocationLines decodes the lines of a function's output that are JSON
// objects and returns those of invocation requestID. A line that starts
// with "{" but is not JSON is an error; other lines (a platform's own) are
// passed over.
func InvocationLines(t testing.TB, output []string, requestID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range output {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("function line is not JSON: %v: %s", err, line)
			continue
		}
		if m[logging.FieldInvocationID] == requestID {
			out = append(out, m)
		}
	}
	return out
}

// Summaries returns the "invocation summary" lines of lines.
func Summaries(lines []map[string]any) []map[string]any {
	var out []map[string]any
	for _, m := range lines {
		if m["message"] == logging.MessageSummary {
			out = append(out, m)
		}
	}
	return out
}

// SummaryLine waits for the one summary line of invocation requestID in
// output and returns it. The answer can reach the test before the
// function's output has come through its pipe, so the wait is bounded (5 s),
// not skipped.
func SummaryLine(t testing.TB, output func() []string, requestID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sums := Summaries(InvocationLines(t, output(), requestID))
		if len(sums) == 1 {
			return sums[0]
		}
		if len(sums) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d summary lines for %s, want 1", len(sums), requestID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// LogBuffer collects log lines; safe for concurrent writes (zerolog writes
// each line in one Write).
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of everything written so far.
func (b *LogBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Reset forgets what was written.
func (b *LogBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines decodes every line written so far; a line that is not one JSON
// object fails the test.
func (b *LogBuffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader([]byte(b.String())))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not a JSON object: %v: %s", err, sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}
