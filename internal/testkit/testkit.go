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
// that tests stay quick: Credentials, QPS 1000 and 3 attempts, unless o sets
// them. Its attempts take the API timeout of their call's deadline.Budget.
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

// SeedOverTheGuard adds n stale Pending invitations (created 8 days ago:
// older than the default STALE_AFTER, not yet expired), with IDs made of
// prefix and a number, so that a sweep selects more than a guard of n-1
// refuses. When the test ends they are Cancelled, so that no later sweep
// of a shared emulator meets them.
func SeedOverTheGuard(t testing.TB, emu *rmemu.Server, prefix string, n int) {
	t.Helper()
	stale := make([]handshake.Handshake, n)
	for i := range stale {
		stale[i] = handshake.Handshake{
			HandshakeID: fmt.Sprintf("h-%s%0*d", prefix, 16-len(prefix), i),
			CreateTime:  time.Now().Add(-8 * 24 * time.Hour),
		}
	}
	if err := emu.Seed(stale...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := range stale {
			stale[i].Status = handshake.StatusCancelled
		}
		if err := emu.Seed(stale...); err != nil {
			t.Error(err)
		}
	})
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

// PolicyAllowedTargets is the target policy of the end-to-end policy case:
// ALLOWED_TARGETS for the function that sweeps PolicySeed.
const PolicyAllowedTargets = "*@example.com, 1234567890123456"

// PolicySeed returns the invitations of the end-to-end policy case, created
// relative to now: Pending ones to allowed and to outside targets, fresh and
// stale (STALE_AFTER is the default 7 days), and final ones to outsiders.
// PolicyReasons says which a sweep under PolicyAllowedTargets cancels.
func PolicySeed(now time.Time) []handshake.Handshake {
	day := 24 * time.Hour
	h := func(id string, tt handshake.TargetType, entity string, age time.Duration, st handshake.Status) handshake.Handshake {
		return handshake.Handshake{HandshakeID: id, TargetType: tt, TargetEntity: entity, Status: st, CreateTime: now.Add(-age), Note: "policy case"}
	}
	const (
		acc, mail = handshake.TargetAccount, handshake.TargetEmail
		pending   = handshake.StatusPending
	)
	return []handshake.Handshake{
		h("h-P0licyOutsider01", mail, "jane.doe@example.org", time.Hour, pending), // fresh, outside
		h("h-P0licyOutsider02", acc, "9999999999999999", 2*time.Hour, pending),    // fresh, outside account
		h("h-P0licySubdomain1", mail, "ops@mail.example.com", time.Hour, pending), // *@example.com does not cover subdomains
		h("h-P0licyStaleOut01", mail, "former@example.net", 9*day, pending),       // stale and outside
		h("h-P0licyStaleOk001", mail, "old.mailbox@example.com", 10*day, pending), // stale, allowed
		h("h-P0licyStaleOk002", acc, "1234567890123456", 8*day, pending),          // stale, allowed account
		h("h-P0licyFreshOk001", mail, "New.Hire@EXAMPLE.com", time.Hour, pending), // fresh, allowed (case)
		h("h-P0licyFreshOk002", acc, "1234567890123456", 3*time.Hour, pending),    // fresh, allowed account
		h("h-P0licyAccepted01", mail, "partner@example.org", time.Hour, handshake.StatusAccepted),
		h("h-P0licyDeclined01", acc, "8888888888888888", time.Hour, handshake.StatusDeclined),
		h("h-P0licyCancelled1", mail, "typo@exmaple.com", time.Hour, handshake.StatusCancelled),
		h("h-P0licyExpired001", mail, "gone@example.org", 20*day, pending), // reads as Expired
	}
}

