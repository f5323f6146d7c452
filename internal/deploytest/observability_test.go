package deploytest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// emfMetrics is the contract of the metrics functions/aws publishes in its
// invocation summary line (CloudWatch Embedded Metric Format, issue 14):
// name and unit, in the namespace of METRICS_NAMESPACE, with the dimension
// set [Trigger] and the no-dimension rollup. The alarms and the dashboard
// may use only these.
var emfMetrics = map[string]string{
	"cancelled":     "Count",
	"skipped":       "Count",
	"not_found":     "Count",
	"invalid":       "Count",
	"dry_run":       "Count",
	"failed":        "Count",
	"guard_refused": "Count", // 0 or 1 per invocation
	"duration_ms":   "Milliseconds",
}

const (
	namespaceParameter = "MetricsNamespace"
	alarmTopicNotice   = `map[if:[HasAlarmTopic [ref:AlarmTopicArn] <nil>]]`
)

// alarm is an AWS::CloudWatch::Alarm as the symbolic template has it.
type alarm struct {
	name  string
	props map[string]any
}

func (st samTemplate) alarms() []alarm {
	var out []alarm
	for _, name := range keys(st.symbolic.Resources) {
		if r := st.symbolic.Resources[name]; r.Type == "AWS::CloudWatch::Alarm" {
			out = append(out, alarm{name, r.Properties})
		}
	}
	return out
}

func TestTemplatePassesTheMetricsNamespaceToTheFunction(t *testing.T) {
	st := parseTemplate(t)
	if d := st.parameterDefault(t, namespaceParameter); d != "HandshakeJanitor" {
		t.Errorf("%s default = %q, want HandshakeJanitor", namespaceParameter, d)
	}
	env := lookup(st.symbolic.Resources[functionID].Properties, "Environment", "Variables")
	if got := lookup(env, "METRICS_NAMESPACE"); got != "ref:"+namespaceParameter {
		t.Errorf("METRICS_NAMESPACE = %v, want the %s parameter: the alarms read that namespace", got, namespaceParameter)
	}
}

// Every alarm on the function's own metrics reads a metric of the contract,
// in the namespace the function writes, as the no-dimension rollup (an
// alarm with a dimension the line does not carry would never see data);
// every alarm notifies the optional topic.
func TestTemplateAlarmsUseContractMetricsAndNotifyTheTopic(t *testing.T) {
	st := parseTemplate(t)
	all := st.alarms()
	if len(all) == 0 {
		t.Fatal("template.yaml has no alarms")
	}
	onOwn := map[string][]string{} // metric -> alarms
	for _, a := range all {
		if got := fmt.Sprint(a.props["AlarmActions"]); got != alarmTopicNotice {
			t.Errorf("alarm %s AlarmActions = %s, want !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]", a.name, got)
		}
		if a.props["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s TreatMissingData = %v, want notBreaching: no invocation, nothing wrong", a.name, a.props["TreatMissingData"])
		}
		ns, _ := a.props["Namespace"].(string)
		if strings.HasPrefix(ns, "AWS/") {
			continue
		}
		if ns != "ref:"+namespaceParameter {
			t.Errorf("alarm %s Namespace = %v, want AWS/... or the %s parameter", a.name, a.props["Namespace"], namespaceParameter)
			continue
		}
		metric, _ := a.props["MetricName"].(string)
		if _, ok := emfMetrics[metric]; !ok {
			t.Errorf("alarm %s reads %q, which the summary line does not publish (%v)", a.name, metric, keys(emfMetrics))
		}
		if d, ok := a.props["Dimensions"]; ok {
			t.Errorf("alarm %s has Dimensions %v: use the rollup, which has none", a.name, d)
		}
		onOwn[metric] = append(onOwn[metric], a.name)
	}

	// The two that matter fire on the first occurrence.
	for _, metric := range []string{"failed", "guard_refused"} {
		if len(onOwn[metric]) == 0 {
			t.Errorf("no alarm on %s", metric)
		}
		for _, name := range onOwn[metric] {
			p := st.symbolic.Resources[name].Properties
			period := number(t, name+".Period", p["Period"])
			if p["Statistic"] != "Sum" || p["ComparisonOperator"] != "GreaterThanThreshold" || p["Threshold"] != 0.0 {
				t.Errorf("alarm %s: %v %v %v, want Sum GreaterThanThreshold 0", name, p["Statistic"], p["ComparisonOperator"], p["Threshold"])
			}
			// A day's sweep is inside one window; at most a day, so that
			// the alarm clears and the next failure notifies again.
			if period < 60 || period > 86400 || int(period)%60 != 0 {
				t.Errorf("alarm %s Period = %v, want whole minutes up to a day", name, period)
			}
		}
	}
}

