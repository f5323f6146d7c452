package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/emf"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
)

// metricsNamespace is the function's METRICS_NAMESPACE (functionEnv).
const metricsNamespace = "HandshakeJanitorE2E"

// rawLines returns the function's lines of invocation requestID as written,
// waiting (bounded) until its summary line has come through.
func rawLines(t *testing.T, requestID string) []string {
	t.Helper()
	testkit.SummaryLine(t, fn.FunctionLines, requestID)
	var out []string
	for _, l := range fn.FunctionLines() {
		if strings.Contains(l, `"invocation_id":"`+requestID+`"`) {
			out = append(out, l)
		}
	}
	return out
}

// TestSummaryLineIsValidEMFInTheConfiguredNamespace runs real invocations of
// the Lambda binary under the RIE, a successful one, one with a failed
// invitation, one the blast-radius guard refuses and one whose event is not
// accepted, and checks that each writes exactly one EMF document, its
// summary line, valid by the specification's rules, in METRICS_NAMESPACE,
// with the line's own counts as the metrics' values.
func TestSummaryLineIsValidEMFInTheConfiguredNamespace(t *testing.T) {
	testkit.Reset(t, emu)
	good, failing := "h-E2eAwsEmfGood001", "h-E2eAwsEmfFail001"
	testkit.SeedFresh(t, emu, good, failing)
	emu.FailAlways(failing)
	tests := []struct {
		name, event, trigger string
		before               func(*testing.T)
		want                 map[string]float64
	}{
		{"cancelled", `{"handshakeId":"` + good + `"}`, "direct", nil,
			map[string]float64{"cancelled": 1, "failed": 0, "guard_refused": 0}},
		{"failed", `{"Records":[{"messageId":"m-1","body":"` + failing + `","eventSource":"aws:sqs"}]}`, "sqs", nil,
			map[string]float64{"cancelled": 0, "failed": 1, "guard_refused": 0}},
		{"refused by the guard", `{"sweep":{}}`, "direct", func(t *testing.T) {
			testkit.SeedOverTheGuard(t, emu, "E2eAwsEmfGuar", 101) // with the seed's 3 stale: 104 > MAX_CANCELLATIONS
		}, map[string]float64{"cancelled": 0, "dry_run": 104, "guard_refused": 1}},
		{"event not accepted", `[1,2]`, "unknown", nil,
			map[string]float64{"cancelled": 0, "failed": 0, "guard_refused": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before(t)
			}
			rid := testkit.RequestID("emf")
			invoke(t, fn, rid, []byte(tt.event))
			var docs []string
			for _, l := range rawLines(t, rid) {
				if strings.Contains(l, `"_aws"`) {
					docs = append(docs, l)
				}
			}
			if len(docs) != 1 {
				t.Fatalf("%d lines with _aws, want 1 (the summary line):\n%s", len(docs), strings.Join(docs, "\n"))
			}
			line := docs[0]
			if err := emf.Validate([]byte(line)); err != nil {
				t.Fatalf("the summary line is not valid EMF: %v\n%s", err, line)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["message"] != "invocation summary" {
				t.Errorf("_aws is on %q, want the summary line", doc["message"])
			}
			directives := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
			if ns := directives[0].(map[string]any)["Namespace"]; ns != metricsNamespace {
				t.Errorf("Namespace %v, want METRICS_NAMESPACE %s", ns, metricsNamespace)
			}
			if doc["Trigger"] != tt.trigger || doc["trigger"] != tt.trigger {
				t.Errorf("Trigger %v, trigger %v: want both %s", doc["Trigger"], doc["trigger"], tt.trigger)
			}
			for k, v := range tt.want {
				if doc[k] != v {
					t.Errorf("%s = %v, want %v", k, doc[k], v)
				}
			}
		})
	}
}
