package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

func TestAWSSQSListsExactlyTheRecordsToRedeliver(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformAWS})
	ok1, ok2, done, failing, missing := id(1), id(2), id(3), id(4), id(5)
	e.seed(t, time.Hour, ok1, ok2, failing)
	e.seedStatus(t, handshake.StatusCancelled, time.Hour, done)
	e.emu.FailAlways(failing)

	event := sqsEvent(t,
		[2]string{"m-ok", `{"handshakeIds":["` + ok1 + `"]}`},
		[2]string{"m-fail", failing},
		[2]string{"m-invalid", "h-nope"},
		[2]string{"m-malformed", `{"handshakeIds":`},
		[2]string{"m-skipped", `{"handshakeId":"` + done + `"}`},
		[2]string{"m-notfound", missing},
		[2]string{"m-mixed", ok2 + "," + failing},
	)
	resp, err := e.h.AWS(context.Background(), handler.Invocation{ID: "req-1"}, event)
	if err != nil {
		t.Fatalf("AWS: %v (an SQS batch answers with a partial batch response, not an error)", err)
	}
	sqs, ok := resp.(*events.SQSEventResponse)
	if !ok {
		t.Fatalf("response is %T, want *events.SQSEventResponse", resp)
	}
	var got []string
	for _, f := range sqs.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	want := []string{"m-fail", "m-invalid", "m-malformed", "m-mixed"}
	if !slices.Equal(got, want) {
		t.Errorf("batchItemFailures = %q, want %q", got, want)
	}

	// The wire shape of events.SQSEventResponse.
	b, _ := json.Marshal(resp)
	wantJSON := `{"batchItemFailures":[{"itemIdentifier":"m-fail"},{"itemIdentifier":"m-invalid"},{"itemIdentifier":"m-malformed"},{"itemIdentifier":"m-mixed"}]}`
	if string(b) != wantJSON {
		t.Errorf("JSON = %s, want %s", b, wantJSON)
	}

	e.wantStatus(t, ok1, handshake.StatusCancelled)
	e.wantStatus(t, ok2, handshake.StatusCancelled)
	e.wantStatus(t, failing, handshake.StatusPending)
	// The failing ID is named by two records but called once.
	if n := len(e.callsFor(failing)); n != 2 { // MaxAttempts 2
		t.Errorf("%d calls for the failing ID, want 2 (one call, two attempts)", n)
	}
}

func TestAWSSQSWithNothingToRedeliverAnswersAnEmptyList(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformAWS})
	e.seed(t, time.Hour, id(1))
	resp, err := e.h.AWS(context.Background(), handler.Invocation{ID: "req-1"},
		sqsEvent(t, [2]string{"m-1", id(1)}, [2]string{"m-2", id(1)}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("JSON = %s, want an empty list (null would not be a valid partial batch response)", b)
	}
}

func TestUnreadableEventIsAnErrorWithASummaryLine(t *testing.T) {
	tests := []struct {
		name     string
		platform string
		event    string
		trigger  string
	}{
		{"aws sqs records not an array", logging.PlatformAWS, `{"Records":"x"}`, trigger.SQS},
		{"aws array", logging.PlatformAWS, `[1,2]`, "unknown"},
		{"aws direct bad field", logging.PlatformAWS, `{"handshakeID":"h-Hand000000000001"}`, trigger.Direct},
		{"fc timer bad payload", logging.PlatformFC, `{"triggerTime":"2026-07-26T03:00:00Z","triggerName":"t","payload":"{\"sweep\":{\"olderThan\":\"soon\"}}"}`, trigger.FCTimer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{platform: tt.platform})
			call := e.h.AWS
			if tt.platform == logging.PlatformFC {
				call = e.h.FC
			}
			resp, err := call(context.Background(), handler.Invocation{ID: "req-bad"}, []byte(tt.event))
			if err == nil || !strings.Contains(err.Error(), "event not accepted") {
				t.Fatalf("error = %v, want \"event not accepted: ...\"", err)
			}
			if resp != nil {
				t.Errorf("response = %#v, want nil with the error", resp)
			}
			sums := testkit.Summaries(e.logs.Lines(t))
			if len(sums) != 1 {
				t.Fatalf("%d summary lines, want 1:\n%s", len(sums), e.logs)
			}
			s := sums[0]
			if s[logging.FieldTrigger] != tt.trigger || s["failed"] != 0.0 || s[logging.FieldColdStart] != true || s["error"] == nil {
				t.Errorf("summary line = %v, want trigger %q, zero counts, cold_start and the error", s, tt.trigger)
			}
			if len(e.emu.Calls()) != 0 {
				t.Errorf("%d API calls for an event not accepted, want none", len(e.emu.Calls()))
			}
		})
	}
}