// dashboardBody returns the dashboard's body with its ${...} references
// checked and left in place (they sit inside JSON strings).
func dashboardBody(t *testing.T, st samTemplate) (name string, body dashboard) {
	t.Helper()
	var names []string
	for n, r := range st.symbolic.Resources {
		if r.Type == "AWS::CloudWatch::Dashboard" {
			names = append(names, n)
		}
	}
	if len(names) != 1 {
		t.Fatalf("template.yaml has %d dashboards, want 1", len(names))
	}
	name = names[0]
	raw, _ := st.symbolic.Resources[name].Properties["DashboardBody"].(string)
	text, ok := strings.CutPrefix(raw, "sub:")
	if !ok {
		t.Fatalf("%s DashboardBody = %.80q, want a !Sub string", name, raw)
	}
	// Each reference names a parameter, a pseudo parameter or an
	// attribute of a resource of this template.
	for _, m := range regexp.MustCompile(`\$\{([^}]*)\}`).FindAllStringSubmatch(text, -1) {
		ref := m[1]
		res, _, isAttr := strings.Cut(ref, ".")
		_, isParam := st.Parameters[ref]
		_, isRes := st.symbolic.Resources[res]
		if !isParam && !strings.HasPrefix(ref, "AWS::") && !(isAttr && isRes) {
			t.Errorf("%s body references ${%s}, which is no parameter or resource attribute of the template", name, ref)
		}
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("%s body is not the JSON of a dashboard: %v", name, err)
	}
	return name, body
}

