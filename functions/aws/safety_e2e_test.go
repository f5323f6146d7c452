package main_test

// The safety rules (docs/safety.md) held by the Lambda binary under the
// Runtime Interface Emulator: the guard at zero, duplicate keys, a listed
// record that cannot be read, and a big SQS message redelivered until done.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/lambdarie"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// wantFunctionError checks that body is a function error whose message
// holds every part.
func wantFunctionError(t *testing.T, what string, body []byte, parts ...string) {
	t.Helper()
	fe, ok := lambdarie.ParseError(body)
	if !ok {
		t.Errorf("%s: answer %s, want a function error", what, body)
		return
	}
	for _, p := range parts {
		if !strings.Contains(fe.Message, p) {
			t.Errorf("%s: error %q does not contain %q", what, fe.Message, p)
		}
	}
}

// sqsRecord is one SQS record as Lambda delivers it.
func sqsRecord(messageID, body string, receiveCount int) string {
	b, _ := json.Marshal(map[string]any{
		"messageId": messageID, "receiptHandle": "AQEB" + messageID, "body": body,
		"attributes":  map[string]string{"ApproximateReceiveCount": fmt.Sprint(receiveCount)},
		"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:handshake-janitor", "awsRegion": "eu-central-1",
	})
	return string(b)
}

func TestGuardAtZeroCancelsNothingOnEveryPath(t *testing.T) {
	stale := handshake.Handshake{HandshakeID: "h-E2eZeroStale0001", Status: handshake.StatusPending, CreateTime: time.Now().Add(-9 * 24 * time.Hour), TargetEntity: "1000000000000001"}
	fresh := handshake.Handshake{HandshakeID: "h-E2eZeroFresh0001", Status: handshake.StatusPending, CreateTime: time.Now().Add(-time.Hour), TargetEntity: "1000000000000001"}
	zeroEmu, hs := testkit.Emulator(t, rmemu.Options{}, stale, fresh)
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{Env: functionEnv("RESOURCEMANAGER_ENDPOINT="+hs.URL, "MAX_CANCELLATIONS=0"), Timeout: 30 * time.Second})

	wantFunctionError(t, "scheduled sweep", invoke(t, f, testkit.RequestID("zero-sweep"), testkit.ReadEvent(t, "aws-scheduled-event.json")), "MAX_CANCELLATIONS", "refused")
	wantFunctionError(t, "direct named", invoke(t, f, testkit.RequestID("zero-direct"), []byte(`{"handshakeIds":["`+fresh.HandshakeID+`"]}`)), "MAX_CANCELLATIONS")
	sqs := `{"Records":[` + sqsRecord("m-zero-1", fresh.HandshakeID, 1) + `]}`
	wantFunctionError(t, "sqs named (the whole batch goes back)", invoke(t, f, testkit.RequestID("zero-sqs"), []byte(sqs)), "MAX_CANCELLATIONS")

	r := report(t, invoke(t, f, testkit.RequestID("zero-dry"), []byte(`{"sweep":{},"dryRun":true}`)))
	if r.Summary[handshake.OutcomeDryRun] != 1 || len(r.Results) != 1 || r.Results[0].HandshakeID != stale.HandshakeID {
		t.Errorf("dry-run sweep at zero: %+v, want the stale invitation reported dry_run", r.Results)
	}
	if n := zeroEmu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("%d CancelHandshake calls at MAX_CANCELLATIONS=0, want none", n)
	}
	testkit.WantStatus(t, zeroEmu, handshake.StatusPending, stale.HandshakeID, fresh.HandshakeID)
}

func TestDuplicateKeysAreRefusedNamingTheKey(t *testing.T) {
	testkit.Reset(t, emu)
	id := "h-E2eDupKey0000001"
	testkit.SeedFresh(t, emu, id)
	dup := `{"handshakeIds":["` + id + `"],"dryRun":true,"dryRun":false}`
	wantFunctionError(t, "direct", invoke(t, fn, testkit.RequestID("dup-direct"), []byte(dup)), `"dryRun"`, "twice")
	wantFunctionError(t, "schedule input", invoke(t, fn, testkit.RequestID("dup-schedule"), []byte(`{"sweep":{"olderThan":"30d","olderThan":"1h"}}`)), `"olderThan"`)
	body := invoke(t, fn, testkit.RequestID("dup-sqs"), []byte(`{"Records":[`+sqsRecord("m-dup-1", dup, 1)+`]}`))
	if got := batchItemFailures(t, body); len(got) != 1 || got[0] != "m-dup-1" {
		t.Errorf("batchItemFailures = %q, want the record with the duplicate key", got)
	}
	testkit.WantStatus(t, emu, handshake.StatusPending, id)
}