func TestFCQueueBatchWithFailuresIsAnErrorNamingRecordsAndIDs(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformFC})
	ok1, failing := id(1), id(2)
	e.seed(t, time.Hour, ok1, failing)
	e.emu.FailAlways(failing)

	batch := mnsBatch(t,
		[2]string{"MSG-OK", `{"handshakeIds":["` + ok1 + `"]}`},
		[2]string{"MSG-FAIL", failing},
		[2]string{"MSG-INVALID", `{"handshakeId":"h-bad\u0000id"}`},
		[2]string{"MSG-MALFORMED", `{"handshakeIds":`},
	)
	resp, err := e.h.FC(context.Background(), handler.Invocation{ID: "fc-1"}, batch)
	var re *handler.RedeliverError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want a *handler.RedeliverError", err, err)
	}
	if resp != nil {
		t.Errorf("response = %#v, want nil with the error", resp)
	}
	msg := err.Error()
	for _, want := range []string{"3 of 4 record(s)", "MSG-FAIL (" + failing + " failed ServiceUnavailable)",
		`MSG-INVALID ("h-bad\x00id" invalid)`, "MSG-MALFORMED (not decoded)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	for _, notWant := range []string{"MSG-OK", ok1} {
		if strings.Contains(msg, notWant) {
			t.Errorf("error %q names %q, which succeeded", msg, notWant)
		}
	}
	// Every record was processed, the good one included.
	e.wantStatus(t, ok1, handshake.StatusCancelled)

	// The trigger redelivers the batch once the fault is gone: what
	// already succeeded comes back skipped, and the invocation succeeds.
	e.emu.ClearScripts()
	redelivered := mnsBatch(t, [2]string{"MSG-OK", ok1}, [2]string{"MSG-FAIL", failing})
	resp, err = e.h.FC(context.Background(), handler.Invocation{ID: "fc-2"}, redelivered)
	r := asReport(t, resp, err)
	if got := testkit.Outcomes(*r); got[ok1] != handshake.OutcomeSkipped || got[failing] != handshake.OutcomeCancelled {
		t.Errorf("outcomes after redelivery = %v, want %s skipped and %s cancelled", got, ok1, failing)
	}
}

func TestFCTopicMessageWithAFailureIsAnError(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformFC})
	failing := id(7)
	e.seed(t, time.Hour, failing)
	e.emu.FailAlways(failing)
	_, err := e.h.FC(context.Background(), handler.Invocation{ID: "fc-1"}, mnsTopic(t, "3405CA51807661353B3F0A1E00000004", failing))
	if err == nil || !strings.Contains(err.Error(), "3405CA51807661353B3F0A1E00000004 ("+failing+" failed") {
		t.Errorf("error = %v, want one naming the message and %s", err, failing)
	}
}

