package main_test

// End-to-end tests of the Lambda binary: ./functions/aws built for this
// machine, run under the AWS Lambda Runtime Interface Emulator (no Docker),
// calling a Resource Manager emulator on 127.0.0.1 with its test
// credentials. One binary, one Resource Manager emulator and one Lambda
// emulator are shared by the package's tests, which therefore run one after
// the other and seed what they need.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/lambdarie"
	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Shared by the tests of this package; set up by TestMain.
var (
	bootstrap string              // the built function
	emu       *rmemu.Server       // the Resource Manager emulator
	emuURL    string              // its endpoint, http://127.0.0.1:port
	fn        *lambdarie.Emulator // the function under the Lambda emulator, 30 s timeout
)

// invokeTimeout bounds one invocation from the test's side.
const invokeTimeout = 30 * time.Second

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "janitor-aws-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bootstrap = filepath.Join(dir, "bootstrap")
	if err := lambdarie.Build(ctx, ".", bootstrap); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	emu = rmemu.New(rmemu.Options{})
	hs := httptest.NewServer(emu)
	defer hs.Close()
	emuURL = hs.URL

	fn, err = lambdarie.Start(ctx, bootstrap, lambdarie.Options{Env: functionEnv(), Timeout: 30 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if err := fn.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "function output:\n%s\nemulator log:\n%s\n", testbin.Tail(fn.Output()), testbin.Tail(fn.Log()))
	}
	return code
}

// functionEnv is the function's environment: the emulator as endpoint, its
// long-term test key as credentials (read by the credentials-go chain).
func functionEnv(extra ...string) []string {
	return append([]string{
		"RESOURCEMANAGER_ENDPOINT=" + emuURL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + rmemu.TestAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + rmemu.TestAccessKeySecret,
		"API_QPS=200",
		"LOG_LEVEL=info",
		"METRICS_NAMESPACE=" + metricsNamespace,
	}, extra...)
}

// invoke posts payload to e as request requestID and returns the body of a
// 200 answer; a timeout answer fails the test.
func invoke(t *testing.T, e *lambdarie.Emulator, requestID string, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
	defer cancel()
	status, body, err := e.InvokeWithID(ctx, requestID, payload)
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 {
		t.Fatalf("status %d, want 200: %s", status, body)
	}
	if lambdarie.IsTimeout(body) {
		t.Fatalf("the function timed out: %s", body)
	}
	return body
}

// report decodes a Report answer; an error answer fails the test.
func report(t *testing.T, body []byte) janitor.Report {
	t.Helper()
	if fe, ok := lambdarie.ParseError(body); ok {
		t.Fatalf("function error %s: %s", fe.Type, fe.Message)
	}
	var r janitor.Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer is not a Report: %v: %s", err, body)
	}
	return r
}

