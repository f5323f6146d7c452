package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

// How s.yaml's ${...} expressions are replaced before its props are
// validated and checked (Serverless Devs evaluates them at deploy time):
//
//   - ${vars.NAME} is the value of vars.NAME (itself expanded first); when
//     the expression is a whole YAML scalar it keeps the value's type, as
//     Serverless Devs does, so `timeout: ${vars.timeout}` stays a number;
//   - ${env('NAME', 'default')} is its default: the test never reads the
//     machine's environment, so it gives the same answer everywhere;
//   - ${env('NAME')}, which has no default, is a plausible, well-formed
//     value from plausibleEnv (an ARN-shaped role);
//   - ${config('KEY')}, a value of the access `s config` stored, is a
//     plausible one from plausibleConfig (a 16-digit account ID);
//   - inside a longer string, an expression is replaced by its value's text.
//
// Any other expression fails the test, so that a new kind gets a deliberate
// evaluation here rather than a silent pass.
var (
	plausibleEnv    = map[string]string{"FC_ROLE_ARN": "acs:ram::1234567890123456:role/handshake-janitor"}
	plausibleConfig = map[string]string{"AccountID": "1234567890123456"}
)

var (
	exprRe = regexp.MustCompile(`\$\{([^{}]*)\}`)
	envRe  = regexp.MustCompile(`^env\(\s*(?:'([^']*)'|"([^"]*)")\s*(?:,\s*(?:'([^']*)'|"([^"]*)")\s*)?\)$`)
	confRe = regexp.MustCompile(`^config\(\s*(?:'([^']*)'|"([^"]*)")\s*\)$`)
)

type devsExpander struct {
	vars   map[string]any
	env    map[string]string
	config map[string]string
}

func (x devsExpander) eval(expr string) (any, error) {
	expr = strings.TrimSpace(expr)
	if path, ok := strings.CutPrefix(expr, "vars."); ok {
		var v any = x.vars
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("${%s}: no such var", expr)
			}
			if v, ok = m[k]; !ok {
				return nil, fmt.Errorf("${%s}: no such var", expr)
			}
		}
		return v, nil
	}
	if m := envRe.FindStringSubmatchIndex(expr); m != nil {
		group := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return expr[m[2*i]:m[2*i+1]]
		}
		name := group(1) + group(2)
		if m[6] >= 0 || m[8] >= 0 { // a default, possibly ''
			return group(3) + group(4), nil
		}
		if v, ok := x.env[name]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("${%s} has no default: give the test a plausible value for %s in plausibleEnv", expr, name)
	}
	if m := confRe.FindStringSubmatch(expr); m != nil {
		if v, ok := x.config[m[1]+m[2]]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("${%s}: give the test a plausible value for %s in plausibleConfig", expr, m[1]+m[2])
	}
	return nil, fmt.Errorf("${%s}: the test does not know how to evaluate this expression; teach devsExpander", expr)
}

func (x devsExpander) expand(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			var err error
			if out[k], err = x.expand(e); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = x.expand(e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return out, nil
	case string:
		if m := exprRe.FindStringSubmatchIndex(v); m != nil && m[0] == 0 && m[1] == len(v) {
			return x.eval(v[m[2]:m[3]]) // a whole scalar keeps its type
		}
		var err error
		s := exprRe.ReplaceAllStringFunc(v, func(e string) string {
			r, e2 := x.eval(e[2 : len(e)-1])
			if e2 != nil && err == nil {
				err = e2
			}
			return fmt.Sprint(r)
		})
		return s, err
	}
	return v, nil
}

// sYaml is s.yaml, parsed and expanded.
type sYaml struct {
	Edition   string
	Vars      map[string]any
	Resources map[string]fcResource
}

type fcResource struct {
	Component string
	Actions   map[string][]map[string]any
	Props     map[string]any
	RawProps  map[string]any // before expansion
}

