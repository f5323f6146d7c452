package startup

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/emf"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// summaryMetrics returns what makes each invocation's summary line also a
// CloudWatch embedded metric format document: the `_aws` member naming the
// line's counts, guard_refused and duration_ms as metrics in namespace (the
// rollup; with byTrigger, also per Trigger), and the Trigger member that
// dimension refers to. CloudWatch Logs extracts
// them from the function's log group as it ingests the line: one line, no
// API call.
func summaryMetrics(namespace string, byTrigger bool, now func() time.Time) (func(context.Context, *zerolog.Event, janitor.Report), error) {
	meta, err := emf.New(emf.Summary(namespace, byTrigger))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, ev *zerolog.Event, _ janitor.Report) {
		inv, _ := logging.InvocationFrom(ctx)
		trig := inv.Trigger
		if trig == "" {
			trig = "unknown" // a dimension value must not be empty
		}
		ev.Str(emf.DimensionTrigger, trig).RawJSON("_aws", meta.Append(nil, now()))
	}, nil
}