func TestTimerScheduleAndDirectAnswerWithTheReport(t *testing.T) {
	type want struct {
		err      bool // an error, and no Report
		errHas   string
		summary  janitor.Summary
		outcomes map[string]handshake.Outcome
	}
	scheduled := `{"version":"0","id":"ev-1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`
	fcTimer := func(payload string) string {
		b, _ := json.Marshal(map[string]string{"triggerTime": "2026-07-26T03:00:00Z", "triggerName": "t", "payload": payload})
		return string(b)
	}
	tests := []struct {
		name     string
		platform string
		event    string
		max      int
		want     want
	}{
		{"aws direct cancels", logging.PlatformAWS, `{"handshakeIds":["h-Hand000000000001","h-Hand000000000009"]}`, 0,
			want{summary: janitor.Summary{handshake.OutcomeCancelled: 1, handshake.OutcomeNotFound: 1}, outcomes: map[string]handshake.Outcome{id(1): handshake.OutcomeCancelled, id(9): handshake.OutcomeNotFound}}},
		{"aws direct invalid alone is reported, not an error", logging.PlatformAWS, `"h-bad"`, 0,
			want{summary: janitor.Summary{handshake.OutcomeInvalid: 1}, outcomes: map[string]handshake.Outcome{"h-bad": handshake.OutcomeInvalid}}},
		{"aws direct with a failure is an error", logging.PlatformAWS, `{"handshakeIds":["h-Hand000000000001","h-Hand000000000004"]}`, 0,
			want{err: true, errHas: "1 invitation(s) failed and should be retried: " + id(4) + " (cancelled 1,"}},
		{"aws scheduled event sweeps", logging.PlatformAWS, scheduled, 0,
			want{summary: janitor.Summary{handshake.OutcomeCancelled: 2}, outcomes: map[string]handshake.Outcome{id(5): handshake.OutcomeCancelled, id(6): handshake.OutcomeCancelled}}},
		{"aws sweep over the guard is an error", logging.PlatformAWS, scheduled, 1,
			want{err: true, errHas: "MAX_CANCELLATIONS"}},
		{"aws dry-run sweep over the guard is reported", logging.PlatformAWS, `{"sweep":{},"dryRun":true}`, 1,
			want{summary: janitor.Summary{handshake.OutcomeDryRun: 2}, outcomes: map[string]handshake.Outcome{id(5): handshake.OutcomeDryRun, id(6): handshake.OutcomeDryRun}}},
		{"fc timer names IDs", logging.PlatformFC, fcTimer(id(1)), 0,
			want{summary: janitor.Summary{handshake.OutcomeCancelled: 1}, outcomes: map[string]handshake.Outcome{id(1): handshake.OutcomeCancelled}}},
		{"fc timer sweeps", logging.PlatformFC, fcTimer(""), 0,
			want{summary: janitor.Summary{handshake.OutcomeCancelled: 2}, outcomes: map[string]handshake.Outcome{id(5): handshake.OutcomeCancelled, id(6): handshake.OutcomeCancelled}}},
		{"fc timer with a failure is an error", logging.PlatformFC, fcTimer(id(4)), 0,
			want{err: true, errHas: id(4)}},
		{"fc direct invalid alone is reported", logging.PlatformFC, `{"handshakeIds":["h-abc&Action=DeleteAccount"]}`, 0,
			want{summary: janitor.Summary{handshake.OutcomeInvalid: 1}, outcomes: map[string]handshake.Outcome{"h-abc&Action=DeleteAccount": handshake.OutcomeInvalid}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{platform: tt.platform, maxCancellations: tt.max})
			e.seed(t, time.Hour, id(1), id(4))       // fresh: a sweep leaves them
			e.seed(t, 10*24*time.Hour, id(5), id(6)) // stale: a sweep cancels them
			e.seedStatus(t, handshake.StatusAccepted, 20*24*time.Hour, id(8))
			e.emu.FailAlways(id(4))

			call := e.h.AWS
			if tt.platform == logging.PlatformFC {
				call = e.h.FC
			}
			resp, err := call(context.Background(), handler.Invocation{ID: "req-1"}, []byte(tt.event))
			if tt.want.err {
				if err == nil || !strings.Contains(err.Error(), tt.want.errHas) {
					t.Fatalf("error = %v, want one containing %q", err, tt.want.errHas)
				}
				if resp != nil {
					t.Errorf("response = %#v, want nil with the error", resp)
				}
				return
			}
			r := asReport(t, resp, err)
			if !maps.Equal(r.Summary, tt.want.summary) {
				t.Errorf("summary = %+v, want %+v", r.Summary, tt.want.summary)
			}
			if got := testkit.Outcomes(*r); !mapsEqual(got, tt.want.outcomes) {
				t.Errorf("outcomes = %v, want %v", got, tt.want.outcomes)
			}
			// The Report's wire shape: summary and results, nothing of Items.
			var wire map[string]json.RawMessage
			b, _ := json.Marshal(resp)
			if err := json.Unmarshal(b, &wire); err != nil {
				t.Fatal(err)
			}
			if wire["summary"] == nil || wire["results"] == nil || len(wire) > 3 {
				t.Errorf("Report JSON = %s, want summary, results (and warnings)", b)
			}
		})
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestColdStartIsTrueOnlyOnTheFirstInvocation(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformAWS})
	e.seed(t, time.Hour, id(1))
	for i := range 3 {
		if _, err := e.h.AWS(context.Background(), handler.Invocation{ID: "req"}, ids(t, id(1))); err != nil {
			t.Fatalf("invocation %d: %v", i, err)
		}
	}
	var got []any
	for _, s := range testkit.Summaries(e.logs.Lines(t)) {
		got = append(got, s[logging.FieldColdStart])
	}
	if want := []any{true, false, false}; !slices.Equal(got, want) {
		t.Errorf("cold_start of the summary lines = %v, want %v", got, want)
	}
}

