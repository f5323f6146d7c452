package janitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// TestSummaryLineAlwaysCarriesGuardRefusedAndDuration: the fields metrics
// are built from are numbers on every summary line, whether a Job ran, was
// refused by the guard, or never started.
func TestSummaryLineAlwaysCarriesGuardRefusedAndDuration(t *testing.T) {
	guard := &janitor.GuardError{Selected: 150, Limit: 100}
	for _, tt := range []struct {
		name     string
		rep      janitor.Report
		err      error
		guard    float64
		duration float64
	}{
		{"a run", janitor.Report{Mode: janitor.ModeItems, Duration: 1234 * time.Millisecond}, nil, 0, 1234},
		{"refused by the guard", janitor.Report{Mode: janitor.ModeSweep, Duration: 20 * time.Millisecond}, guard, 1, 20},
		{"the guard's error wrapped", janitor.Report{Mode: janitor.ModeSweep}, fmt.Errorf("sweep: %w", guard), 1, 0},
		{"another error", janitor.Report{}, errors.New("event not accepted"), 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx := logging.WithInvocation(context.Background(), logging.New(&buf, zerolog.InfoLevel), logging.Invocation{Trigger: "direct"})
			(&janitor.Engine{}).LogSummary(ctx, tt.rep, tt.err)
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			if line[logging.FieldGuardRefused] != tt.guard || line[logging.FieldDurationMS] != tt.duration {
				t.Errorf("guard_refused %v, duration_ms %v: want %v, %v\n%s",
					line[logging.FieldGuardRefused], line[logging.FieldDurationMS], tt.guard, tt.duration, buf.Bytes())
			}
		})
	}
}

// TestSummaryLineIsWrittenAtEveryLogLevel: metrics and alarms are built
// from the summary line, so LOG_LEVEL=warn or error must not drop a healthy
// run's line; only a disabled logger does.
func TestSummaryLineIsWrittenAtEveryLogLevel(t *testing.T) {
	for _, tt := range []struct {
		level     zerolog.Level
		err       error
		wantLevel string
	}{
		{zerolog.TraceLevel, nil, "info"},
		{zerolog.InfoLevel, nil, "info"},
		{zerolog.WarnLevel, nil, "info"},
		{zerolog.ErrorLevel, nil, "info"},
		{zerolog.ErrorLevel, errors.New("event not accepted"), "error"},
		{zerolog.FatalLevel, errors.New("event not accepted"), "error"},
	} {
		var buf bytes.Buffer
		ctx := logging.WithInvocation(context.Background(), logging.New(&buf, tt.level), logging.Invocation{Trigger: "direct"})
		(&janitor.Engine{}).LogSummary(ctx, janitor.Report{Mode: janitor.ModeItems, Summary: janitor.Summary{handshake.OutcomeCancelled: 2}}, tt.err)
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Errorf("LOG_LEVEL %s: no summary line (%v): %q", tt.level, err, buf.String())
			continue
		}
		if line["message"] != logging.MessageSummary || line["level"] != tt.wantLevel || line["cancelled"] != float64(2) {
			t.Errorf("LOG_LEVEL %s: line %v, want the summary at level %s with cancelled 2", tt.level, line, tt.wantLevel)
		}
	}
	var buf bytes.Buffer
	ctx := logging.WithInvocation(context.Background(), logging.New(&buf, zerolog.Disabled), logging.Invocation{})
	(&janitor.Engine{}).LogSummary(ctx, janitor.Report{}, nil)
	if buf.Len() != 0 {
		t.Errorf("a disabled logger wrote %q", buf.String())
	}
}

// TestSummaryJSONNamesEveryOutcomeInOrder: the Report's "summary" holds
// every outcome of handshake.Outcomes, in that order, zeros included, and
// reads back to the same Summary.
func TestSummaryJSONNamesEveryOutcomeInOrder(t *testing.T) {
	s := janitor.Summary{handshake.OutcomeCancelled: 2, handshake.OutcomeFailed: 1}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"cancelled":2,"skipped":0,"not_found":0,"invalid":0,"dry_run":0,"failed":1}`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back janitor.Summary
	if err := json.Unmarshal(b, &back); err != nil || !maps.Equal(back, s) {
		t.Errorf("read back %v, %v; want %v", back, err, s)
	}
}
