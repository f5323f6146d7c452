package deploytest

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/emf"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

// deployDefaults are the settings a deploy descriptor defaults to
// differently from pkg/config (which is also the CLI's): a first deploy is
// a dry run, whatever the local default.
var deployDefaults = map[string]string{config.EnvDryRun: "true"}

func TestTemplateFirstDeployIsADryRun(t *testing.T) {
	st := parseTemplate(t)
	if d := st.parameterDefault(t, "DryRun"); d != "true" {
		t.Errorf("DryRun default = %q, want \"true\": a first deploy reports and cancels nothing", d)
	}
	env := lookup(st.symbolic.Resources[functionID].Properties, "Environment", "Variables")
	if got := lookup(env, config.EnvDryRun); got != "ref:DryRun" {
		t.Errorf("DRY_RUN = %v, want the DryRun parameter", got)
	}
}

// parameterPattern returns a parameter's AllowedPattern, compiled by Go's
// regexp (cfn-lint reads it with Python's, TestTemplatePassesCfnLint).
func parameterPattern(t *testing.T, st samTemplate, name string) (string, *regexp.Regexp) {
	t.Helper()
	p, ok := st.Parameters[name]
	if !ok || p.AllowedPattern == nil {
		t.Fatalf("parameter %s has no AllowedPattern", name)
	}
	re, err := regexp.Compile(*p.AllowedPattern)
	if err != nil {
		t.Fatalf("parameter %s AllowedPattern: %v", name, err)
	}
	return *p.AllowedPattern, re
}

// The template refuses the namespaces the function refuses at start-up:
// the same pattern and length (internal/emf's one rule), and on examples
// the deploy and the start-up agree.
func TestTemplateMetricsNamespaceRefusesWhatTheFunctionRefuses(t *testing.T) {
	st := parseTemplate(t)
	pattern, re := parameterPattern(t, st, namespaceParameter)
	if pattern != emf.NamespacePattern {
		t.Errorf("%s AllowedPattern = %s\nwant internal/emf's NamespacePattern %s", namespaceParameter, pattern, emf.NamespacePattern)
	}
	p := st.Parameters[namespaceParameter]
	if p.MaxLength == nil || *p.MaxLength != emf.MaxNamespaceLen || p.MinLength == nil || *p.MinLength != 1 {
		t.Errorf("%s MinLength %v MaxLength %v, want 1 and emf.MaxNamespaceLen (%d)", namespaceParameter, p.MinLength, p.MaxLength, emf.MaxNamespaceLen)
	}
	for _, ns := range []string{"HandshakeJanitor", "Team/Janitor #2", "AWS", "AWSome/x", "AWS/Lambda", "AWS/", "a\tb", "trailing ", " leading", "x" + strings.Repeat("y", 255)} {
		deploys := re.MatchString(ns) && len(ns) <= *p.MaxLength
		_, err := config.Load(func(k string) string { return map[string]string{config.EnvMetricsNamespace: ns}[k] })
		// The function trims blanks, so a padded value would write where
		// the alarms do not read: the template refuses it.
		if starts := err == nil && strings.TrimSpace(ns) == ns; deploys != starts {
			t.Errorf("MetricsNamespace %q: the template accepts = %v, the function starts = %v (%v)", ns, deploys, starts, err)
		}
	}
}

// AllowedTargets carries pkg/targetpolicy's ListPattern, and what it lets
// through the function accepts at start-up (the pattern's agreement with
// the parser, both ways, is pkg/targetpolicy's test).
func TestTemplateAllowedTargetsRefusesWhatTheFunctionRefuses(t *testing.T) {
	st := parseTemplate(t)
	pattern, re := parameterPattern(t, st, "AllowedTargets")
	if pattern != targetpolicy.ListPattern {
		t.Errorf("AllowedTargets AllowedPattern = %s\nwant pkg/targetpolicy's ListPattern %s", pattern, targetpolicy.ListPattern)
	}
	if !re.MatchString(st.parameterDefault(t, "AllowedTargets")) {
		t.Error("AllowedTargets refuses its own default")
	}
	for _, v := range []string{"", "*@example.com,*@*.example.com,1234567890123456", " ceo@example.com , ", "*", "*@*", "*@*.com", "example.com", "12345", "a@b..c", ",,,", "a@x.y;b@x.y"} {
		if !re.MatchString(v) {
			continue
		}
		if _, err := config.Load(func(k string) string { return map[string]string{config.EnvAllowedTargets: v}[k] }); err != nil {
			t.Errorf("AllowedTargets %q deploys, but the function refuses it at start-up: %v", v, err)
		}
	}
	for _, v := range []string{"*", "*@*", "*@*.com", "example.com", "12345", "a@b..c", ",,,"} {
		if re.MatchString(v) {
			t.Errorf("AllowedTargets %q deploys: want it refused", v)
		}
	}
}