func TestEveryLogLineCarriesTheInvocationFields(t *testing.T) {
	tests := []struct {
		platform, trigger string
		event             func(t *testing.T) []byte
		summary           map[string]float64
	}{
		{logging.PlatformAWS, trigger.SQS, func(t *testing.T) []byte {
			return sqsEvent(t, [2]string{"m-1", id(1) + " " + id(2) + " " + id(3)}, [2]string{"m-2", "h-bad"},
				[2]string{"m-3", "{"}, [2]string{"m-4", id(9)}, [2]string{"m-5", id(4)})
		}, map[string]float64{"cancelled": 1, "skipped": 1, "not_found": 1, "invalid": 1, "dry_run": 0, "failed": 2}},
		{logging.PlatformFC, trigger.MNSQueue, func(t *testing.T) []byte {
			return mnsBatch(t, [2]string{"M1", id(1) + "," + id(2) + "," + id(3)}, [2]string{"M2", "h-bad"},
				[2]string{"M3", "{"}, [2]string{"M4", id(9)}, [2]string{"M5", id(4)})
		}, map[string]float64{"cancelled": 1, "skipped": 1, "not_found": 1, "invalid": 1, "dry_run": 0, "failed": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			e := newEnv(t, envOptions{platform: tt.platform})
			e.seed(t, time.Hour, id(1), id(3), id(4))
			e.seedStatus(t, handshake.StatusAccepted, time.Hour, id(2))
			e.emu.FailAlways(id(3))
			e.emu.FailAlways(id(4))
			call := e.h.AWS
			if tt.platform == logging.PlatformFC {
				call = e.h.FC
			}
			_, _ = call(context.Background(), handler.Invocation{ID: "inv-42"}, tt.event(t))

			lines := e.logs.Lines(t)
			if len(lines) < 7 { // 6 results, a record not decoded, the summary
				t.Fatalf("%d log lines, want at least 7:\n%s", len(lines), e.logs)
			}
			results := 0
			for _, l := range lines {
				if l[logging.FieldPlatform] != tt.platform || l[logging.FieldInvocationID] != "inv-42" || l[logging.FieldTrigger] != tt.trigger {
					t.Errorf("line without platform %q, invocation_id inv-42, trigger %q: %v", tt.platform, tt.trigger, l)
				}
				if _, ok := l[logging.FieldHandshakeID]; ok {
					results++
					for _, f := range []string{logging.FieldOutcome, logging.FieldErrorCode, logging.FieldAPIRequestID, logging.FieldAttempts, logging.FieldDurationMS} {
						if _, ok := l[f]; !ok {
							t.Errorf("result line without %s: %v", f, l)
						}
					}
				}
			}
			if results != 6 {
				t.Errorf("%d result lines, want 6 (one per distinct invitation)", results)
			}
			sums := testkit.Summaries(e.logs.Lines(t))
			if len(sums) != 1 {
				t.Fatalf("%d summary lines, want 1", len(sums))
			}
			for k, v := range tt.summary {
				if sums[0][k] != v {
					t.Errorf("summary %s = %v, want %v", k, sums[0][k], v)
				}
			}
			if sums[0][logging.FieldColdStart] != true {
				t.Errorf("summary cold_start = %v, want true", sums[0][logging.FieldColdStart])
			}
		})
	}
}