// listRewriter serves emu, rewriting old to new in every listing answer.
func listRewriter(emu *rmemu.Server, old, new string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if cmp.Or(r.Header.Get("x-acs-action"), r.URL.Query().Get("Action")) == "ListHandshakesForResourceDirectory" {
			body = bytes.ReplaceAll(body, []byte(old), []byte(new))
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

func TestSweepReportsAMalformedListedRecordAndSweepsTheRest(t *testing.T) {
	badTime := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second) // stale, not yet expired
	bad := handshake.Handshake{HandshakeID: "h-E2eBadTime000001", Status: handshake.StatusPending, CreateTime: badTime, TargetEntity: "1000000000000001"}
	good := handshake.Handshake{HandshakeID: "h-E2eGoodStale0001", Status: handshake.StatusPending, CreateTime: time.Now().Add(-9 * 24 * time.Hour), TargetEntity: "1000000000000001"}
	badEmu := rmemu.New(rmemu.Options{})
	if err := badEmu.Seed(bad, good); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(listRewriter(badEmu, `"CreateTime":"`+badTime.Format(handshake.TimeLayout)+`"`, `"CreateTime":"not-a-time"`))
	t.Cleanup(hs.Close)
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{Env: functionEnv("RESOURCEMANAGER_ENDPOINT=" + hs.URL), Timeout: 30 * time.Second})

	for range 2 { // every sweep, not only the first
		r := report(t, invoke(t, f, testkit.RequestID("malformed"), testkit.ReadEvent(t, "aws-scheduled-event.json")))
		warned := false
		for _, w := range r.Warnings {
			warned = warned || strings.Contains(w, bad.HandshakeID) && strings.Contains(w, "not-a-time")
		}
		if !warned {
			t.Errorf("warnings %q: want one naming %s and its bad time", r.Warnings, bad.HandshakeID)
		}
	}
	testkit.WantStatus(t, badEmu, handshake.StatusCancelled, good.HandshakeID)
	testkit.WantStatus(t, badEmu, handshake.StatusPending, bad.HandshakeID)
}

// A 300-ID SQS message, redelivered as SQS does (the same messageId, its
// ApproximateReceiveCount rising) to a function whose deadline and API_QPS
// fit far fewer calls, finishes within a bounded number of deliveries and
// spends no call twice on a finished invitation.
func TestBigSQSMessageRedeliveredFinishes(t *testing.T) {
	const n = 300
	var seed []handshake.Handshake
	var ids []string
	for i := range n {
		id := fmt.Sprintf("h-E2eRedeliver%04d", i)
		ids = append(ids, id)
		seed = append(seed, handshake.Handshake{HandshakeID: id, Status: handshake.StatusPending, CreateTime: time.Now().Add(-time.Hour), TargetEntity: "1000000000000001"})
	}
	bigEmu, hs := testkit.Emulator(t, rmemu.Options{}, seed...)
	// 5 s timeout, 1 s API timeout and reserve: calls start for about 3 s,
	// at 20 a second, so one delivery cancels well under 300.
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{
		Env:     functionEnv("RESOURCEMANAGER_ENDPOINT="+hs.URL, "API_QPS=20", "API_TIMEOUT=1s"),
		Timeout: 5 * time.Second,
	})
	body, _ := json.Marshal(map[string]any{"handshakeIds": ids})
	const maxDeliveries = 15
	deliveries, left := 0, n
	for count := 1; count <= maxDeliveries && left > 0; count++ {
		deliveries = count
		ev := `{"Records":[` + sqsRecord("m-big-1", string(body), count) + `]}`
		failures := batchItemFailures(t, invoke(t, f, testkit.RequestID("big"), []byte(ev)))
		pending := 0
		for _, id := range ids {
			if bigEmu.Status(id) == handshake.StatusPending {
				pending++
			}
		}
		if pending >= left {
			t.Fatalf("delivery %d made no progress: %d still Pending", count, pending)
		}
		if (len(failures) == 0) != (pending == 0) {
			t.Fatalf("delivery %d: batchItemFailures %q with %d still Pending", count, failures, pending)
		}
		left = pending
	}
	if left > 0 {
		t.Fatalf("%d still Pending after %d deliveries", left, maxDeliveries)
	}
	if deliveries < 2 {
		t.Errorf("finished in one delivery: the test's deadline and API_QPS should make that impossible")
	}
	// A call at the cut-off may be made again: at most the calls in flight
	// (API_CONCURRENCY 4) per delivery.
	if calls := bigEmu.Stats().Calls["CancelHandshake"]; calls > n+4*deliveries {
		t.Errorf("%d CancelHandshake calls for %d invitations over %d deliveries: finished ones were called again", calls, n, deliveries)
	}
	t.Logf("%d invitations finished in %d deliveries", n, deliveries)
}
