package emf

// The metrics of the function's one "invocation summary" line: the outcome
// counts, whether the blast-radius guard refused the job, and how long the
// invocation took. Their names are the line's field names (README.md,
// "Logs"), so the line needs no extra member for them.
var SummaryMetrics = []Metric{
	{Name: "cancelled", Unit: UnitCount},
	{Name: "skipped", Unit: UnitCount},
	{Name: "not_found", Unit: UnitCount},
	{Name: "invalid", Unit: UnitCount},
	{Name: "dry_run", Unit: UnitCount},
	{Name: "failed", Unit: UnitCount},
	{Name: "guard_refused", Unit: UnitCount},
	{Name: "duration_ms", Unit: UnitMilliseconds},
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