func TestFCInvocationCredentialsComeFirstAndAreNotKept(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformFC}) // accepts testkit.Credentials and the STS triple
	e.seed(t, time.Hour, id(1), id(2), id(3), id(4))
	bogus := resourcemanager.Credentials{AccessKeyID: "STS.NotKnownToTheService", AccessKeySecret: "bogus-secret-value-1234", SecurityToken: "bogus-token-value-5678"}

	steps := []struct {
		name     string
		creds    *resourcemanager.Credentials
		id       string
		outcome  handshake.Outcome
		signedBy string // the key the emulator saw; "" for not accepted
		sts      bool
		provider bool // the provider was asked
	}{
		{"role credentials sign", &testkit.STSCredentials, id(1), handshake.OutcomeCancelled, rmemu.TestSTSAccessKeyID, true, false},
		{"without them the provider signs", nil, id(2), handshake.OutcomeCancelled, rmemu.TestAccessKeyID, false, true},
		{"unknown role credentials are used, not the valid provider's", &bogus, id(3), handshake.OutcomeFailed, bogus.AccessKeyID, false, false},
		{"and are not kept", nil, id(4), handshake.OutcomeCancelled, rmemu.TestAccessKeyID, false, true},
	}
	for i, s := range steps {
		before := e.provider.calls.Load()
		resp, err := e.h.FC(context.Background(), handler.Invocation{ID: "fc-" + s.id, Credentials: s.creds}, ids(t, s.id))
		var r *janitor.Report
		if s.outcome == handshake.OutcomeFailed {
			var fe *handler.FailedError
			if !errors.As(err, &fe) {
				t.Fatalf("step %d %s: error = %v, want a *handler.FailedError", i, s.name, err)
			}
			r = &janitor.Report{Results: fe.Results}
		} else {
			r = asReport(t, resp, err)
		}
		if got := testkit.Outcomes(*r)[s.id]; got != s.outcome {
			t.Errorf("step %d %s: outcome %s, want %s (%+v)", i, s.name, got, s.outcome, r.Results)
		}
		calls := e.callsFor(s.id)
		if len(calls) == 0 {
			t.Fatalf("step %d %s: no call reached the emulator", i, s.name)
		}
		for _, c := range calls {
			if c.AccessKeyID != s.signedBy || c.STS != s.sts {
				t.Errorf("step %d %s: call signed by %q (STS %v), want %q (STS %v)", i, s.name, c.AccessKeyID, c.STS, s.signedBy, s.sts)
			}
		}
		if asked := e.provider.calls.Load() > before; asked != s.provider {
			t.Errorf("step %d %s: provider asked = %v, want %v", i, s.name, asked, s.provider)
		}
	}
	for _, secret := range []string{rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, rmemu.TestAccessKeySecret, bogus.AccessKeySecret, bogus.SecurityToken} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a log line holds a secret or token")
		}
	}
}