// batchItemFailures decodes an SQS partial batch response strictly.
func batchItemFailures(t *testing.T, body []byte) []string {
	t.Helper()
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	if err := d.Decode(&resp); err != nil || resp.BatchItemFailures == nil {
		t.Fatalf("answer is not an SQS partial batch response (%v): %s", err, body)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestSampleEvents(t *testing.T) {
	const (
		ab, zx, mn, sw  = "h-Ab12Cd34Ef56Gh78", "h-Zx98Yw76Vu54Ts32", "h-Mn3oPq5rSt7uVw9x", "h-Sw3epOnlyStale9X"
		qr, ca, missing = "h-Qr5tUv7wXy9zAb1c", "h-Ca9cE1lEd3aLr5dY", "h-M1ss1ngN0tF0und2"
		injection       = "h-abc&Action=DeleteAccount"
		outsider, fr    = "h-Outs1d3rPers0na1", "h-Fr3shNobodyNam3d"
	)
	tests := []struct {
		file     string
		trigger  string
		failures []string                     // SQS: the records to redeliver
		summary  *janitor.Summary             // otherwise: the Report
		outcomes map[string]handshake.Outcome // and its results
		state    map[string]handshake.Status  // the emulator afterwards
	}{
		{file: "aws-sqs.json", trigger: "sqs", failures: []string{},
			state: map[string]handshake.Status{ab: handshake.StatusCancelled, zx: handshake.StatusCancelled, mn: handshake.StatusCancelled, qr: handshake.StatusAccepted, sw: handshake.StatusPending}},
		{file: "aws-scheduled-event.json", trigger: "scheduled-event",
			summary:  &janitor.Summary{handshake.OutcomeCancelled: 3},
			outcomes: map[string]handshake.Outcome{ab: handshake.OutcomeCancelled, zx: handshake.OutcomeCancelled, sw: handshake.OutcomeCancelled},
			state:    map[string]handshake.Status{ab: handshake.StatusCancelled, zx: handshake.StatusCancelled, sw: handshake.StatusCancelled, mn: handshake.StatusPending}},
		{file: "aws-schedule-input.json", trigger: "schedule",
			summary:  &janitor.Summary{handshake.OutcomeDryRun: 3},
			outcomes: map[string]handshake.Outcome{ab: handshake.OutcomeDryRun, zx: handshake.OutcomeDryRun, sw: handshake.OutcomeDryRun},
			state:    map[string]handshake.Status{ab: handshake.StatusPending, zx: handshake.StatusPending, sw: handshake.StatusPending, mn: handshake.StatusPending}},
		{file: "policy-sweep.json", trigger: "direct",
			summary:  &janitor.Summary{handshake.OutcomeCancelled: 4},
			outcomes: map[string]handshake.Outcome{ab: handshake.OutcomeCancelled, zx: handshake.OutcomeCancelled, sw: handshake.OutcomeCancelled, outsider: handshake.OutcomeCancelled},
			state:    map[string]handshake.Status{outsider: handshake.StatusCancelled, mn: handshake.StatusPending, fr: handshake.StatusPending}},
		{file: "direct.json", trigger: "direct",
			summary:  &janitor.Summary{handshake.OutcomeNotFound: 1, handshake.OutcomeSkipped: 1, handshake.OutcomeInvalid: 1},
			outcomes: map[string]handshake.Outcome{missing: handshake.OutcomeNotFound, ca: handshake.OutcomeSkipped, injection: handshake.OutcomeInvalid},
			state:    map[string]handshake.Status{ca: handshake.StatusCancelled, ab: handshake.StatusPending}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			testkit.Reset(t, emu)
			emu.ResetStats()
			requestID := testkit.RequestID("sample-" + strings.TrimSuffix(tt.file, ".json"))
			body := invoke(t, fn, requestID, testkit.ReadEvent(t, tt.file))
			if tt.failures != nil {
				if got := batchItemFailures(t, body); !slices.Equal(got, tt.failures) {
					t.Errorf("batchItemFailures = %q, want %q", got, tt.failures)
				}
			} else {
				r := report(t, body)
				if !maps.Equal(r.Summary, *tt.summary) {
					t.Errorf("summary = %+v, want %+v", r.Summary, *tt.summary)
				}
				if got := testkit.Outcomes(r); len(got) != len(tt.outcomes) {
					t.Errorf("results = %v, want %v", got, tt.outcomes)
				}
				for id, want := range tt.outcomes {
					if got := testkit.Outcomes(r)[id]; got != want {
						t.Errorf("%s: outcome %q, want %q", id, got, want)
					}
				}
			}
			for id, want := range tt.state {
				testkit.WantStatus(t, emu, want, id)
			}
			// The function signed with the key from its environment.
			for _, c := range emu.Calls() {
				if c.Status == 499 {
					continue // a slow call another test's function left: never authenticated
				}
				if c.AccessKeyID != rmemu.TestAccessKeyID {
					t.Errorf("%s call (%s) signed by %q, want the environment's key", c.Action, c.HandshakeID, c.AccessKeyID)
				}
			}
			s := testkit.SummaryLine(t, fn.FunctionLines, requestID)
			if s[logging.FieldPlatform] != logging.PlatformAWS || s[logging.FieldTrigger] != tt.trigger {
				t.Errorf("summary line %v: want platform aws, trigger %s", s, tt.trigger)
			}
		})
	}
}

func TestSQSPartialBatchListsExactlyTheMalformedAndTheFailingRecords(t *testing.T) {
	testkit.Reset(t, emu)
	good, failing := "h-E2eAwsGood000001", "h-E2eAwsFail000001"
	testkit.SeedFresh(t, emu, good, failing)
	emu.FailAlways(failing)
	event := fmt.Sprintf(`{"Records":[
		{"messageId":"m-good","body":%q,"eventSource":"aws:sqs"},
		{"messageId":"m-malformed","body":"{\"handshakeIds\":[","eventSource":"aws:sqs"},
		{"messageId":"m-failing","body":%q,"eventSource":"aws:sqs"}]}`,
		`{"handshakeIds":["`+good+`"]}`, failing)
	rid := testkit.RequestID("partial-batch")
	body := invoke(t, fn, rid, []byte(event))
	if got, want := batchItemFailures(t, body), []string{"m-malformed", "m-failing"}; !slices.Equal(got, want) {
		t.Errorf("batchItemFailures = %q, want %q", got, want)
	}
	testkit.WantStatus(t, emu, handshake.StatusCancelled, good)
	testkit.WantStatus(t, emu, handshake.StatusPending, failing)
	s := testkit.SummaryLine(t, fn.FunctionLines, rid)
	if s["cancelled"] != 1.0 || s["failed"] != 1.0 {
		t.Errorf("summary line %v: want cancelled 1, failed 1", s)
	}
}

func TestHandlerErrorIsA200WithErrorMessage(t *testing.T) {
	testkit.Reset(t, emu)
	failing := "h-E2eAwsFail000002"
	testkit.SeedFresh(t, emu, failing)
	emu.FailAlways(failing)
	tests := []struct {
		name, event, errType string
		has                  []string
	}{
		{"a failed invitation", `{"handshakeIds":["` + failing + `","h-Ca9cE1lEd3aLr5dY"]}`, "FailedError",
			[]string{"1 invitation(s) failed", failing, "skipped 1"}},
		{"an event not accepted", `[{"handshakeId":"h-E2eAwsFail000002"}]`, "",
			[]string{"event not accepted", "JSON array"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := invoke(t, fn, testkit.RequestID("error"), []byte(tt.event))
			fe, ok := lambdarie.ParseError(body)
			if !ok {
				t.Fatalf("answer %s: want an errorMessage", body)
			}
			if tt.errType != "" && fe.Type != tt.errType {
				t.Errorf("errorType %q, want %q", fe.Type, tt.errType)
			}
			for _, s := range tt.has {
				if !strings.Contains(fe.Message, s) {
					t.Errorf("errorMessage %q does not contain %q", fe.Message, s)
				}
			}
		})
	}
}

func TestDeadlineAnswersBeforeTheTimeoutWithTheUnfinishedFailed(t *testing.T) {
	testkit.Reset(t, emu)
	// A function of its own: 3 s timeout, 500 ms per API attempt, so that
	// its deadline budget starts nothing in the last 1 s, cuts calls off
	// 500 ms before the deadline and answers 250 ms before it at the
	// latest; the emulator answers after 10 s.
	slow := lambdarie.StartT(t, bootstrap, lambdarie.Options{Env: functionEnv("API_TIMEOUT=500ms"), Timeout: 3 * time.Second})
	ids := []string{"h-E2eAwsSlow000001", "h-E2eAwsSlow000002", "h-E2eAwsSlow000003", "h-E2eAwsSlow000004", "h-E2eAwsSlow000005", "h-E2eAwsSlow000006"}
	testkit.SeedFresh(t, emu, ids...)
	emu.SetFaults(rmemu.Faults{Latency: 10 * time.Second})
	defer emu.SetFaults(rmemu.Faults{})

	var records []string
	var want []string
	for i, id := range ids {
		key := fmt.Sprintf("m-slow-%d", i)
		records = append(records, fmt.Sprintf(`{"messageId":%q,"body":%q,"eventSource":"aws:sqs"}`, key, id))
		want = append(want, key)
	}
	body := invoke(t, slow, "deadline", []byte(`{"Records":[`+strings.Join(records, ",")+`]}`))
	if got := batchItemFailures(t, body); !slices.Equal(got, want) {
		t.Errorf("batchItemFailures = %q, want every record %q", got, want)
	}
	testkit.WantStatus(t, emu, handshake.StatusPending, ids...)
	testkit.SummaryLine(t, slow.FunctionLines, "deadline") // the engine's last line: the result lines are in
	results := 0
	for _, m := range testkit.InvocationLines(t, slow.FunctionLines(), "deadline") {
		if _, ok := m[logging.FieldHandshakeID]; !ok {
			continue
		}
		results++
		if m[logging.FieldOutcome] != string(handshake.OutcomeFailed) || m[logging.FieldErrorCode] != janitor.CodeDeadlineExceeded {
			t.Errorf("result line %v: want failed, %s", m, janitor.CodeDeadlineExceeded)
		}
	}
	if results != len(ids) {
		t.Errorf("%d result lines, want %d", results, len(ids))
	}
}

func TestColdStartAndShutdownLines(t *testing.T) {
	testkit.Reset(t, emu)
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{Env: functionEnv(), Timeout: 10 * time.Second})
	for _, id := range []string{"first", "second"} {
		report(t, invoke(t, f, id, []byte(`{"handshakeId":"h-Ca9cE1lEd3aLr5dY"}`)))
	}
	first := testkit.SummaryLine(t, f.FunctionLines, "first")
	if first[logging.FieldColdStart] != true {
		t.Errorf("first invocation: cold_start = %v, want true", first[logging.FieldColdStart])
	}
	if s := testkit.SummaryLine(t, f.FunctionLines, "second"); s[logging.FieldColdStart] != false {
		t.Errorf("second invocation: cold_start = %v, want false", s[logging.FieldColdStart])
	}

	// Close sends SIGTERM; the emulator passes it on to the function,
	// which registered for it and logs before it exits.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var shutdown, config bool
	var configVersion any
	sc := bufio.NewScanner(strings.NewReader(f.Output()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch m["message"] {
		case "SIGTERM received, shutting down":
			shutdown = m[logging.FieldPlatform] == logging.PlatformAWS
		case "configuration":
			config = m["endpoint"] == emuURL
			configVersion = m[logging.FieldVersion]
		}
	}
	if !shutdown {
		t.Errorf("no shutdown line after SIGTERM in the function's output:\n%s", testbin.Tail(f.Output()))
	}
	if !config {
		t.Errorf("no start-up configuration line naming the endpoint in the function's output")
	}
	// The build's version, once at start-up and on every summary line.
	if v, _ := configVersion.(string); v == "" || first[logging.FieldVersion] != v {
		t.Errorf("version: %q on the configuration line, %v on the summary line; want the same, not empty", configVersion, first[logging.FieldVersion])
	}
	for _, secret := range []string{rmemu.TestAccessKeySecret} {
		if strings.Contains(f.Output(), secret) {
			t.Errorf("the function's output holds the access key secret")
		}
	}
}

func TestBadSettingStopsStartUpWithOneLine(t *testing.T) {
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{Env: functionEnv("API_QPS=fast"), Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
	defer cancel()
	status, body, err := f.Invoke(ctx, []byte(`{"handshakeId":"h-Ca9cE1lEd3aLr5dY"}`))
	if err != nil {
		t.Fatal(err)
	}
	// The emulator answers an init failure with 502 (Lambda with
	// Runtime.ExitError); either way, not a Report.
	if _, isErr := lambdarie.ParseError(body); status == 200 && !isErr {
		t.Errorf("status %d, answer %s: want an init failure", status, body)
	}
	want := `handshake-janitor: API_QPS="fast": want a number of calls per second`
	lines := f.FunctionLines()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("function output %q: want one line starting %q", lines, want)
	}
}

func TestScheduledSweepWithATargetPolicyCancelsOutsidersAndStaleOnes(t *testing.T) {
	// An emulator and a function of their own: the policy cancels every
	// Pending invitation to an outsider, whichever test seeded it.
	seed := testkit.PolicySeed(time.Now())
	policyEmu, hs := testkit.Emulator(t, rmemu.Options{}, seed...)
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{
		Env:     functionEnv("RESOURCEMANAGER_ENDPOINT="+hs.URL, "ALLOWED_TARGETS="+testkit.PolicyAllowedTargets),
		Timeout: 30 * time.Second,
	})
	requestID := testkit.RequestID("policy-sweep")
	body := invoke(t, f, requestID, testkit.ReadEvent(t, "aws-scheduled-event.json"))
	report(t, body) // not an error
	testkit.SummaryLine(t, f.FunctionLines, requestID)
	testkit.CheckPolicySweep(t, policyEmu, seed, body, testkit.InvocationLines(t, f.FunctionLines(), requestID))
}
