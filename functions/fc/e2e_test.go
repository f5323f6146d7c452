package main_test

// End-to-end tests of the Function Compute binary: ./functions/fc built for
// this machine and run against a test implementation of FC's runtime API
// (internal/fcruntime), calling a Resource Manager emulator on 127.0.0.1.
// The invocations carry the role's STS credentials in the x-fc-access-key-*
// headers as FC sends them, while the process environment holds a different
// valid key: the emulator's call log shows which one signed. One binary, one
// process, one runtime API server and one Resource Manager emulator are
// shared by the package's tests, which run one after the other and seed what
// they need.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/fcruntime"
	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Shared by the tests of this package; set up by TestMain.
var (
	bin    string             // the built function
	emu    *rmemu.Server      // the Resource Manager emulator
	emuURL string             // its endpoint, http://127.0.0.1:port
	rt     *fcruntime.Server  // the runtime API the function polls
	proc   *fcruntime.Process // the function
)

// roleCreds are the invocation's role credentials (an STS triple the
// emulator accepts), sent in the x-fc-access-key-* headers.
var roleCreds = fcruntime.Credentials{KeyID: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret, Token: rmemu.TestSecurityToken}

// invokeTimeout bounds one invocation from the test's side.
const invokeTimeout = 30 * time.Second

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "janitor-fc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin = filepath.Join(dir, "main")
	if err := fcruntime.Build(ctx, ".", bin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	emu = rmemu.New(rmemu.Options{}) // accepts the test key and the STS triple
	hs := httptest.NewServer(emu)
	defer hs.Close()
	emuURL = hs.URL

	rt = fcruntime.NewServer(fcruntime.Options{Timeout: invokeTimeout})
	defer rt.Close()
	proc, err = fcruntime.StartProcess(bin, rt, fcruntime.ProcessOptions{Env: []string{
		"RESOURCEMANAGER_ENDPOINT=" + emuURL,
		// Valid, but not the role's: a call signed with these would
		// show that the invocation's credentials were not used.
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + rmemu.TestAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + rmemu.TestAccessKeySecret,
		// 500ms per attempt: the deadline budget starts nothing in the
		// last 1s of an invocation, which the deadline test relies on.
		"API_TIMEOUT=500ms",
		"API_QPS=200",
		"LOG_LEVEL=info",
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	// Stop the process before the runtime API: the SDK retries a failed
	// GET next in a tight loop.
	if err := proc.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "function stdout:\n%s\nfunction stderr:\n%s\n", testbin.Tail(proc.Stdout()), testbin.Tail(proc.Stderr()))
	}
	return code
}

// invoke hands payload to the function and returns its answer; a timeout
// fails the test.
func invoke(t *testing.T, payload []byte, opts fcruntime.InvokeOptions) fcruntime.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout+5*time.Second)
	defer cancel()
	resp, err := rt.Invoke(ctx, payload, opts)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TimedOut {
		t.Fatalf("invocation %s timed out", resp.RequestID)
	}
	return resp
}

// report decodes a Report answer; an error answer fails the test. The
// answer must be a JSON object: a []byte result would arrive as a base64
// string.
func report(t *testing.T, resp fcruntime.Response) janitor.Report {
	t.Helper()
	if resp.Err != nil {
		t.Fatalf("function error %s: %s", resp.Err.Type, resp.Err.Message)
	}
	if !strings.HasPrefix(string(resp.Body), "{") {
		t.Fatalf("answer is not a JSON object: %.200s", resp.Body)
	}
	var r janitor.Report
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		t.Fatalf("answer is not a Report: %v: %s", err, resp.Body)
	}
	return r
}

// stdoutLines returns the function's stdout so far, line by line: its JSON
// log lines and the SDK's own "FC Invoke Start/End" lines.
func stdoutLines() []string { return testbin.CompleteLines(proc.Stdout()) }

// startupVersion returns the version on the instance's start-up
// configuration line.
func startupVersion(t *testing.T) string {
	t.Helper()
	for _, line := range stdoutLines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "configuration" {
			v, _ := m[logging.FieldVersion].(string)
			return v
		}
	}
	t.Fatal("no start-up configuration line in the function's output")
	return ""
}

