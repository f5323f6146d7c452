package startup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/emf"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// TestSummaryMetricsMakeEverySummaryLineValidEMF writes summary lines the
// way the engine does, decorated as the Lambda function decorates them,
// through the product's logger, and checks each against the specification.
func TestSummaryMetricsMakeEverySummaryLineValidEMF(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	decorate, err := summaryMetrics("Team/Janitor", true, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	e := &janitor.Engine{DecorateSummary: decorate}
	for _, tt := range []struct {
		name, trigger, wantTrigger string
		rep                        janitor.Report
		err                        error
		guard                      float64
	}{
		{"a sweep", "schedule", "schedule", janitor.Report{Summary: janitor.Summary{handshake.OutcomeCancelled: 2}, Mode: janitor.ModeSweep, Duration: 1500 * time.Millisecond}, nil, 0},
		{"a guard refusal", "direct", "direct", janitor.Report{Summary: janitor.Summary{handshake.OutcomeDryRun: 200}, Mode: janitor.ModeSweep}, &janitor.GuardError{Selected: 200, Limit: 100}, 1},
		{"an event not accepted", "", "unknown", janitor.Report{}, errors.New("event not accepted"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx := logging.WithInvocation(context.Background(), logging.New(&buf, zerolog.InfoLevel),
				logging.Invocation{Platform: logging.PlatformAWS, InvocationID: "r-1", Trigger: tt.trigger})
			e.LogSummary(ctx, tt.rep, tt.err)
			if err := emf.Validate(buf.Bytes()); err != nil {
				t.Fatalf("not valid EMF: %v\n%s", err, buf.Bytes())
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			aws := line["_aws"].(map[string]any)
			if aws["Timestamp"] != float64(at.UnixMilli()) {
				t.Errorf("Timestamp %v, want %d", aws["Timestamp"], at.UnixMilli())
			}
			if ns := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"]; ns != "Team/Janitor" {
				t.Errorf("Namespace %v", ns)
			}
			if line[emf.DimensionTrigger] != tt.wantTrigger || line["guard_refused"] != tt.guard ||
				line["duration_ms"] != float64(tt.rep.Duration.Milliseconds()) {
				t.Errorf("Trigger %v, guard_refused %v, duration_ms %v: want %s, %v, %d",
					line[emf.DimensionTrigger], line["guard_refused"], line["duration_ms"], tt.wantTrigger, tt.guard, tt.rep.Duration.Milliseconds())
			}
		})
	}
}

func TestSummaryMetricsRefuseANamespaceCloudWatchWouldNot(t *testing.T) {
	for _, ns := range []string{"", "AWS/Lambda"} {
		if _, err := summaryMetrics(ns, false, time.Now); err == nil {
			t.Errorf("namespace %q accepted", ns)
		}
	}
}
