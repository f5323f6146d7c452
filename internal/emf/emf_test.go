package emf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// summaryLine logs a summary line the way the function does, through the
// product's logger (redacting writer included), with the _aws member of m.
func summaryLine(t *testing.T, m *Metadata, at time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	log := logging.New(&buf, zerolog.InfoLevel)
	log.Info().
		Str("platform", "aws").Str("invocation_id", "r-1").Str("trigger", "schedule").
		Int("cancelled", 3).Int("skipped", 1).Int("not_found", 0).Int("invalid", 0).
		Int("dry_run", 0).Int("failed", 0).Int("guard_refused", 0).Int64("duration_ms", 42).
		Bool("cold_start", true).
		Str(DimensionTrigger, "schedule").
		RawJSON("_aws", m.Append(nil, at)).
		Msg("invocation summary")
	return buf.Bytes()
}

func TestSummaryLineIsValidEMFWithTheNamespaceTheTriggerDimensionAndTheRollup(t *testing.T) {
	m, err := New(Summary("HandshakeJanitor", true))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 3, 0, 0, 123e6, time.UTC)
	line := summaryLine(t, m, at)
	if err := Validate(line); err != nil {
		t.Fatalf("Validate: %v\n%s", err, line)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []Directive
		} `json:"_aws"`
	}
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AWS.Timestamp != at.UnixMilli() {
		t.Errorf("Timestamp = %d, want %d", doc.AWS.Timestamp, at.UnixMilli())
	}
	if len(doc.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("%d directives, want 1", len(doc.AWS.CloudWatchMetrics))
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if d.Namespace != "HandshakeJanitor" {
		t.Errorf("Namespace = %q", d.Namespace)
	}
	if got := fmt.Sprint(d.Dimensions); got != "[[Trigger] []]" {
		t.Errorf("Dimensions = %s, want [[Trigger] []]", got)
	}
	want := map[string]Unit{
		"cancelled": UnitCount, "skipped": UnitCount, "not_found": UnitCount, "invalid": UnitCount,
		"dry_run": UnitCount, "failed": UnitCount, "guard_refused": UnitCount, "duration_ms": UnitMilliseconds,
	}
	if len(d.Metrics) != len(want) {
		t.Errorf("%d metrics, want %d: %v", len(d.Metrics), len(want), d.Metrics)
	}
	for _, mt := range d.Metrics {
		if u, ok := want[mt.Name]; !ok || u != mt.Unit {
			t.Errorf("metric %s %s: want one of %v", mt.Name, mt.Unit, want)
		}
	}
}

func TestAppendWritesOnlyTheTimestampPerLine(t *testing.T) {
	m, err := New(Summary("NS", true))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Append(nil, time.UnixMilli(1_700_000_000_000))
	b := m.Append([]byte("x"), time.UnixMilli(1_700_000_000_001))
	if !json.Valid(a) {
		t.Fatalf("not JSON: %s", a)
	}
	if string(b) != "x"+strings.Replace(string(a), "1700000000000", "1700000000001", 1) {
		t.Errorf("second append %s, want the first with the next millisecond after x", b)
	}
}