// wantSignedBy checks that every call naming each ID was signed by key,
// with a matching security token when sts.
func wantSignedBy(t *testing.T, key string, sts bool, ids ...string) {
	t.Helper()
	for _, id := range ids {
		n := 0
		for _, c := range emu.Calls() {
			if c.HandshakeID != id {
				continue
			}
			n++
			if c.AccessKeyID != key || c.STS != sts {
				t.Errorf("a call for %s was signed by %q (STS %v), want %q (STS %v)", id, c.AccessKeyID, c.STS, key, sts)
			}
		}
		if n == 0 {
			t.Errorf("no call for %s reached the emulator", id)
		}
	}
}

func TestSampleEvents(t *testing.T) {
	const (
		ab, zx, mn, sw = "h-Ab12Cd34Ef56Gh78", "h-Zx98Yw76Vu54Ts32", "h-Mn3oPq5rSt7uVw9x", "h-Sw3epOnlyStale9X"
		qr, ex, ca     = "h-Qr5tUv7wXy9zAb1c", "h-Ex4pIr6eDd8aTe0z", "h-Ca9cE1lEd3aLr5dY"
		missing        = "h-M1ss1ngN0tF0und2"
		injection      = "h-abc&Action=DeleteAccount"
		outsider, fr   = "h-Outs1d3rPers0na1", "h-Fr3shNobodyNam3d"
	)
	tests := []struct {
		file     string
		trigger  string
		summary  janitor.Summary
		outcomes map[string]handshake.Outcome
		state    map[string]handshake.Status
	}{
		{"fc-timer.json", "fc-timer", janitor.Summary{handshake.OutcomeCancelled: 1, handshake.OutcomeSkipped: 1},
			map[string]handshake.Outcome{zx: handshake.OutcomeCancelled, ex: handshake.OutcomeSkipped},
			map[string]handshake.Status{zx: handshake.StatusCancelled, ab: handshake.StatusPending}},
		{"fc-timer-sweep.json", "fc-timer", janitor.Summary{handshake.OutcomeCancelled: 3},
			map[string]handshake.Outcome{ab: handshake.OutcomeCancelled, zx: handshake.OutcomeCancelled, sw: handshake.OutcomeCancelled},
			map[string]handshake.Status{ab: handshake.StatusCancelled, zx: handshake.StatusCancelled, sw: handshake.StatusCancelled, mn: handshake.StatusPending}},
		{"fc-mns-queue.json", "mns-queue", janitor.Summary{handshake.OutcomeCancelled: 1},
			map[string]handshake.Outcome{mn: handshake.OutcomeCancelled},
			map[string]handshake.Status{mn: handshake.StatusCancelled}},
		{"fc-mns-queue-batch.json", "mns-queue", janitor.Summary{handshake.OutcomeCancelled: 1, handshake.OutcomeSkipped: 2},
			map[string]handshake.Outcome{ab: handshake.OutcomeCancelled, ex: handshake.OutcomeSkipped, ca: handshake.OutcomeSkipped},
			map[string]handshake.Status{ab: handshake.StatusCancelled}},
		{"fc-mns-topic.json", "mns-topic", janitor.Summary{handshake.OutcomeCancelled: 1, handshake.OutcomeSkipped: 1},
			map[string]handshake.Outcome{zx: handshake.OutcomeCancelled, qr: handshake.OutcomeSkipped},
			map[string]handshake.Status{zx: handshake.StatusCancelled, qr: handshake.StatusAccepted}},
		{"policy-sweep.json", "direct", janitor.Summary{handshake.OutcomeCancelled: 4},
			map[string]handshake.Outcome{ab: handshake.OutcomeCancelled, zx: handshake.OutcomeCancelled, sw: handshake.OutcomeCancelled, outsider: handshake.OutcomeCancelled},
			map[string]handshake.Status{outsider: handshake.StatusCancelled, mn: handshake.StatusPending, fr: handshake.StatusPending}},
		{"direct.json", "direct", janitor.Summary{handshake.OutcomeNotFound: 1, handshake.OutcomeSkipped: 1, handshake.OutcomeInvalid: 1},
			map[string]handshake.Outcome{missing: handshake.OutcomeNotFound, ca: handshake.OutcomeSkipped, injection: handshake.OutcomeInvalid},
			map[string]handshake.Status{ca: handshake.StatusCancelled}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			testkit.Reset(t, emu)
			emu.ResetStats()
			requestID := testkit.RequestID("sample-" + strings.TrimSuffix(tt.file, ".json"))
			resp := invoke(t, testkit.ReadEvent(t, tt.file), fcruntime.InvokeOptions{RequestID: requestID, Credentials: roleCreds})
			r := report(t, resp)
			if !maps.Equal(r.Summary, tt.summary) {
				t.Errorf("summary = %+v, want %+v", r.Summary, tt.summary)
			}
			got := testkit.Outcomes(r)
			if len(got) != len(tt.outcomes) {
				t.Errorf("results = %v, want %v", got, tt.outcomes)
			}
			for id, want := range tt.outcomes {
				if got[id] != want {
					t.Errorf("%s: outcome %q, want %q", id, got[id], want)
				}
			}
			for id, want := range tt.state {
				testkit.WantStatus(t, emu, want, id)
			}
			// Every call of the invocation was signed with the role's
			// credentials from the headers, not the environment's key.
			for _, c := range emu.Calls() {
				if c.Status == 499 {
					continue // a slow call another test's invocation left: never authenticated
				}
				if c.AccessKeyID != rmemu.TestSTSAccessKeyID || !c.STS {
					t.Errorf("%s call (%s) signed by %q (STS %v), want the role's %q with its token",
						c.Action, c.HandshakeID, c.AccessKeyID, c.STS, rmemu.TestSTSAccessKeyID)
				}
			}
			s := testkit.SummaryLine(t, stdoutLines, requestID)
			if s[logging.FieldPlatform] != logging.PlatformFC || s[logging.FieldTrigger] != tt.trigger {
				t.Errorf("summary line %v: want platform fc, trigger %s", s, tt.trigger)
			}
		})
	}
}

