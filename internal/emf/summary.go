package emf

import (
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// SummaryMetrics are the metrics of the function's one "invocation
// summary" line: the count of every outcome (handshake.Outcomes, in that
// order), whether the blast-radius guard refused the job, and how long the
// invocation took. Their names are the line's field names
// (janitor.Engine.LogSummary), so the line needs no extra member for them.
var SummaryMetrics = summaryMetrics()

func summaryMetrics() []Metric {
	var ms []Metric
	for _, o := range handshake.Outcomes() {
		ms = append(ms, Metric{Name: string(o), Unit: UnitCount})
	}
	return append(ms,
		Metric{Name: logging.FieldGuardRefused, Unit: UnitCount},
		Metric{Name: logging.FieldDurationMS, Unit: UnitMilliseconds})
}

// DimensionTrigger is the summary metrics' one dimension: the kind of event
// that started the invocation (sqs, schedule, direct, ...). Its value is the
// line's trigger field, repeated under this name because a dimension key
// names a top-level member and the dimension's name is that key.
const DimensionTrigger = "Trigger"

// Summary is the directive of the summary line under namespace: every
// SummaryMetrics metric as the rollup over all triggers (no dimension),
// which is what template.yaml's alarms and dashboard read; with byTrigger,
// also once per Trigger value. CloudWatch bills each metric and dimension
// value as a custom metric, so byTrigger multiplies the cost by one plus the
// number of trigger values seen (CustomMetrics).
func Summary(namespace string, byTrigger bool) Directive {
	dims := [][]string{{}}
	if byTrigger {
		dims = [][]string{{DimensionTrigger}, {}}
	}
	return Directive{Namespace: namespace, Dimensions: dims, Metrics: SummaryMetrics}
}

// CustomMetrics is how many CloudWatch custom metrics the summary line
// makes: len(SummaryMetrics) for the rollup, and as many again per trigger
// value when the per-trigger breakdown is on.
func CustomMetrics(byTrigger bool, triggerValues int) int {
	if !byTrigger {
		triggerValues = 0
	}
	return len(SummaryMetrics) * (1 + triggerValues)
}