func TestDeadlineAnswersBeforeItWithTheUnfinishedFailed(t *testing.T) {
	tests := []struct {
		platform string
		event    func(t *testing.T) []byte
		check    func(t *testing.T, resp any, err error)
	}{
		{logging.PlatformAWS, func(t *testing.T) []byte {
			return sqsEvent(t, [2]string{"m-1", id(1)}, [2]string{"m-2", id(2)}, [2]string{"m-3", id(3)})
		}, func(t *testing.T, resp any, err error) {
			sqs, ok := resp.(*events.SQSEventResponse)
			if err != nil || !ok || len(sqs.BatchItemFailures) != 3 {
				t.Fatalf("response %#v, error %v: want all three records in batchItemFailures", resp, err)
			}
		}},
		{logging.PlatformFC, func(t *testing.T) []byte {
			b, _ := json.Marshal(map[string]string{"triggerTime": "2026-07-26T03:00:00Z", "triggerName": "t", "payload": id(1) + "," + id(2) + "," + id(3)})
			return b
		}, func(t *testing.T, resp any, err error) {
			var fe *handler.FailedError
			if !errors.As(err, &fe) || fe.Summary[handshake.OutcomeFailed] != 3 {
				t.Fatalf("error %v: want a *handler.FailedError with 3 failed", err)
			}
			for _, r := range fe.Results {
				if r.ErrorCode != janitor.CodeDeadlineExceeded {
					t.Errorf("%s: error code %q, want %s", r.HandshakeID, r.ErrorCode, janitor.CodeDeadlineExceeded)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			// The emulator answers after 10s; the invocation has 2s, and
			// its budget (API timeout 700ms) starts nothing with less
			// than 1.4s left: the first attempt times out at 700ms, and
			// no retry may start after it.
			e := newEnv(t, envOptions{
				platform:   tt.platform,
				emu:        rmemu.Options{Faults: rmemu.Faults{Latency: 10 * time.Second}},
				apiTimeout: 700 * time.Millisecond,
			})
			e.seed(t, time.Hour, id(1), id(2), id(3))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			call := e.h.AWS
			if tt.platform == logging.PlatformFC {
				call = e.h.FC
			}
			resp, err := call(ctx, handler.Invocation{ID: "slow"}, tt.event(t))
			if ctx.Err() != nil {
				t.Errorf("the handler returned after the invocation's deadline")
			}
			tt.check(t, resp, err)
			for _, i := range []int{1, 2, 3} {
				e.wantStatus(t, id(i), handshake.StatusPending)
			}
		})
	}
}

func TestNewBuildsTheHandlerFromTheConfiguration(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformAWS}) // for its emulator
	e.seed(t, time.Hour, id(1))
	vars := map[string]string{
		config.EnvEndpoint:         e.url,
		config.EnvDryRun:           "true",
		config.EnvAPITimeout:       "3s",
		config.EnvAPIConcurrency:   "2",
		config.EnvMaxCancellations: "7",
		config.EnvAllowedTargets:   "*@example.com",
		config.EnvLogTargets:       "true",
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.LogBuffer{}
	h, err := handler.New(logging.PlatformAWS, cfg, logging.New(logs, cfg.LogLevel), resourcemanager.StaticCredentials(testkit.Credentials))
	if err != nil {
		t.Fatal(err)
	}
	if h.Engine.Concurrency != 2 || h.Engine.MaxCancellations != 7 || !h.Engine.DryRun ||
		h.APITimeout != 3*time.Second || h.Platform != logging.PlatformAWS ||
		h.Engine.AllowedTargets.String() != "*@example.com" || !h.Engine.LogTargets {
		t.Errorf("engine = %+v, want the configured settings", *h.Engine)
	}
	resp, err := h.AWS(context.Background(), handler.Invocation{ID: "req-1"}, ids(t, id(1)))
	r := asReport(t, resp, err)
	if r.Summary[handshake.OutcomeDryRun] != 1 {
		t.Errorf("summary = %+v, want dry_run 1 (DRY_RUN=true)", r.Summary)
	}
	e.wantStatus(t, id(1), handshake.StatusPending)

	// A DRY_RUN=false run through the same wiring reaches the emulator.
	cfg.DryRun = false
	h, err = handler.New(logging.PlatformAWS, cfg, logging.New(logs, cfg.LogLevel), resourcemanager.StaticCredentials(testkit.Credentials))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = h.AWS(context.Background(), handler.Invocation{ID: "req-2"}, ids(t, id(1)))
	r = asReport(t, resp, err)
	if r.Summary[handshake.OutcomeCancelled] != 1 {
		t.Errorf("summary = %+v, want cancelled 1", r.Summary)
	}
	e.wantStatus(t, id(1), handshake.StatusCancelled)

	bad := cfg
	bad.AllowedTargets = "12345" // a Config Load did not make
	if _, err := handler.New(logging.PlatformAWS, bad, logging.New(logs, cfg.LogLevel), nil); err == nil || !strings.Contains(err.Error(), config.EnvAllowedTargets) {
		t.Errorf("New with a bad target policy: %v, want an error naming %s", err, config.EnvAllowedTargets)
	}

	cfg.Endpoint = "http://198.51.100.7" // plain HTTP to a host that is not loopback
	if _, err := handler.New(logging.PlatformAWS, cfg, logging.New(logs, cfg.LogLevel), nil); err == nil {
		t.Error("New accepted plain http to a non-loopback endpoint")
	}
}

func TestErrorMessagesAreBoundedAndQuoteWhatTheSenderWrote(t *testing.T) {
	var items []janitor.ItemReport
	var results []janitor.Result
	for i := range 60 {
		items = append(items, janitor.ItemReport{Key: "MSG-" + id(i)[2:], HandshakeIDs: []string{id(i)}, Redeliver: true})
		results = append(results, janitor.Result{HandshakeID: id(i), Outcome: handshake.OutcomeFailed, ErrorCode: "Throttling.User"})
	}
	tests := []struct {
		name    string
		err     error
		has     []string
		hasNot  []string
		maxSize int
	}{
		{"redeliver lists 50 records", &handler.RedeliverError{Items: items, Records: 100, Results: results},
			[]string{"60 of 100 record(s) to redeliver", id(49) + " failed Throttling.User", "and 10 more"}, []string{id(50)}, 8000},
		{"redeliver quotes a hostile key and ID", &handler.RedeliverError{
			Items:   []janitor.ItemReport{{Key: "k\nINJECTED", HandshakeIDs: []string{"h-\x1b[31m"}, Redeliver: true}},
			Results: []janitor.Result{{HandshakeID: "h-\x1b[31m", Outcome: handshake.OutcomeInvalid}},
		}, []string{`"k\nINJECTED"`, `"h-\x1b[31m" invalid`}, []string{"\n", "\x1b"}, 200},
		{"failed lists 50 IDs", &handler.FailedError{Summary: janitor.Summary{handshake.OutcomeFailed: 60}, Results: results},
			[]string{"60 invitation(s) failed", id(49), "and 10 more", "failed 60)"}, []string{id(50)}, 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.err.Error()
			for _, s := range tt.has {
				if !strings.Contains(msg, s) {
					t.Errorf("%q does not contain %q", msg, s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(msg, s) {
					t.Errorf("%q contains %q", msg, s)
				}
			}
			if len(msg) > tt.maxSize {
				t.Errorf("message is %d bytes, want at most %d", len(msg), tt.maxSize)
			}
		})
	}
}

// TestEveryInvocationLogsItsErrorOnceAndOneDecoratedSummary: whatever the
// answer (a report, failed results, a refused event), an invocation writes
// exactly one summary line, which carries what Engine.DecorateSummary adds,
// and no other line repeats the invocation's error.
func TestEveryInvocationLogsItsErrorOnceAndOneDecoratedSummary(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformAWS})
	e.seed(t, time.Hour, id(1))
	e.emu.FailAlways(id(2))
	e.h.Engine.DecorateSummary = func(ctx context.Context, ev *zerolog.Event, rep janitor.Report) {
		inv, _ := logging.InvocationFrom(ctx)
		ev.Int("platform_total", len(rep.Results)).Str("platform_invocation", inv.InvocationID)
	}
	for _, tt := range []struct {
		name, event string
		total       float64
		wantErr     bool
	}{
		{"cancelled", `{"handshakeId":"` + id(1) + `"}`, 1, false},
		{"failed", `{"handshakeId":"` + id(2) + `"}`, 1, true},
		{"refused", `[1,2]`, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.logs.Reset()
			_, err := e.h.AWS(context.Background(), handler.Invocation{ID: "req-" + tt.name}, []byte(tt.event))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want one: %v", err, tt.wantErr)
			}
			lines := e.logs.Lines(t)
			sums := testkit.Summaries(lines)
			if len(sums) != 1 || sums[0]["platform_total"] != tt.total || sums[0]["platform_invocation"] != "req-"+tt.name {
				t.Fatalf("summary lines %v, want one with platform_total %v and the invocation's ID", sums, tt.total)
			}
			// Beside the result lines, the summary is the one error line.
			errLines := 0
			for _, l := range lines {
				if l["level"] == "error" && l[logging.FieldHandshakeID] == nil {
					errLines++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantErr]; errLines != want {
				t.Errorf("%d error lines besides the results, want %d:\n%s", errLines, want, e.logs)
			}
		})
	}
}