func TestInvocationCredentialsComeFirstAndAreNotKept(t *testing.T) {
	testkit.Reset(t, emu)
	withRole, without, again := "h-E2eFcCredRole001", "h-E2eFcCredNone001", "h-E2eFcCredRole002"
	testkit.SeedFresh(t, emu, withRole, without, again)
	steps := []struct {
		id    string
		creds fcruntime.Credentials
		key   string
		sts   bool
	}{
		{withRole, roleCreds, rmemu.TestSTSAccessKeyID, true},
		{without, fcruntime.Credentials{}, rmemu.TestAccessKeyID, false}, // no headers: the environment's chain
		{again, roleCreds, rmemu.TestSTSAccessKeyID, true},
	}
	for _, s := range steps {
		resp := invoke(t, []byte(`{"handshakeId":"`+s.id+`"}`), fcruntime.InvokeOptions{Credentials: s.creds})
		if got := testkit.Outcomes(report(t, resp))[s.id]; got != handshake.OutcomeCancelled {
			t.Errorf("%s: outcome %q, want cancelled", s.id, got)
		}
		wantSignedBy(t, s.key, s.sts, s.id)
	}
	for _, secret := range []string{rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, rmemu.TestAccessKeySecret} {
		if strings.Contains(proc.Stdout()+proc.Stderr(), secret) {
			t.Error("the function's output holds a secret or token")
		}
	}
}