func parseSYaml(t *testing.T, data []byte) sYaml {
	t.Helper()
	var raw struct {
		Edition   string
		Vars      map[string]any
		Resources map[string]struct {
			Component string
			Actions   map[string][]map[string]any
			Props     map[string]any
		}
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	x := devsExpander{env: plausibleEnv, config: plausibleConfig}
	vars, err := x.expand(raw.Vars)
	if err != nil {
		t.Fatalf("s.yaml vars: %v", err)
	}
	x.vars, _ = vars.(map[string]any)
	s := sYaml{Edition: raw.Edition, Vars: x.vars, Resources: map[string]fcResource{}}
	for name, r := range raw.Resources {
		props, err := x.expand(r.Props)
		if err != nil {
			t.Fatalf("s.yaml resource %s props: %v", name, err)
		}
		p, _ := props.(map[string]any)
		s.Resources[name] = fcResource{Component: r.Component, Actions: r.Actions, Props: p, RawProps: r.Props}
	}
	return s
}

// fc3Resources returns the fc3 resources of s.yaml; there must be one.
func fc3Resources(t *testing.T, s sYaml) map[string]fcResource {
	t.Helper()
	if s.Edition != "3.0.0" {
		t.Errorf("s.yaml edition = %q, want 3.0.0 (the fc3 component's)", s.Edition)
	}
	out := map[string]fcResource{}
	for name, r := range s.Resources {
		if r.Component == "fc3" || strings.HasPrefix(r.Component, "fc3@") {
			out[name] = r
		}
	}
	if len(out) != 1 {
		t.Fatalf("s.yaml has %d fc3 resources, want 1", len(out))
	}
	return out
}

// fc3Schema compiles the fc3 component's props schema, vendored in
// testdata/ (where it comes from and its licence: testdata/fc3-props.schema.NOTICE).
func fc3Schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "fc3-props.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the fc3 props schema is missing: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	url := "file://" + filepath.ToSlash(path)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

// asJSON converts YAML-decoded props into the JSON values the schema
// validator expects.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSYamlPropsMatchTheFc3Schema(t *testing.T) {
	sch := fc3Schema(t)
	s := parseSYaml(t, readRoot(t, "s.yaml"))
	for name, r := range fc3Resources(t, s) {
		if err := sch.Validate(asJSON(t, r.Props)); err != nil {
			t.Errorf("s.yaml resource %s: props do not match the fc3 schema:\n%v", name, err)
		}
	}

	// The validation has teeth: the same props with a runtime and a memory
	// size fc3 does not accept are refused.
	for name, r := range fc3Resources(t, s) {
		bad := map[string]any{}
		for k, v := range r.Props {
			bad[k] = v
		}
		bad["runtime"], bad["memorySize"] = "go2", 100
		if err := sch.Validate(asJSON(t, bad)); err == nil {
			t.Errorf("resource %s with runtime go2 and memorySize 100 passes the schema: the validation checks nothing", name)
		}
	}
}