// PolicyReasons is what a sweep under PolicyAllowedTargets cancels among
// PolicySeed, and the reason it must give; every other invitation stays as
// it was.
var PolicyReasons = map[string]string{
	"h-P0licyOutsider01": "target_not_allowed",
	"h-P0licyOutsider02": "target_not_allowed",
	"h-P0licySubdomain1": "target_not_allowed",
	"h-P0licyStaleOut01": "target_not_allowed",
	"h-P0licyStaleOk001": "stale",
	"h-P0licyStaleOk002": "stale",
}

// CheckPolicySweep checks what a sweep under PolicyAllowedTargets did to
// PolicySeed, from the function's answer (a Report, read as JSON so that
// the wire names are what is checked), its log lines for the invocation,
// and the emulator's state: exactly the invitations of PolicyReasons
// cancelled, each with its reason and its target, e-mail addresses redacted
// in both the answer and the lines; every other invitation as seeded.
func CheckPolicySweep(t testing.TB, emu *rmemu.Server, seed []handshake.Handshake, answer []byte, lines []map[string]any) {
	t.Helper()
	byID := map[string]handshake.Handshake{}
	for _, h := range seed {
		byID[h.HandshakeID] = h
	}
	var rep struct {
		Results []struct {
			HandshakeID  string `json:"handshakeId"`
			Outcome      string `json:"outcome"`
			Reason       string `json:"reason"`
			TargetType   string `json:"targetType"`
			TargetEntity string `json:"targetEntity"`
		} `json:"results"`
	}
	if err := json.Unmarshal(answer, &rep); err != nil {
		t.Fatalf("answer is not a Report: %v: %s", err, answer)
	}
	if len(rep.Results) != len(PolicyReasons) {
		t.Errorf("%d results, want %d: %s", len(rep.Results), len(PolicyReasons), answer)
	}
	for _, r := range rep.Results {
		h := byID[r.HandshakeID]
		if want, ok := PolicyReasons[r.HandshakeID]; !ok || r.Outcome != string(handshake.OutcomeCancelled) || r.Reason != want {
			t.Errorf("result %s: outcome %q, reason %q; want cancelled with reason %q", r.HandshakeID, r.Outcome, r.Reason, want)
		}
		if r.TargetType != string(h.TargetType) || r.TargetEntity != redacted(h) {
			t.Errorf("result %s: target %s %q, want %s %q", r.HandshakeID, r.TargetType, r.TargetEntity, h.TargetType, redacted(h))
		}
	}
	results := 0
	for _, m := range lines {
		id, ok := m[logging.FieldHandshakeID].(string)
		if !ok {
			continue
		}
		results++
		h := byID[id]
		if m[logging.FieldReason] != PolicyReasons[id] || m[logging.FieldTargetType] != string(h.TargetType) || m[logging.FieldTargetEntity] != redacted(h) {
			t.Errorf("result line %v: want reason %q, target %s %q", m, PolicyReasons[id], h.TargetType, redacted(h))
		}
	}
	if results != len(PolicyReasons) {
		t.Errorf("%d result lines, want %d", results, len(PolicyReasons))
	}
	for _, h := range seed {
		if h.TargetType == handshake.TargetEmail && strings.Contains(string(answer), h.TargetEntity) {
			t.Errorf("the answer holds the address %s, which LOG_TARGETS=false redacts", h.TargetEntity)
		}
		want := h.Status
		if _, ok := PolicyReasons[h.HandshakeID]; ok {
			want = handshake.StatusCancelled
		} else if time.Since(h.CreateTime) > 14*24*time.Hour {
			want = handshake.StatusExpired
		}
		WantStatus(t, emu, want, h.HandshakeID)
	}
}

// redacted is how a target appears with LOG_TARGETS unset: account IDs as
// they are, e-mail addresses in lower case as their first character, ***
// and the domain.
func redacted(h handshake.Handshake) string {
	if h.TargetType == handshake.TargetAccount {
		return h.TargetEntity
	}
	e := strings.ToLower(h.TargetEntity)
	at := strings.IndexByte(e, '@')
	return e[:1] + "***" + e[at:]
}