func TestQueueBatchWithFailuresIsAnErrorNamingMessagesAndIDs(t *testing.T) {
	testkit.Reset(t, emu)
	good, failing := "h-E2eFcGood0000001", "h-E2eFcFail0000001"
	testkit.SeedFresh(t, emu, good, failing)
	emu.FailAlways(failing)
	batch := fmt.Sprintf(`[
		{"id":"e1","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":"MSG-GOOD","messageBody":%q}},
		{"id":"e2","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":"MSG-FAIL","messageBody":%q}},
		{"id":"e3","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":"MSG-INVALID","messageBody":"h-not-an-id"}},
		{"id":"e4","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":"MSG-MALFORMED","messageBody":"{\"handshakeIds\":["}}]`,
		good, `{"handshakeIds":["`+failing+`"]}`)
	rid := testkit.RequestID("queue-failures")
	resp := invoke(t, []byte(batch), fcruntime.InvokeOptions{RequestID: rid, Credentials: roleCreds})
	if resp.Err == nil {
		t.Fatalf("answer %s, want an error so that the trigger redelivers", resp.Body)
	}
	if resp.Err.Type != "RedeliverError" {
		t.Errorf("errorType %q, want RedeliverError", resp.Err.Type)
	}
	msg := resp.Err.Message
	for _, want := range []string{"3 of 4 record(s)", "MSG-FAIL (" + failing + " failed ServiceUnavailable)",
		"MSG-INVALID (h-not-an-id invalid)", "MSG-MALFORMED (not decoded)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errorMessage %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "MSG-GOOD") || strings.Contains(msg, good) {
		t.Errorf("errorMessage %q names the record that succeeded", msg)
	}
	testkit.WantStatus(t, emu, handshake.StatusCancelled, good)
	testkit.WantStatus(t, emu, handshake.StatusPending, failing)
	s := testkit.SummaryLine(t, stdoutLines, rid)
	if s["cancelled"] != 1.0 || s["failed"] != 1.0 || s["invalid"] != 1.0 {
		t.Errorf("summary line %v: want cancelled 1, failed 1, invalid 1", s)
	}
	// The build's version, on the summary line as on the start-up line.
	if v, _ := s[logging.FieldVersion].(string); v == "" || v != startupVersion(t) {
		t.Errorf("summary line version = %v, start-up line's %q: want the same, not empty", s[logging.FieldVersion], startupVersion(t))
	}

	// Redelivered once the fault is gone, the batch succeeds: the cancelled
	// invitation comes back skipped.
	emu.ClearScripts()
	redelivered := fmt.Sprintf(`[
		{"id":"e1","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":"MSG-GOOD","messageBody":%q}},
		{"id":"e2","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":"MSG-FAIL","messageBody":%q}}]`,
		good, failing)
	r := report(t, invoke(t, []byte(redelivered), fcruntime.InvokeOptions{Credentials: roleCreds}))
	if got := testkit.Outcomes(r); got[good] != handshake.OutcomeSkipped || got[failing] != handshake.OutcomeCancelled {
		t.Errorf("outcomes on redelivery = %v, want %s skipped, %s cancelled", got, good, failing)
	}
}

func TestTimerWithAFailureIsAnError(t *testing.T) {
	testkit.Reset(t, emu)
	failing := "h-E2eFcFail0000002"
	testkit.SeedFresh(t, emu, failing)
	emu.FailAlways(failing)
	event := `{"triggerTime":"2026-07-26T03:00:00Z","triggerName":"janitor-named","payload":"` + failing + `,h-Ca9cE1lEd3aLr5dY"}`
	resp := invoke(t, []byte(event), fcruntime.InvokeOptions{Credentials: roleCreds})
	if resp.Err == nil || resp.Err.Type != "FailedError" || !strings.Contains(resp.Err.Message, failing) ||
		!strings.Contains(resp.Err.Message, "skipped 1") {
		t.Errorf("answer %s / error %+v: want a FailedError naming %s with the counts", resp.Body, resp.Err, failing)
	}
}