func TestNewRefusesDirectivesTheSpecificationForbids(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		var s []string
		for i := range n {
			s = append(s, f(i))
		}
		return s
	}
	var metrics101 []Metric
	for _, n := range many(101, func(i int) string { return fmt.Sprintf("m%d", i) }) {
		metrics101 = append(metrics101, Metric{Name: n, Unit: UnitCount})
	}
	ok := Summary("NS", true)
	tests := []struct {
		name string
		edit func(d *Directive)
		want string
	}{
		{"empty namespace", func(d *Directive) { d.Namespace = "" }, "namespace"},
		{"namespace too long", func(d *Directive) { d.Namespace = strings.Repeat("n", 1025) }, "namespace"},
		{"AWS namespace", func(d *Directive) { d.Namespace = "AWS/Lambda" }, "AWS/"},
		{"control character in namespace", func(d *Directive) { d.Namespace = "a\nb" }, "CloudWatch namespace"},
		{"no dimension set", func(d *Directive) { d.Dimensions = nil }, "no dimension set"},
		{"31 dimension keys", func(d *Directive) {
			d.Dimensions = [][]string{many(31, func(i int) string { return fmt.Sprintf("k%d", i) })}
		}, "at most 30"},
		{"empty dimension key", func(d *Directive) { d.Dimensions = [][]string{{""}} }, "dimension key"},
		{"no metric", func(d *Directive) { d.Metrics = nil }, "0 metrics"},
		{"101 metrics", func(d *Directive) { d.Metrics = metrics101 }, "101 metrics"},
		{"unnamed metric", func(d *Directive) { d.Metrics = []Metric{{Unit: UnitCount}} }, "metric name"},
		{"unknown unit", func(d *Directive) { d.Metrics = []Metric{{Name: "x", Unit: "Items"}} }, "not a CloudWatch unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			d.Dimensions = append([][]string(nil), ok.Dimensions...)
			d.Metrics = append([]Metric(nil), ok.Metrics...)
			tt.edit(&d)
			_, err := New(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(); err == nil {
		t.Error("New(): want an error for no directive")
	}
}

// TestValidateRejectsEveryBrokenRule proves the validator can fail: each
// case breaks one rule of the specification in an otherwise valid line.
func TestValidateRejectsEveryBrokenRule(t *testing.T) {
	const valid = `{"_aws":{"Timestamp":1764644400000,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["Trigger"],[]],"Metrics":[{"Name":"failed","Unit":"Count"},{"Name":"duration_ms","Unit":"Milliseconds","StorageResolution":60}]}]},"Trigger":"sqs","failed":0,"duration_ms":12}`
	if err := Validate([]byte(valid + "\n")); err != nil {
		t.Fatalf("the valid line: %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"not an object", valid, `[1]`, "not one JSON object"},
		{"data after the object", `"duration_ms":12}`, `"duration_ms":12} x`, "after the object"},
		{"member twice", `"failed":0,`, `"failed":0,"failed":1,`, "twice"},
		{"no _aws", `"_aws"`, `"aws"`, "no _aws"},
		{"_aws not an object", valid, `{"_aws":"x","Trigger":"sqs"}`, "_aws: not an object"},
		{"no Timestamp", `"Timestamp":1764644400000,`, ``, "no Timestamp"},
		{"Timestamp in seconds", `1764644400000`, `1764644400`, "milliseconds"},
		{"Timestamp a string", `1764644400000`, `"1764644400000"`, "integer"},
		{"extra member in _aws", `"Timestamp":`, `"LogGroup":"x","Timestamp":`, "unexpected member"},
		{"no CloudWatchMetrics", `"CloudWatchMetrics"`, `"CloudwatchMetrics"`, "no CloudWatchMetrics"},
		{"empty namespace", `"Namespace":"NS"`, `"Namespace":""`, "Namespace"},
		{"namespace not a string", `"Namespace":"NS"`, `"Namespace":7`, "Namespace"},
		{"no dimension set", `"Dimensions":[["Trigger"],[]]`, `"Dimensions":[]`, "Dimensions"},
		{"dimension names no member", `[["Trigger"]`, `[["trigger_"]`, "no such member"},
		{"dimension value empty", `"Trigger":"sqs"`, `"Trigger":""`, "white space"},
		{"dimension value a number", `"Trigger":"sqs"`, `"Trigger":3`, "want a string"},
		{"dimension value too long", `"Trigger":"sqs"`, `"Trigger":"` + strings.Repeat("a", 1025) + `"`, "1024"},
		{"31 dimension keys", `[["Trigger"]`, `[[` + strings.Repeat(`"Trigger",`, 30) + `"Trigger"]`, "at most 30"},
		{"metric names no member", `{"Name":"failed"`, `{"Name":"errors"`, "no such member"},
		{"metric value a string", `"failed":0`, `"failed":"0"`, "want a number"},
		{"metric value a boolean", `"failed":0`, `"failed":false`, "want a number"},
		{"metric array of strings", `"failed":0`, `"failed":["0"]`, "want a number"},
		{"metric array too long", `"failed":0`, `"failed":[` + strings.Repeat("1,", 100) + `1]`, "at most 100"},
		{"bad unit", `"Unit":"Count"`, `"Unit":"count"`, "not a CloudWatch unit"},
		{"bad storage resolution", `"StorageResolution":60`, `"StorageResolution":30`, "1 or 60"},
		{"extra member in a directive", `"Namespace":"NS",`, `"Namespace":"NS","Region":"x",`, "unexpected member"},
		{"extra member in a metric", `{"Name":"failed",`, `{"Name":"failed","Kind":"x",`, "unexpected member"},
		{"unnamed metric", `{"Name":"failed","Unit":"Count"}`, `{"Unit":"Count"}`, "Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := strings.Replace(valid, tt.old, tt.new, 1)
			if line == valid {
				t.Fatalf("the case does not change the line: %q not found", tt.old)
			}
			err := Validate([]byte(line))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate: %v, want an error containing %q\n%s", err, tt.want, line)
			}
		})
	}
	t.Run("101 metric definitions", func(t *testing.T) {
		var defs, members []string
		for i := range 101 {
			defs = append(defs, fmt.Sprintf(`{"Name":"m%d"}`, i))
			members = append(members, fmt.Sprintf(`"m%d":1`, i))
		}
		line := `{"_aws":{"Timestamp":1764644400000,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[[]],"Metrics":[` +
			strings.Join(defs, ",") + `]}]},` + strings.Join(members, ",") + `}`
		if err := Validate([]byte(line)); err == nil || !strings.Contains(err.Error(), "at most 100") {
			t.Errorf("Validate: %v, want at most 100", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		line := strings.Replace(valid, `"failed":0`, `"failed":0,"pad":"`+strings.Repeat("p", MaxDocument)+`"`, 1)
		if err := Validate([]byte(line)); err == nil || !strings.Contains(err.Error(), "bytes") {
			t.Errorf("Validate: %v, want a size error", err)
		}
	})
}

func TestValidUnitAcceptsCloudWatchUnitsOnly(t *testing.T) {
	for _, u := range []string{"Count", "Milliseconds", "Count/Second", "None", "Bytes/Second", "Percent"} {
		if !ValidUnit(u) {
			t.Errorf("ValidUnit(%q) = false", u)
		}
	}
	for _, u := range []string{"", "count", "ms", "Count/Minute", "Items"} {
		if ValidUnit(u) {
			t.Errorf("ValidUnit(%q) = true", u)
		}
	}
}

// By default the line publishes the rollup only: the metrics the alarms and
// the dashboard read, with no dimension. The per-trigger breakdown adds the
// Trigger dimension set, and the line stays valid either way.
func TestSummaryPublishesTheRollupOnlyUnlessByTrigger(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		byTrigger bool
		want      string
		metrics   int
	}{
		{false, "[[]]", 8},
		{true, "[[Trigger] []]", 8 * (1 + 4)},
	} {
		d := Summary("NS", tt.byTrigger)
		if got := fmt.Sprint(d.Dimensions); got != tt.want {
			t.Errorf("Summary(byTrigger %v).Dimensions = %s, want %s", tt.byTrigger, got, tt.want)
		}
		m, err := New(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(summaryLine(t, m, at)); err != nil {
			t.Errorf("byTrigger %v: %v", tt.byTrigger, err)
		}
		if got := CustomMetrics(tt.byTrigger, 4); got != tt.metrics {
			t.Errorf("CustomMetrics(%v, 4) = %d, want %d", tt.byTrigger, got, tt.metrics)
		}
	}
}