// SAM's generated resources carry the function's tags.
func TestTemplatePropagatesTheFunctionsTags(t *testing.T) {
	st := parseTemplate(t)
	if got := st.symbolic.Resources[functionID].Properties["PropagateTags"]; got != true {
		t.Errorf("%s PropagateTags = %v, want true: the roles and schedules SAM generates would carry no tag", functionID, got)
	}
}

// The scheduled sweep is reported under its own trigger, never as a direct
// invocation: each EventBridge rule of the template either sends no Input
// (the function gets the "Scheduled Event" envelope of
// events/aws-scheduled-event.json) or an Input the decoder does not read as
// direct.
func TestTemplateScheduleIsNotReportedAsDirect(t *testing.T) {
	st := parseTemplate(t)
	var rules int
	for name, r := range st.symbolic.Resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		rules++
		targets, _ := r.Properties["Targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("rule %s has no target", name)
		}
		for _, tg := range targets {
			event := readRoot(t, "events/aws-scheduled-event.json")
			if in, ok := lookup(tg, "Input").(string); ok {
				event = []byte(in)
			}
			d, err := trigger.AWS(event)
			if err != nil || d.Trigger == trigger.Direct || d.Job.Sweep == nil {
				t.Errorf("rule %s target: trigger.AWS = %+v, %v; want a sweep under a trigger of its own, not %q", name, d, err, trigger.Direct)
			}
		}
	}
	if rules == 0 {
		t.Fatal("template.yaml has no EventBridge rule: the sweep is not scheduled")
	}
}

// awsTriggerValues are the Trigger values a Lambda summary line can carry:
// the AWS decoder's, and "unknown" for an event it could not read.
var awsTriggerValues = []string{trigger.SQS, trigger.Schedule, trigger.ScheduledEvent, trigger.Direct, "unknown"}

// By default the function publishes the rollup only (what the alarms and
// the dashboard read); the per-trigger breakdown is a parameter, off by
// default, and the docs state what each choice costs.
func TestTemplateMetricsPerTriggerAreOptInAndTheirCostIsDocumented(t *testing.T) {
	st := parseTemplate(t)
	if d := st.parameterDefault(t, "MetricsByTrigger"); d != "false" {
		t.Errorf("MetricsByTrigger default = %q, want \"false\"", d)
	}
	env := lookup(st.symbolic.Resources[functionID].Properties, "Environment", "Variables")
	if got := lookup(env, config.EnvMetricsByTrigger); got != "ref:MetricsByTrigger" {
		t.Errorf("%s = %v, want the MetricsByTrigger parameter", config.EnvMetricsByTrigger, got)
	}
	doc := string(readRoot(t, "docs/deploy-safety.md"))
	const perMetric = 0.30
	for _, byTrigger := range []bool{false, true} {
		n := emf.CustomMetrics(byTrigger, len(awsTriggerValues))
		for _, want := range []string{
			fmtInt(n) + " custom metrics",
			"$" + fmtMoney(float64(n)*perMetric),
		} {
			if !strings.Contains(doc, want) {
				t.Errorf("docs/deploy-safety.md does not state %q (METRICS_BY_TRIGGER=%v)", want, byTrigger)
			}
		}
	}
}

func fmtInt(n int) string { return strconv.Itoa(n) }

func fmtMoney(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