type dashboard struct {
	Start          string `json:"start"`
	PeriodOverride string `json:"periodOverride"`
	Widgets        []struct {
		Type       string `json:"type"`
		X          int    `json:"x"`
		Y          int    `json:"y"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		Properties struct {
			Title       string  `json:"title"`
			Region      string  `json:"region"`
			View        string  `json:"view"`
			Stacked     bool    `json:"stacked"`
			Stat        string  `json:"stat"`
			Period      int     `json:"period"`
			Metrics     [][]any `json:"metrics"`
			YAxis       any     `json:"yAxis"`
			Annotations struct {
				Horizontal []annotation `json:"horizontal"`
			} `json:"annotations"`
		} `json:"properties"`
	} `json:"widgets"`
}

// annotation is a horizontal line on a graph.
type annotation struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Color string  `json:"color"`
	YAxis string  `json:"yAxis"`
}

// metricLine is one entry of a widget's metrics: namespace, name, then
// dimension name/value pairs, then optionally a map of options.
type metricLine struct {
	namespace, name string
	dims            map[string]string
}

func parseMetricLine(t *testing.T, widget string, m []any) metricLine {
	t.Helper()
	var parts []string
	for i, v := range m {
		switch v := v.(type) {
		case string:
			if v == "..." || v == "." {
				t.Errorf("widget %q uses the %q shorthand: spell each metric out", widget, v)
			}
			parts = append(parts, v)
		case map[string]any:
			if i != len(m)-1 {
				t.Errorf("widget %q metric %v: options must come last", widget, m)
			}
		default:
			t.Errorf("widget %q metric %v: element %v (%T)", widget, m, v, v)
		}
	}
	if len(parts) < 2 || len(parts)%2 != 0 {
		t.Fatalf("widget %q metric %v: want namespace, name and dimension pairs", widget, m)
	}
	l := metricLine{namespace: parts[0], name: parts[1], dims: map[string]string{}}
	for i := 2; i < len(parts); i += 2 {
		l.dims[parts[i]] = parts[i+1]
	}
	return l
}

func TestTemplateDashboardShowsOutcomesQueuesDeadLettersAndDurationAgainstTheTimeout(t *testing.T) {
	st := parseTemplate(t)
	name, body := dashboardBody(t, st)
	fn := st.function(t)
	own := "${" + namespaceParameter + "}"

	ownMetrics := map[string]bool{}
	queueMetrics := map[string][]string{} // queue logical ID -> SQS metrics shown
	var durationWidget bool
	for _, w := range body.Widgets {
		p := w.Properties
		if w.Type != "metric" || p.Title == "" || p.Region != "${AWS::Region}" || len(p.Metrics) == 0 {
			t.Errorf("%s widget %q: type %q, region %q, %d metrics; want a titled metric widget in the stack's region", name, p.Title, w.Type, p.Region, len(p.Metrics))
		}
		if w.Width < 1 || w.X+w.Width > 24 || w.Height < 1 {
			t.Errorf("%s widget %q: x %d width %d height %d, want inside the 24-column grid", name, p.Title, w.X, w.Width, w.Height)
		}
		var hasDuration bool
		for _, m := range p.Metrics {
			l := parseMetricLine(t, p.Title, m)
			switch l.namespace {
			case own:
				if _, ok := emfMetrics[l.name]; !ok {
					t.Errorf("%s widget %q shows %q, which the summary line does not publish", name, p.Title, l.name)
				}
				if len(l.dims) != 0 {
					t.Errorf("%s widget %q shows %s with dimensions %v: the rollup has none", name, p.Title, l.name, l.dims)
				}
				ownMetrics[l.name] = true
				hasDuration = hasDuration || l.name == "duration_ms"
			case "AWS/SQS":
				q, _ := strings.CutPrefix(l.dims["QueueName"], "${")
				q, _ = strings.CutSuffix(q, ".QueueName}")
				if r, ok := st.symbolic.Resources[q]; !ok || r.Type != "AWS::SQS::Queue" || len(l.dims) != 1 {
					t.Errorf("%s widget %q: SQS metric %s of %v, want QueueName of a queue of the template", name, p.Title, l.name, l.dims)
				}
				queueMetrics[q] = append(queueMetrics[q], l.name)
			case "AWS/Lambda":
			default:
				t.Errorf("%s widget %q: namespace %q, want %s, AWS/SQS or AWS/Lambda", name, p.Title, l.namespace, own)
			}
		}
		if hasDuration {
			durationWidget = true
			timeoutMs := float64(derefInt(fn.Timeout) * 1000)
			if !slices.ContainsFunc(p.Annotations.Horizontal, func(a annotation) bool { return a.Value == timeoutMs }) {
				t.Errorf("%s widget %q shows duration_ms without a line at the function's timeout (%v ms): %+v", name, p.Title, timeoutMs, p.Annotations.Horizontal)
			}
		}
	}
	for _, m := range []string{"cancelled", "skipped", "failed", "guard_refused", "duration_ms"} {
		if !ownMetrics[m] {
			t.Errorf("%s does not show %s", name, m)
		}
	}
	if !durationWidget {
		t.Errorf("%s has no duration widget", name)
	}
	for _, want := range []struct {
		queue   string
		metrics []string
	}{
		{queueID, []string{"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}}, // depth and age
		{queueDLQID, []string{"ApproximateNumberOfMessagesVisible"}},
		{sweepDLQID, []string{"ApproximateNumberOfMessagesVisible"}},
	} {
		for _, m := range want.metrics {
			if !slices.Contains(queueMetrics[want.queue], m) {
				t.Errorf("%s does not show %s's %s", name, want.queue, m)
			}
		}
	}
}