func TestDeadlineAnswersBeforeTheTimeoutWithTheUnfinishedFailed(t *testing.T) {
	testkit.Reset(t, emu)
	ids := []string{"h-E2eFcSlow0000001", "h-E2eFcSlow0000002", "h-E2eFcSlow0000003", "h-E2eFcSlow0000004", "h-E2eFcSlow0000005", "h-E2eFcSlow0000006"}
	testkit.SeedFresh(t, emu, ids...)
	emu.SetFaults(rmemu.Faults{Latency: 10 * time.Second})
	defer emu.SetFaults(rmemu.Faults{})

	var events, keys []string
	for i, id := range ids {
		key := fmt.Sprintf("MSG-SLOW-%d", i)
		keys = append(keys, key)
		events = append(events, fmt.Sprintf(`{"id":"s%d","specversion":"1.0","type":"mns:Queue:SendMessage","source":"MNS-q","data":{"messageId":%q,"messageBody":%q}}`, i, key, id))
	}
	// 3 s for the invocation; the emulator answers after 10 s.
	resp := invoke(t, []byte("["+strings.Join(events, ",")+"]"), fcruntime.InvokeOptions{
		RequestID: testkit.RequestID("deadline"), Timeout: 3 * time.Second, Credentials: roleCreds,
	})
	if resp.Err == nil {
		t.Fatalf("answer %s, want an error naming every record", resp.Body)
	}
	for i, key := range keys {
		if want := key + " (" + ids[i] + " failed " + janitor.CodeDeadlineExceeded + ")"; !strings.Contains(resp.Err.Message, want) {
			t.Errorf("errorMessage %q does not contain %q", resp.Err.Message, want)
		}
	}
	testkit.WantStatus(t, emu, handshake.StatusPending, ids...)
}

func TestBadSettingStopsStartUpWithOneLine(t *testing.T) {
	srv := fcruntime.NewServerT(t, fcruntime.Options{})
	p := fcruntime.StartT(t, bin, srv, fcruntime.ProcessOptions{Env: []string{"RESOURCEMANAGER_ENDPOINT=" + emuURL, "API_QPS=fast"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err == nil {
		t.Error("the function started with API_QPS=fast")
	}
	if code, _ := p.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := `handshake-janitor: API_QPS="fast": want a number of calls per second`
	if lines := strings.Split(strings.TrimSpace(p.Stderr()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("stderr %q: want one line starting %q", lines, want)
	}
	if srv.Nexts() != 0 {
		t.Error("the function asked for an invocation")
	}
}

func TestTimerSweepWithATargetPolicyCancelsOutsidersAndStaleOnes(t *testing.T) {
	// An emulator, a runtime and a function of their own: the policy
	// cancels every Pending invitation to an outsider, whichever test
	// seeded it.
	seed := testkit.PolicySeed(time.Now())
	policyEmu, hs := testkit.Emulator(t, rmemu.Options{}, seed...)
	srv := fcruntime.NewServerT(t, fcruntime.Options{Timeout: invokeTimeout})
	p := fcruntime.StartT(t, bin, srv, fcruntime.ProcessOptions{Env: []string{
		"RESOURCEMANAGER_ENDPOINT=" + hs.URL,
		"ALLOWED_TARGETS=" + testkit.PolicyAllowedTargets,
		"API_QPS=200",
	}})
	requestID := testkit.RequestID("policy-sweep")
	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout+5*time.Second)
	defer cancel()
	resp, err := srv.Invoke(ctx, testkit.ReadEvent(t, "fc-timer-sweep.json"), fcruntime.InvokeOptions{RequestID: requestID, Credentials: roleCreds})
	if err != nil {
		t.Fatal(err)
	}
	report(t, resp) // not an error
	out := func() []string { return testbin.CompleteLines(p.Stdout()) }
	testkit.SummaryLine(t, out, requestID)
	testkit.CheckPolicySweep(t, policyEmu, seed, resp.Body, testkit.InvocationLines(t, out(), requestID))
}

// Function Compute serves Resource Directory only: DIRECTORY=aws-organizations
// stops start-up with one line saying so, before any invocation.
func TestAWSOrganizationsIsRefusedAtStartUp(t *testing.T) {
	srv := fcruntime.NewServerT(t, fcruntime.Options{})
	p := fcruntime.StartT(t, bin, srv, fcruntime.ProcessOptions{Env: []string{"RESOURCEMANAGER_ENDPOINT=" + emuURL, "DIRECTORY=aws-organizations"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err == nil {
		t.Error("the function started with DIRECTORY=aws-organizations")
	}
	want := `handshake-janitor: DIRECTORY="aws-organizations": Function Compute serves resource-directory only`
	if lines := strings.Split(strings.TrimSpace(p.Stderr()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("stderr %q: want one line starting %q", lines, want)
	}
	if srv.Nexts() != 0 {
		t.Error("the function asked for an invocation")
	}
}