func TestSYamlExpanderReplacesExpressionsWithTypedValues(t *testing.T) {
	x := devsExpander{
		vars:   map[string]any{"timeout": 60, "region": "cn-hangzhou", "nested": map[string]any{"on": true}},
		env:    map[string]string{"ROLE": "acs:ram::1:role/r"},
		config: map[string]string{"AccountID": "42"},
	}
	tests := []struct {
		in      any
		want    any
		wantErr string
	}{
		{"${vars.timeout}", 60, ""},
		{"${ vars.nested.on }", true, ""},
		{"acs:mns:${vars.region}:1:/queues/q", "acs:mns:cn-hangzhou:1:/queues/q", ""},
		{"${env('REGION', 'cn-shanghai')}", "cn-shanghai", ""},
		{`${env("REGION", "")}`, "", ""},
		{"${env('ROLE')}", "acs:ram::1:role/r", ""},
		{"plain", "plain", ""},
		{7, 7, ""},
		{"${env('UNSET')}", nil, "plausibleEnv"},
		{"${vars.missing}", nil, "no such var"},
		{"${path('../')}", nil, "does not know"},
		{"acs:mns:r:${config('AccountID')}:/queues/q", "acs:mns:r:42:/queues/q", ""},
		{`${config("AccountID")}`, "42", ""},
		{"${config('AccessKeySecret')}", nil, "plausibleConfig"},
		{"${vars.region}-${unknown(1)}", nil, "does not know"},
	}
	for _, tt := range tests {
		got, err := x.expand(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expand(%v) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%v) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func str(v any) string { s, _ := v.(string); return s }

func TestSYamlFunctionIsTheMakefilesFCBinary(t *testing.T) {
	s := parseSYaml(t, readRoot(t, "s.yaml"))
	cmd := makeDryRun(t, "build-fc")
	out := regexp.MustCompile(`\s-o\s+(\S+)`).FindStringSubmatch(cmd)
	if out == nil || !strings.Contains(cmd, "GOOS=linux") || !strings.Contains(cmd, "GOARCH=amd64") || !strings.Contains(cmd, "./functions/fc") {
		t.Fatalf("make build-fc runs %q: want a linux/amd64 build of ./functions/fc with -o", cmd)
	}
	binary := filepath.Clean(out[1])

	for name, r := range fc3Resources(t, s) {
		p := r.Props
		if got := str(p["runtime"]); got != "go1" {
			t.Errorf("%s runtime = %q, want go1", name, got)
		}
		if got := filepath.Clean(str(p["code"])); got != filepath.Dir(binary) {
			t.Errorf("%s code = %q, want the Makefile's FC output directory %s", name, p["code"], filepath.Dir(binary))
		}
		if got := str(p["handler"]); got != filepath.Base(binary) {
			t.Errorf("%s handler = %q, want the binary's name %q", name, got, filepath.Base(binary))
		}
		// The pre-deploy action builds exactly that binary.
		var runs []string
		for _, a := range r.Actions["pre-deploy"] {
			if filepath.Clean(str(a["path"])) == "." || a["path"] == nil {
				runs = append(runs, strings.Join(strings.Fields(str(a["run"])), " "))
			}
		}
		if !slices.Contains(runs, "make build-fc") {
			t.Errorf("%s pre-deploy runs %q at the root, want `make build-fc`", name, runs)
		}
		if mem, ok := p["memorySize"].(int); !ok || mem < 128 {
			t.Errorf("%s memorySize = %v, want a number of MB >= 128", name, p["memorySize"])
		}
		timeout, ok := p["timeout"].(int)
		if !ok || time.Duration(timeout)*time.Second < 6*deadline.DefaultAPITimeout {
			t.Errorf("%s timeout = %v, want seconds >= 6 x API_TIMEOUT (%v)", name, p["timeout"], deadline.DefaultAPITimeout)
		}
		// The role comes from the operator, not from the file.
		if raw := str(r.RawProps["role"]); !strings.Contains(raw, "${") {
			t.Errorf("%s role = %q, want it from a variable (each account has its own role ARN)", name, raw)
		}
		if !regexp.MustCompile(`^acs:ram::\d+:role/[\w.@-]+$`).MatchString(str(p["role"])) {
			t.Errorf("%s role expands to %q, want a RAM role ARN", name, p["role"])
		}
	}
}

// triggers returns the props' triggers of the given type.
func triggers(p map[string]any, typ string) []map[string]any {
	var out []map[string]any
	list, _ := p["triggers"].([]any)
	for _, tr := range list {
		if m, ok := tr.(map[string]any); ok && m["triggerType"] == typ {
			out = append(out, m)
		}
	}
	return out
}

func TestSYamlTimerSweepsAndQueueTriggerLosesNothing(t *testing.T) {
	s := parseSYaml(t, readRoot(t, "s.yaml"))
	for name, r := range fc3Resources(t, s) {
		timers := triggers(r.Props, "timer")
		if len(timers) != 1 {
			t.Fatalf("%s has %d timer triggers, want 1", name, len(timers))
		}
		tc, _ := timers[0]["triggerConfig"].(map[string]any)
		if tc["enable"] != true {
			t.Errorf("timer trigger enable = %v, want true", tc["enable"])
		}
		if str(tc["cronExpression"]) == "" {
			t.Error("timer trigger has no cronExpression")
		}
		// FC delivers the payload in its timer event; pkg/trigger must read
		// it as a sweep with the configured policy.
		payload, _ := tc["payload"].(string)
		event, _ := json.Marshal(map[string]string{"triggerTime": "2024-01-01T03:00:00Z", "triggerName": str(timers[0]["triggerName"]), "payload": payload})
		d, err := trigger.FC(event)
		if err != nil || d.Job.Sweep == nil {
			t.Errorf("timer payload %q: trigger.FC = %+v, %v; want a sweep", payload, d, err)
		}

		ebs := triggers(r.Props, "eventbridge")
		if len(ebs) != 1 {
			t.Fatalf("%s has %d eventbridge triggers, want 1 (the MNS queue)", name, len(ebs))
		}
		ec, _ := ebs[0]["triggerConfig"].(map[string]any)
		src := lookup(ec, "eventSourceConfig", "eventSourceParameters", "sourceMNSParameters")
		if lookup(ec, "eventSourceConfig", "eventSourceType") != "MNS" || str(lookup(src, "QueueName")) == "" {
			t.Errorf("eventbridge trigger source = %v, want eventSourceType MNS with sourceMNSParameters.QueueName", lookup(ec, "eventSourceConfig"))
		}
		if _, ok := lookup(src, "IsBase64Decode").(bool); !ok {
			t.Errorf("sourceMNSParameters.IsBase64Decode = %v, want a boolean (the function reads both forms; say which it gets)", lookup(src, "IsBase64Decode"))
		}
		if ec["asyncInvocationType"] != false {
			t.Errorf("asyncInvocationType = %v, want false: a function error must fail the push so that it is retried", ec["asyncInvocationType"])
		}
		// runOptions (retries, dead letters) apply in event-streaming mode only.
		if lookup(ec, "runOptions", "mode") != "event-streaming" {
			t.Errorf("runOptions.mode = %v, want event-streaming: runOptions apply to it only", lookup(ec, "runOptions", "mode"))
		}
		// FC 3.0's DeliveryOption has concurrency and eventSchema, no mode.
		if opt, _ := lookup(ec, "eventSinkConfig", "deliveryOption").(map[string]any); opt["mode"] != nil || opt["eventSchema"] != "CloudEvents" {
			t.Errorf("eventSinkConfig.deliveryOption = %v, want eventSchema CloudEvents and no mode (not a field of FC 3.0's DeliveryOption)", opt)
		}
		if s := lookup(ec, "runOptions", "retryStrategy", "PushRetryStrategy"); s != "BACKOFF_RETRY" && s != "EXPONENTIAL_DECAY_RETRY" {
			t.Errorf("retryStrategy.PushRetryStrategy = %v, want BACKOFF_RETRY or EXPONENTIAL_DECAY_RETRY", s)
		}
		// With errorsTolerance ALL, what still fails goes to the dead-letter
		// queue and the stream goes on; NONE would stop it.
		if e := lookup(ec, "runOptions", "errorsTolerance"); e != "ALL" {
			t.Errorf("runOptions.errorsTolerance = %v, want ALL (with a dead-letter queue)", e)
		}
		dlq := str(lookup(ec, "runOptions", "deadLetterQueue", "Arn"))
		m := regexp.MustCompile(`^acs:mns:([a-z0-9-]+):(\d+):/queues/([A-Za-z0-9-]+)$`).FindStringSubmatch(dlq)
		switch {
		case m == nil:
			t.Errorf("runOptions.deadLetterQueue.Arn = %q, want acs:mns:<region>:<account>:/queues/<name>", dlq)
		case m[1] != str(r.Props["region"]):
			t.Errorf("dead-letter queue region %s, want the function's %v", m[1], r.Props["region"])
		case m[3] == str(lookup(src, "QueueName")):
			t.Errorf("dead-letter queue %s is the source queue itself", m[3])
		}
	}
}

// rawVars returns s.yaml's vars as written, before expansion.
func rawVars(t *testing.T) map[string]any {
	t.Helper()
	var raw struct{ Vars map[string]any }
	if err := yaml.Unmarshal(readRoot(t, "s.yaml"), &raw); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	return raw.Vars
}

// A deploy from a fresh shell deploys what the file says: s.yaml reads
// from the shell only where the function lives (region, role) and the
// account from the `s config` access; every setting of the function, the
// dry run (true by default), the target policy and the schedule included,
// is a committed var.
func TestSYamlSettingsSurviveADeployFromAFreshShell(t *testing.T) {
	data := string(readRoot(t, "s.yaml"))
	allowed := map[string]bool{"ALIBABA_CLOUD_REGION": true, "FC_ROLE_ARN": true}
	for _, m := range regexp.MustCompile(`\$\{\s*env\(\s*['"]([^'"]*)['"]`).FindAllStringSubmatch(data, -1) {
		if !allowed[m[1]] {
			t.Errorf("s.yaml reads %s from the shell: a deploy without it would reset the setting; make it a committed var", m[1])
		}
	}
	vars := rawVars(t)
	for name, want := range map[string]string{
		"accountId":      "${config('AccountID')}",
		"dryRun":         "true",
		"sweepSchedule":  fcDefaultSchedule,
		"allowedTargets": "",
	} {
		if got := vars[name]; got != want {
			t.Errorf("s.yaml vars.%s = %v, want %q", name, got, want)
		}
	}
	for name, r := range fc3Resources(t, parseSYaml(t, readRoot(t, "s.yaml"))) {
		if got := lookup(r.RawProps, "environmentVariables", "DRY_RUN"); got != "${vars.dryRun}" {
			t.Errorf("%s DRY_RUN = %v, want ${vars.dryRun}", name, got)
		}
		timers := triggers(r.RawProps, "timer")
		if len(timers) != 1 || lookup(timers[0], "triggerConfig", "cronExpression") != "${vars.sweepSchedule}" {
			t.Errorf("%s timer cronExpression is not ${vars.sweepSchedule}: %v", name, timers)
		}
	}
}

// Each FC instance has its own API_QPS limiter: the function's concurrency
// cap bounds the total call rate, which the Function Compute walkthrough
// states.
func TestSYamlCapsConcurrencySoTheTotalAPIRateIsBounded(t *testing.T) {
	s := parseSYaml(t, readRoot(t, "s.yaml"))
	for name, r := range fc3Resources(t, s) {
		cap, ok := lookup(r.Props, "concurrencyConfig", "reservedConcurrency").(int)
		if !ok || cap < 1 || cap > 10 {
			t.Fatalf("%s concurrencyConfig.reservedConcurrency = %v, want a number from 1 to 10: without it N instances call at N x API_QPS",
				name, lookup(r.Props, "concurrencyConfig", "reservedConcurrency"))
		}
		qps, err := strconv.ParseFloat(str(lookup(r.Props, "environmentVariables", "API_QPS")), 64)
		if err != nil {
			t.Fatalf("%s API_QPS: %v", name, err)
		}
		total := fmt.Sprintf("%d x %g = %g calls per second", cap, qps, float64(cap)*qps)
		if !strings.Contains(string(readRoot(t, "docs/deploy-alibaba-cloud.md")), total) {
			t.Errorf("docs/deploy-alibaba-cloud.md does not state the FC total rate %q", total)
		}
	}
}

// mnsQueueARN matches an MNS queue's ARN, with /messages for a destination.
var mnsQueueARN = regexp.MustCompile(`^acs:mns:([a-z0-9-]+|\*):(\d+|\*):/queues/([A-Za-z0-9-]+)(/messages)?$`)

// sweepDestination returns the on-failure destination of s.yaml's
// asynchronous invocations, checked, and its queue's name.
func sweepDestination(t *testing.T) (props map[string]any, queue string) {
	t.Helper()
	for _, r := range fc3Resources(t, parseSYaml(t, readRoot(t, "s.yaml"))) {
		props = r.Props
	}
	dest := str(lookup(props, "asyncInvokeConfig", "destinationConfig", "onFailure", "destination"))
	m := mnsQueueARN.FindStringSubmatch(dest)
	if m == nil || m[4] == "" {
		t.Fatalf("asyncInvokeConfig on-failure destination = %q, want acs:mns:<region>:<account>:/queues/<name>/messages", dest)
	}
	if m[1] != str(props["region"]) || m[2] != plausibleConfig["AccountID"] {
		t.Errorf("on-failure destination %s: want the function's region %v and the access's account", dest, props["region"])
	}
	return props, m[3]
}

// Timer invocations are asynchronous: a failed sweep is retried at most
// once and then recorded in its own MNS queue, not dropped.
func TestSYamlFailedTimerSweepGoesToTheSweepDeadLetterQueue(t *testing.T) {
	props, queue := sweepDestination(t)
	aic, _ := props["asyncInvokeConfig"].(map[string]any)
	if n, ok := aic["maxAsyncRetryAttempts"].(int); !ok || n < 0 || n > 1 {
		t.Errorf("asyncInvokeConfig.maxAsyncRetryAttempts = %v, want 0 or 1", aic["maxAsyncRetryAttempts"])
	}
	if n, ok := aic["maxAsyncEventAgeInSeconds"].(int); !ok || n < 600 {
		t.Errorf("asyncInvokeConfig.maxAsyncEventAgeInSeconds = %v, want at least 600: a throttled sweep must outlive the queue batches ahead of it", aic["maxAsyncEventAgeInSeconds"])
	}
	if lookup(aic, "destinationConfig", "onSuccess") != nil {
		t.Error("asyncInvokeConfig has an onSuccess destination: every sweep would fill a queue nobody reads")
	}
	eb := triggers(props, "eventbridge")
	if len(eb) != 1 {
		t.Fatalf("want 1 eventbridge trigger, have %d", len(eb))
	}
	tc := eb[0]["triggerConfig"]
	requestDLQ := mnsQueueARN.FindStringSubmatch(str(lookup(tc, "runOptions", "deadLetterQueue", "Arn")))
	source := str(lookup(tc, "eventSourceConfig", "eventSourceParameters", "sourceMNSParameters", "QueueName"))
	if queue == source || requestDLQ != nil && queue == requestDLQ[3] {
		t.Errorf("the sweep dead-letter queue %s is also the request queue or its dead-letter queue: keep failed sweeps apart", queue)
	}
}

// The RAM policies of deploy/aliyun, one per identity that signs
// Resource Manager calls.
const (
	// ramPolicyUser is the RAM user whose AccessKey the AWS function reads
	// from Secrets Manager.
	ramPolicyUser = "deploy/aliyun/ram-policy-user.json"
	// ramPolicyFCRole is the Function Compute function's role.
	ramPolicyFCRole = "deploy/aliyun/ram-policy-fc-role.json"
)

// resourceManagerGrants returns what pkg/resourcemanager calls in
// production (resourcemanager.Actions), each with the narrowest resource
// the API's RAM authorization table allows.
func resourceManagerGrants(t *testing.T) map[string]*regexp.Regexp {
	t.Helper()
	// The resource types of the RAM authorization tables of the Resource
	// Management API reference: CancelHandshake is scoped to handshakes;
	// ListHandshakesForResourceDirectory has no resource type (All
	// Resources). An action the code starts calling must be looked up and
	// added here.
	documented := map[string]*regexp.Regexp{
		"CancelHandshake":                    regexp.MustCompile(`^acs:resourcemanager:\*:(\*|\d+):handshake/\*$`),
		"ListHandshakesForResourceDirectory": regexp.MustCompile(`^\*$`),
	}
	calls := resourcemanager.Actions()
	if len(calls) == 0 {
		t.Fatal("resourcemanager.Actions() is empty")
	}
	want := map[string]*regexp.Regexp{}
	for _, a := range calls {
		scope, ok := documented[a]
		if !ok {
			t.Errorf("pkg/resourcemanager calls %s, whose resource type this test does not know: look it up in the API's RAM authorization table", a)
			continue
		}
		want["resourcemanager:"+a] = scope
	}
	return want
}

// checkRAMPolicy checks that the policy document at name grants exactly
// the actions of want, both ways, each only on resources its pattern
// matches.
func checkRAMPolicy(t *testing.T, name string, want map[string]*regexp.Regexp) {
	t.Helper()
	var doc struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource []string
		}
	}
	dec := json.NewDecoder(bytes.NewReader(readRoot(t, name)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v (want Version, and Statement entries of Effect, Action list, Resource list)", name, err)
	}
	if doc.Version != "1" {
		t.Errorf("%s Version = %q, want \"1\"", name, doc.Version)
	}
	granted := map[string][]string{} // action -> resources
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			t.Errorf("%s: statement effect %q: the document grants, it does not deny", name, s.Effect)
		}
		if len(s.Resource) == 0 {
			t.Errorf("%s: statement %v has no Resource", name, s.Action)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: action %q: name each action", name, a)
			}
			granted[a] = append(granted[a], s.Resource...)
		}
	}
	if missing := setDiff(keys(want), keys(granted)); len(missing) > 0 {
		t.Errorf("%s does not grant %v, which production needs", name, missing)
	}
	if extra := setDiff(keys(granted), keys(want)); len(extra) > 0 {
		t.Errorf("%s grants %v, which production never uses", name, extra)
	}
	for action, resources := range granted {
		scope, ok := want[action]
		if !ok {
			continue
		}
		for _, r := range resources {
			if !scope.MatchString(r) {
				t.Errorf("%s grants %s on %q, want only %s", name, action, r, scope)
			}
		}
	}
}

// The RAM user whose AccessKey the AWS function uses may do what
// pkg/resourcemanager calls in production, both ways, each on the
// narrowest resource; nothing else (no MNS: on AWS nothing writes to MNS).
func TestRAMUserPolicyGrantsExactlyTheResourceManagerActionsTheCodeCallsScoped(t *testing.T) {
	checkRAMPolicy(t, ramPolicyUser, resourceManagerGrants(t))
}

// The function's role may do what pkg/resourcemanager calls in production,
// both ways, and send to the sweep dead-letter queue s.yaml names, which
// FC does with the function's role. Not to the request dead-letter queue:
// the EventBridge event stream writes that one with its own service-linked
// role. Nothing else.
func TestRAMFCRolePolicyGrantsExactlyWhatTheCodeAndTheSweepDestinationUseScoped(t *testing.T) {
	want := resourceManagerGrants(t)
	_, queue := sweepDestination(t)
	want["mns:SendMessage"] = regexp.MustCompile(`^acs:mns:(\*|[a-z0-9-]+):(\*|\d+):/queues/` + regexp.QuoteMeta(queue) + `/messages$`)
	checkRAMPolicy(t, ramPolicyFCRole, want)
}
