package janitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/internal/version"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestRunLogsOneLinePerResultAndASummary(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{}, invitation(testID(1), time.Hour), withStatus(invitation(testID(2), time.Hour), handshake.StatusCancelled))
	emu.FailAlways(testID(3))
	e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 1})}
	ctx, logs := logged(t, logging.Invocation{Platform: logging.PlatformAWS, InvocationID: "req-42", Trigger: "sqs", ColdStart: true})
	_, err := e.Run(ctx, janitor.Job{Items: []janitor.Item{
		{Key: "m1", IDs: []string{testID(1), testID(2), testID(3), "bad", testID(1)}},
		{Key: "m2", Err: errors.New("undecodable")},
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	lines := logs.Lines(t)
	perResult := map[string]map[string]any{}
	var summary, recordErr map[string]any
	for _, l := range lines {
		if l[logging.FieldInvocationID] != "req-42" || l[logging.FieldPlatform] != "aws" || l[logging.FieldTrigger] != "sqs" {
			t.Errorf("line without the invocation fields: %v", l)
		}
		switch {
		case l["message"] == logging.MessageSummary:
			summary = l
		case l[logging.FieldHandshakeID] != nil:
			id := l[logging.FieldHandshakeID].(string)
			if perResult[id] != nil {
				t.Errorf("two lines for %s", id)
			}
			perResult[id] = l
		case l["item_key"] == "m2":
			recordErr = l
		}
	}
	want := map[string]struct{ outcome, level string }{
		testID(1): {"cancelled", "info"},
		testID(2): {"skipped", "info"},
		testID(3): {"failed", "error"},
		"bad":     {"invalid", "warn"},
	}
	if len(perResult) != len(want) {
		t.Errorf("%d result lines, want %d", len(perResult), len(want))
	}
	for id, w := range want {
		l := perResult[id]
		if l == nil {
			t.Errorf("no line for %s", id)
			continue
		}
		if l[logging.FieldOutcome] != w.outcome || l["level"] != w.level {
			t.Errorf("%s: outcome %v level %v, want %s at %s", id, l[logging.FieldOutcome], l["level"], w.outcome, w.level)
		}
		for _, f := range []string{logging.FieldErrorCode, logging.FieldAPIRequestID, logging.FieldAttempts, logging.FieldDurationMS} {
			if _, ok := l[f]; !ok {
				t.Errorf("%s: line has no %s: %v", id, f, l)
			}
		}
	}
	if perResult[testID(1)][logging.FieldStatus] != "Cancelled" {
		t.Errorf("cancelled line status = %v, want Cancelled", perResult[testID(1)][logging.FieldStatus])
	}
	if perResult[testID(3)][logging.FieldErrorCode] != "ServiceUnavailable" {
		t.Errorf("failed line error_code = %v, want ServiceUnavailable", perResult[testID(3)][logging.FieldErrorCode])
	}
	if recordErr == nil || recordErr["level"] != "error" {
		t.Errorf("undecodable record line = %v, want an error line", recordErr)
	}
	if summary == nil {
		t.Fatal("no invocation summary line")
	}
	wantCounts := map[string]float64{"cancelled": 1, "skipped": 1, "not_found": 0, "invalid": 1, "dry_run": 0, "failed": 1}
	for k, v := range wantCounts {
		if summary[k] != v {
			t.Errorf("summary %s = %v, want %v", k, summary[k], v)
		}
	}
	if summary[logging.FieldColdStart] != true {
		t.Errorf("summary cold_start = %v, want true", summary[logging.FieldColdStart])
	}
	if summary[logging.FieldVersion] != version.String() {
		t.Errorf("summary version = %v, want the build's, %q", summary[logging.FieldVersion], version.String())
	}
}

func TestReportJSONHasTheContractShape(t *testing.T) {
	rep := janitor.Report{
		Summary: janitor.Summary{handshake.OutcomeCancelled: 1, handshake.OutcomeSkipped: 2, handshake.OutcomeNotFound: 3, handshake.OutcomeInvalid: 4, handshake.OutcomeDryRun: 5, handshake.OutcomeFailed: 6},
		Results: []janitor.Result{
			{HandshakeID: testID(1), Outcome: handshake.OutcomeCancelled, Reason: janitor.ReasonNamed, APIRequestID: "R", Attempts: 1},
			{HandshakeID: testID(2), Outcome: handshake.OutcomeDryRun, Reason: janitor.ReasonTargetNotAllowed, Status: handshake.StatusPending,
				TargetType: handshake.TargetEmail, TargetEntity: "j***@example.org"},
		},
		Items: []janitor.ItemReport{{Key: "hidden"}},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"summary":{"cancelled":1,"skipped":2,"not_found":3,"invalid":4,"dry_run":5,"failed":6},"results":[` +
		`{"handshakeId":"h-Test000000000001","outcome":"cancelled","reason":"named","errorCode":"","apiRequestId":"R","attempts":1},` +
		`{"handshakeId":"h-Test000000000002","outcome":"dry_run","reason":"target_not_allowed","errorCode":"","apiRequestId":"","attempts":0,"status":"Pending","targetType":"Email","targetEntity":"j***@example.org"}]}`
	if string(b) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", b, want)
	}
	empty, _ := json.Marshal(mustRun(t))
	if !strings.Contains(string(empty), `"results":[]`) {
		t.Errorf("empty Report JSON %s: want results as [] not null", empty)
	}
}

// mustRun runs an empty Job.
func mustRun(t *testing.T) janitor.Report {
	t.Helper()
	_, hs := emulator(t, rmemu.Options{})
	rep, err := (&janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{})}).Run(context.Background(), janitor.Job{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