// TestNewWithoutCredentialsFailsCallsThatBringNone: New's doc comment says
// what a nil provider means; an invocation without credentials of its own
// then fails with NoCredentials and makes no request, and one that brings
// its own (FC) is served.
func TestNewWithoutCredentialsFailsCallsThatBringNone(t *testing.T) {
	e := newEnv(t, envOptions{platform: logging.PlatformFC}) // for its emulator
	e.seed(t, time.Hour, id(1))
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvEndpoint: e.url, config.EnvAPITimeout: "2s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := handler.New(logging.PlatformFC, cfg, logging.New(&testkit.LogBuffer{}, cfg.LogLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"handshakeId":"` + id(1) + `"}`)
	_, err = h.FC(context.Background(), handler.Invocation{ID: "no-creds"}, event)
	var fe *handler.FailedError
	if !errors.As(err, &fe) || len(fe.Results) != 1 || fe.Results[0].ErrorCode != "NoCredentials" {
		t.Fatalf("error %v, want one failed result with NoCredentials", err)
	}
	if n := len(e.emu.Calls()); n != 0 {
		t.Errorf("%d requests without credentials, want none", n)
	}
	own := testkit.Credentials
	resp, err := h.FC(context.Background(), handler.Invocation{ID: "own-creds", Credentials: &own}, event)
	if r := asReport(t, resp, err); r.Summary[handshake.OutcomeCancelled] != 1 {
		t.Errorf("summary %+v, want the invitation cancelled with the invocation's credentials", r.Summary)
	}
}
