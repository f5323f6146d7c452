package deploytest

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

// The logical IDs the checks rely on. functionID is also the Makefile's
// SAM build target, build-HandshakeJanitorFunction.
const (
	functionID      = "HandshakeJanitorFunction"
	roleID          = "HandshakeJanitorRole"
	queueID         = "CancellationQueue"
	queueDLQID      = "CancellationDeadLetterQueue"
	sweepDLQID      = "SweepDeadLetterQueue"
	logGroupID      = "FunctionLogGroup"
	ruleID          = "SweepRule"
	secretParameter = "CredentialsSecretName"

	scheduleParameter = "SweepSchedule"
	// tagKey and tagValue mark everything the stack creates.
	tagKey, tagValue = "application", "handshake-janitor"
)

// samTemplate is template.yaml parsed twice:
//
//   - typed: goformation's model of every resource the stack creates with
//     the given parameter values (parseTemplateWith; parseTemplate: every
//     parameter at its Default), as deployedJSON resolves the template: a
//     Ref to a parameter is its value (so typed fields keep their types and
//     environment values read as what that deploy gets); a Ref to anything
//     else becomes "ref:Name", Fn::GetAtt "getatt:Name.Attr", and Fn::Sub
//     "sub:" and its unexpanded template, so references stay checkable;
//     Fn::If takes the branch its condition picks, AWS::NoValue removes
//     what holds it, and a resource whose Condition is false is not there.
//   - symbolic: the same template as plain JSON with every Ref kept as
//     "ref:Name", to check which parameter feeds which setting, and to read
//     the SAM event properties goformation's model does not cover (its
//     SQSEvent has no FunctionResponseTypes).
//     Fn::If becomes {"if": [condition, then, else]}, so that what an
//     alarm notifies stays checkable whatever the parameters say. Every
//     resource is there, whatever its Condition, which it keeps.
type samTemplate struct {
	*cloudformation.Template
	symbolic struct {
		Resources map[string]struct {
			Type       string
			Condition  string
			Properties map[string]any
		}
	}
}

func parseTemplate(t *testing.T) samTemplate {
	t.Helper()
	return parseTemplateWith(t, nil)
}

// parseTemplateWith parses template.yaml as deployed with the given
// parameter values, the others at their Default.
func parseTemplateWith(t *testing.T, parameters map[string]string) samTemplate {
	t.Helper()
	data := readRoot(t, "template.yaml")
	var st samTemplate
	// goformation's model of AWS::Serverless::Function has no PropagateTags
	// and refuses unknown fields: the typed parse reads the template without
	// it; the symbolic one keeps it (TestTemplatePropagatesTheFunctionsTags).
	typed := propagateTagsLine.ReplaceAll(data, nil)
	deployed, err := deployedJSON(typed, parameters)
	if err != nil {
		t.Fatalf("template.yaml with %v: %v", parameters, err)
	}
	st.Template, err = goformation.ParseJSONWithOptions(deployed, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("goformation cannot parse template.yaml: %v", err)
	}
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        refHandler,
			"Fn::GetAtt": getAttHandler,
			"Fn::Sub":    subHandler,
			"Fn::If":     func(_ string, input, _ any) any { return map[string]any{"if": input} },
		},
	})
	if err != nil {
		t.Fatalf("goformation cannot process template.yaml: %v", err)
	}
	if err := json.Unmarshal(js, &st.symbolic); err != nil {
		t.Fatalf("processed template.yaml: %v", err)
	}
	return st
}

// propagateTagsLine is the function's PropagateTags property, which
// goformation does not know.
var propagateTagsLine = regexp.MustCompile(`(?m)^[ \t]+PropagateTags:.*\n`)

// refHandler resolves Ref for the symbolic view: "ref:Name", for
// parameters, resources and pseudo parameters alike. AWS::NoValue removes
// the property, as in CloudFormation.
func refHandler(_ string, input, _ any) any {
	name, ok := input.(string)
	if !ok || name == "AWS::NoValue" {
		return nil
	}
	return "ref:" + name
}

func getAttHandler(_ string, input, _ any) any {
	switch v := input.(type) {
	case string:
		return "getatt:" + v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return "getatt:" + strings.Join(parts, ".")
	}
	return nil
}

func subHandler(_ string, input, _ any) any {
	switch v := input.(type) {
	case string:
		return "sub:" + v
	case []any:
		if len(v) > 0 {
			return fmt.Sprintf("sub:%v", v[0])
		}
	}
	return nil
}

// lookup walks nested maps by keys.
func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// parameterDefault returns the Default of a template parameter as a string.
func (st samTemplate) parameterDefault(t *testing.T, name string) string {
	t.Helper()
	p, ok := st.Parameters[name]
	if !ok {
		t.Fatalf("template.yaml has no parameter %s", name)
	}
	if p.Default == nil {
		t.Fatalf("parameter %s has no Default: `sam deploy` would require it", name)
	}
	return fmt.Sprint(p.Default)
}

// function returns the one function, whose logical ID the Makefile's SAM
// build target names.
func (st samTemplate) function(t *testing.T) *serverless.Function {
	t.Helper()
	fn, err := st.GetServerlessFunctionWithName(functionID)
	if err != nil {
		t.Fatalf("template.yaml: %v (the Makefile's SAM build target is build-%s)", err, functionID)
	}
	return fn
}

// events returns the function's events of the given SAM type, by name.
func (st samTemplate) events(t *testing.T, typ string) map[string]map[string]any {
	t.Helper()
	fn, ok := st.symbolic.Resources[functionID]
	if !ok {
		t.Fatalf("template.yaml has no resource %s", functionID)
	}
	out := map[string]map[string]any{}
	events, _ := fn.Properties["Events"].(map[string]any)
	for name, e := range events {
		if lookup(e, "Type") == typ {
			props, _ := lookup(e, "Properties").(map[string]any)
			out[name] = props
		}
	}
	return out
}

func number(t *testing.T, what string, v any) float64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%s = %v (%T), want a number", what, v, v)
	}
	return f
}

func TestTemplateFunctionIsTheAL2023Arm64BootstrapBuiltByTheMakefile(t *testing.T) {
	st := parseTemplate(t)
	fn := st.function(t)
	if got := deref(fn.Runtime); got != "provided.al2023" {
		t.Errorf("Runtime = %q, want provided.al2023", got)
	}
	if !slices.Equal(fn.Architectures, []string{"arm64"}) {
		t.Errorf("Architectures = %v, want [arm64]", fn.Architectures)
	}
	if got := deref(fn.Handler); got != "bootstrap" {
		t.Errorf("Handler = %q, want bootstrap", got)
	}
	if fn.MemorySize == nil || *fn.MemorySize != 128 {
		t.Errorf("MemorySize = %v, want 128", derefInt(fn.MemorySize))
	}
	if got := fn.AWSCloudFormationMetadata["BuildMethod"]; got != "makefile" {
		t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
	}

	// `sam build` runs `make build-<LogicalId>` with ARTIFACTS_DIR set; the
	// binary it writes must be the Handler, built as the issue says.
	// AWS_ARCH=amd64 (for `make package`) must not reach the SAM build:
	// the template declares arm64, and an amd64 bootstrap would not start.
	cmd := makeDryRun(t, "build-"+functionID, "ARTIFACTS_DIR=/sam/artifacts", "AWS_ARCH=amd64")
	if strings.Contains(cmd, "amd64") {
		t.Errorf("make build-%s AWS_ARCH=amd64 runs %q: the SAM build must be arm64 whatever AWS_ARCH says", functionID, cmd)
	}
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-trimpath", "-s -w", "-tags lambda.norpc", "-o /sam/artifacts/" + deref(fn.Handler), "./functions/aws"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("make build-%s runs %q, which lacks %q", functionID, cmd, want)
		}
	}

	// The engine stops starting attempts a few API timeouts before the
	// deadline; the function's timeout must leave room for real work.
	apiTimeout, err := time.ParseDuration(st.parameterDefault(t, "ApiTimeout"))
	if err != nil {
		t.Fatalf("ApiTimeout default: %v", err)
	}
	timeout := time.Duration(derefInt(fn.Timeout)) * time.Second
	if timeout < 6*apiTimeout || timeout > 15*time.Minute {
		t.Errorf("Timeout = %v, want between 6 x API_TIMEOUT (%v) and 15m", timeout, 6*apiTimeout)
	}
}

func TestTemplateQueueRedeliversFailedRecordsAndDeadLettersThem(t *testing.T) {
	st := parseTemplate(t)
	fn := st.function(t)
	sqsEvents := st.events(t, "SQS")
	if len(sqsEvents) != 1 {
		t.Fatalf("function has %d SQS events, want 1", len(sqsEvents))
	}
	for name, ev := range sqsEvents {
		if got := ev["Queue"]; got != "getatt:"+queueID+".Arn" {
			t.Errorf("SQS event %s reads %v, want the queue %s", name, got, queueID)
		}
		if got, _ := json.Marshal(ev["FunctionResponseTypes"]); string(got) != `["ReportBatchItemFailures"]` {
			t.Errorf("SQS event %s FunctionResponseTypes = %s, want [ReportBatchItemFailures]: without it a partial failure redelivers the whole batch", name, got)
		}
		if n := number(t, name+".BatchSize", ev["BatchSize"]); n < 1 || n > 10000 {
			t.Errorf("SQS event %s BatchSize = %v, want 1..10000", name, n)
		}
		window := number(t, name+".MaximumBatchingWindowInSeconds", ev["MaximumBatchingWindowInSeconds"])
		if window < 0 || window > 300 {
			t.Errorf("SQS event %s MaximumBatchingWindowInSeconds = %v, want 0..300", name, window)
		}

		q, err := st.GetSQSQueueWithName(queueID)
		if err != nil {
			t.Fatal(err)
		}
		// Lambda's advice: visibility at least six times the function
		// timeout plus the batching window, so a batch still in flight is
		// not handed to a second invocation.
		if min := 6*derefInt(fn.Timeout) + int(window); derefInt(q.VisibilityTimeout) < min {
			t.Errorf("%s VisibilityTimeout = %d, want >= 6 x Timeout (%d) + batching window (%v) = %d",
				queueID, derefInt(q.VisibilityTimeout), derefInt(fn.Timeout), window, min)
		}
		if got := lookup(q.RedrivePolicy, "deadLetterTargetArn"); got != "getatt:"+queueDLQID+".Arn" {
			t.Errorf("%s RedrivePolicy.deadLetterTargetArn = %v, want %s", queueID, got, queueDLQID)
		}
		if n := number(t, "maxReceiveCount", lookup(q.RedrivePolicy, "maxReceiveCount")); n < 1 {
			t.Errorf("%s maxReceiveCount = %v, want >= 1", queueID, n)
		}
		// maxReceiveCount is the operator's to choose.
		if got := lookup(st.symbolic.Resources[queueID].Properties, "RedrivePolicy", "maxReceiveCount"); got != "ref:MaxReceiveCount" {
			t.Errorf("%s maxReceiveCount = %v, want the MaxReceiveCount parameter", queueID, got)
		}
		dlq, err := st.GetSQSQueueWithName(queueDLQID)
		if err != nil {
			t.Fatal(err)
		}
		// A standard queue keeps a message's first enqueue time when it
		// moves it to the DLQ, so the DLQ must keep messages longer.
		if derefInt(dlq.MessageRetentionPeriod) <= derefInt(q.MessageRetentionPeriod) {
			t.Errorf("%s retention %ds is not longer than %s's %ds: dead letters would expire early",
				queueDLQID, derefInt(dlq.MessageRetentionPeriod), queueID, derefInt(q.MessageRetentionPeriod))
		}
	}
}

// resourcesOfType returns the symbolic resources of one type that every
// stack has (no Condition), by logical ID. Those of one directory only are
// checked in directory_test.go.
func (st samTemplate) resourcesOfType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range st.symbolic.Resources {
		if r.Type == typ && r.Condition == "" {
			out[name] = r.Properties
		}
	}
	return out
}

// The sweep is an EventBridge rule (not a SAM ScheduleV2 event: SAR does
// not support AWS::Scheduler::Schedule), whose target is the function,
// with retries, its own dead-letter queue, and the two resource policies
// that let EventBridge invoke the function and write that queue, for this
// rule only.
func TestTemplateScheduleSweepsWithRetriesAndItsOwnDeadLetterQueue(t *testing.T) {
	st := parseTemplate(t)
	if evs := st.events(t, "ScheduleV2"); len(evs) != 0 {
		t.Errorf("function has ScheduleV2 events %v: AWS::Scheduler::Schedule is not on SAR's supported list; the sweep is %s", keys(evs), ruleID)
	}
	rules := st.resourcesOfType("AWS::Events::Rule")
	if len(rules) != 1 || rules[ruleID] == nil {
		t.Fatalf("AWS::Events::Rule resources %v, want one, %s", keys(rules), ruleID)
	}
	rule := rules[ruleID]
	if got := rule["ScheduleExpression"]; got != "ref:"+scheduleParameter {
		t.Errorf("%s ScheduleExpression = %v, want the %s parameter", ruleID, got, scheduleParameter)
	}
	if d := st.parameterDefault(t, scheduleParameter); !strings.HasPrefix(d, "rate(") && !strings.HasPrefix(d, "cron(") {
		t.Errorf("%s default %q is neither rate(...) nor cron(...)", scheduleParameter, d)
	}
	if got := rule["State"]; got != "ref:ScheduleState" {
		t.Errorf("%s State = %v, want the ScheduleState parameter", ruleID, got)
	}
	targets, _ := rule["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("%s has %d targets, want 1 (the function)", ruleID, len(targets))
	}
	target := targets[0]
	if got := lookup(target, "Arn"); got != "getatt:"+functionID+".Arn" {
		t.Errorf("%s target Arn = %v, want %s's", ruleID, got, functionID)
	}
	if n := number(t, "RetryPolicy.MaximumRetryAttempts", lookup(target, "RetryPolicy", "MaximumRetryAttempts")); n < 1 || n > 185 {
		t.Errorf("%s RetryPolicy.MaximumRetryAttempts = %v, want 1..185", ruleID, n)
	}
	if n := number(t, "RetryPolicy.MaximumEventAgeInSeconds", lookup(target, "RetryPolicy", "MaximumEventAgeInSeconds")); n < 60 || n > 86400 {
		t.Errorf("%s RetryPolicy.MaximumEventAgeInSeconds = %v, want 60..86400", ruleID, n)
	}
	if got := lookup(target, "DeadLetterConfig", "Arn"); got != "getatt:"+sweepDLQID+".Arn" {
		t.Errorf("%s DeadLetterConfig.Arn = %v, want its own queue %s", ruleID, got, sweepDLQID)
	}
	// No Input: the function gets the Scheduled Event envelope, whose
	// empty detail asks for a sweep with the configured policy.
	for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
		if v := lookup(target, k); v != nil {
			t.Errorf("%s target has %s %v: the function must receive the Scheduled Event as it is", ruleID, k, v)
		}
	}
	d, err := trigger.AWS(readRoot(t, filepath.Join("events", "aws-scheduled-event.json")))
	if err != nil || d.Job.Sweep == nil || !reflect.DeepEqual(*d.Job.Sweep, janitor.Sweep{}) {
		t.Errorf("events/aws-scheduled-event.json: trigger.AWS = %+v, %v; want a sweep with the configured policy", d, err)
	}

	// EventBridge may invoke the function, for this rule only.
	var invokes int
	for name, p := range st.resourcesOfType("AWS::Lambda::Permission") {
		if p["Principal"] != "events.amazonaws.com" {
			t.Errorf("permission %s lets %v invoke the function: only EventBridge needs to", name, p["Principal"])
			continue
		}
		invokes++
		if p["Action"] != "lambda:InvokeFunction" || p["FunctionName"] != "getatt:"+functionID+".Arn" || p["SourceArn"] != "getatt:"+ruleID+".Arn" {
			t.Errorf("permission %s = %v, want lambda:InvokeFunction on %s for SourceArn %s only", name, p, functionID, ruleID)
		}
	}
	if invokes != 1 {
		t.Errorf("%d permissions let EventBridge invoke the function, want 1", invokes)
	}

	// EventBridge may write the sweep dead-letter queue, for this rule only.
	var writes int
	for name, p := range st.resourcesOfType("AWS::SQS::QueuePolicy") {
		queues, _ := p["Queues"].([]any)
		if len(queues) != 1 || queues[0] != "ref:"+sweepDLQID {
			t.Errorf("queue policy %s is on %v, want %s only", name, queues, sweepDLQID)
			continue
		}
		stmts, _ := lookup(p, "PolicyDocument", "Statement").([]any)
		for _, s := range stmts {
			if lookup(s, "if") != nil {
				continue // one directory's statement (directory_test.go)
			}
			writes++
			ok := lookup(s, "Effect") == "Allow" &&
				lookup(s, "Principal", "Service") == "events.amazonaws.com" &&
				lookup(s, "Action") == "sqs:SendMessage" &&
				lookup(s, "Resource") == "getatt:"+sweepDLQID+".Arn" &&
				lookup(s, "Condition", "ArnEquals", "aws:SourceArn") == "getatt:"+ruleID+".Arn"
			if !ok {
				t.Errorf("queue policy %s statement %v: want EventBridge's sqs:SendMessage on %s for aws:SourceArn %s only", name, s, sweepDLQID, ruleID)
			}
		}
	}
	if writes != 1 {
		t.Errorf("%d queue policy statements on %s, want 1 (EventBridge's, for %s)", writes, sweepDLQID, ruleID)
	}
}

func TestTemplateAlarmsOnEveryDeadLetterQueue(t *testing.T) {
	st := parseTemplate(t)
	alarmed := map[string]bool{}
	for name, a := range st.GetAllCloudWatchAlarmResources() {
		if deref(a.Namespace) != "AWS/SQS" || deref(a.MetricName) != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		// Fire on the first dead letter.
		fires := a.Threshold != nil && (a.ComparisonOperator == "GreaterThanThreshold" && *a.Threshold == 0 ||
			a.ComparisonOperator == "GreaterThanOrEqualToThreshold" && *a.Threshold == 1)
		if !fires {
			t.Errorf("alarm %s: %s %v does not fire on the first message", name, a.ComparisonOperator, a.Threshold)
		}
		for _, d := range a.Dimensions {
			if d.Name == "QueueName" {
				alarmed[strings.TrimSuffix(strings.TrimPrefix(d.Value, "getatt:"), ".QueueName")] = true
			}
		}
	}
	for _, q := range []string{queueDLQID, sweepDLQID} {
		if !alarmed[q] {
			t.Errorf("no alarm on %s's ApproximateNumberOfMessagesVisible", q)
		}
	}
}

// The AWS walkthrough's redrive command (aws sqs start-message-move-task) takes a
// queue's ARN, not its URL: both dead-letter queues' ARNs are outputs.
func TestTemplateOutputsQueueFunctionAndBothDeadLetterQueuesURLAndARN(t *testing.T) {
	st := parseTemplate(t)
	want := map[string]string{
		"QueueUrl":                "ref:" + queueID, // Ref of a queue is its URL
		"FunctionName":            "ref:" + functionID,
		"DeadLetterQueueUrl":      "ref:" + queueDLQID,
		"DeadLetterQueueArn":      "getatt:" + queueDLQID + ".Arn",
		"SweepDeadLetterQueueUrl": "ref:" + sweepDLQID,
		"SweepDeadLetterQueueArn": "getatt:" + sweepDLQID + ".Arn",
	}
	for name, v := range want {
		o, ok := st.Outputs[name]
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		if o.Value != v {
			t.Errorf("output %s = %v, want %s", name, o.Value, v)
		}
	}
}

// statement is one IAM statement, normalised for comparison.
type statement struct {
	Effect    string
	Actions   string // sorted, comma-separated
	Resources string // sorted, comma-separated
}

func statements(t *testing.T, doc any) []statement {
	t.Helper()
	list := func(v any) string {
		var out []string
		switch v := v.(type) {
		case string:
			out = []string{v}
		case []any:
			for _, s := range v {
				out = append(out, fmt.Sprint(s))
			}
		default:
			t.Fatalf("policy element %v (%T): want a string or a list", v, v)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	var out []statement
	raw, _ := lookup(doc, "Statement").([]any)
	if len(raw) == 0 {
		t.Fatalf("policy document %v has no Statement list", doc)
	}
	for _, s := range raw {
		m, _ := s.(map[string]any)
		for _, k := range []string{"NotAction", "NotResource", "Condition", "Principal"} {
			if _, ok := m[k]; ok {
				t.Errorf("statement %v uses %s: keep the role's statements plain Allow/Action/Resource", m, k)
			}
		}
		out = append(out, statement{fmt.Sprint(m["Effect"]), list(m["Action"]), list(m["Resource"])})
	}
	return out
}

func TestTemplateGrantsExactlyWhatTheCodeAndTheQueueUse(t *testing.T) {
	st := parseTemplate(t)
	fn := st.function(t)
	// One role, ours: no SAM policy templates or managed policies, which
	// would add their own (wider) grants.
	if got := deref(fn.Role); got != "getatt:"+roleID+".Arn" {
		t.Fatalf("function Role = %q, want the template's own %s", got, roleID)
	}
	if fn.Policies != nil {
		t.Errorf("function has Policies: SAM ignores them with an explicit Role; grant in %s", roleID)
	}
	for name, r := range st.Resources {
		if typ := r.AWSCloudFormationType(); strings.HasPrefix(typ, "AWS::IAM::") && name != roleID {
			t.Errorf("resource %s (%s): the function's only IAM resource is %s", name, typ, roleID)
		}
	}
	role, err := st.GetIAMRoleWithName(roleID)
	if err != nil {
		t.Fatal(err)
	}
	if len(role.ManagedPolicyArns) != 0 {
		t.Errorf("%s ManagedPolicyArns = %v, want none", roleID, role.ManagedPolicyArns)
	}
	if got := lookup(role.AssumeRolePolicyDocument, "Statement"); fmt.Sprint(got) != "[map[Action:sts:AssumeRole Effect:Allow Principal:map[Service:lambda.amazonaws.com]]]" {
		t.Errorf("%s trusts %v, want lambda.amazonaws.com only", roleID, got)
	}

	var got []statement
	for _, p := range role.Policies {
		got = append(got, statements(t, p.PolicyDocument)...)
	}

	// The secret the function reads is the one the policy names.
	env := map[string]string{}
	if fn.Environment != nil {
		env = fn.Environment.Variables
	}
	secretName := env["ALIBABA_CLOUD_CREDENTIALS_SECRET_ID"]
	if secretName == "" || secretName != st.parameterDefault(t, secretParameter) {
		t.Errorf("ALIBABA_CLOUD_CREDENTIALS_SECRET_ID = %q, want the %s parameter", secretName, secretParameter)
	}
	var secretActions []string
	for _, a := range secretsManagerCalls(t) {
		secretActions = append(secretActions, "secretsmanager:"+a)
	}
	if len(secretActions) == 0 {
		t.Fatal("functions/aws calls no Secrets Manager API; the role should then grant none")
	}
	want := []statement{
		// Writing its own log lines.
		{"Allow", "logs:CreateLogStream,logs:PutLogEvents", "getatt:" + logGroupID + ".Arn"},
		// The SQS event source mapping, polling as the function's role.
		{"Allow", "sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:ReceiveMessage", "getatt:" + queueID + ".Arn"},
		// Lambda recording a failed asynchronous sweep (the event invoke
		// config's on-failure destination), on that queue only.
		{"Allow", "sqs:SendMessage", "getatt:" + sweepDLQID + ".Arn"},
		// What functions/aws calls, on the secret it names only (its ARN
		// ends in "-" and six random characters).
		{"Allow", strings.Join(secretActions, ","), "sub:arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${" + secretParameter + "}-??????"},
	}
	slices.SortFunc(got, compareStatements)
	slices.SortFunc(want, compareStatements)
	if !slices.Equal(got, want) {
		t.Errorf("%s grants:\n%s\nwant exactly:\n%s", roleID, formatStatements(got), formatStatements(want))
	}

	lg, err := st.GetLogsLogGroupWithName(logGroupID)
	if err != nil {
		t.Fatal(err)
	}
	if got := deref(lg.LogGroupName); got != "sub:/aws/lambda/${FunctionName}" {
		t.Errorf("%s LogGroupName = %q, want Lambda's own /aws/lambda/${FunctionName}, where the function writes", logGroupID, got)
	}
	if got := lookup(st.symbolic.Resources[functionID].Properties, "FunctionName"); got != "ref:FunctionName" {
		t.Errorf("function FunctionName = %v, want the FunctionName parameter its log group is named after", got)
	}
}

func compareStatements(a, b statement) int {
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func formatStatements(s []statement) string {
	var b strings.Builder
	for _, x := range s {
		fmt.Fprintf(&b, "  %s %s on %s\n", x.Effect, x.Actions, x.Resources)
	}
	return b.String()
}

// secretsManagerCalls returns the Secrets Manager operations that the
// Lambda function's code calls: the methods of *secretsmanager.Client taking
// (context.Context, *XInput, ...) that appear as calls in a non-test Go file
// under functions/aws or the packages its cold start is built from
// (internal/startup, internal/alisecret).
func secretsManagerCalls(t *testing.T) []string {
	t.Helper()
	ops := map[string]bool{}
	ct := reflect.TypeFor[*secretsmanager.Client]()
	ctxType := reflect.TypeFor[context.Context]()
	for i := range ct.NumMethod() {
		m := ct.Method(i)
		// m.Type's first input is the receiver.
		if m.Type.NumIn() >= 3 && m.Type.In(1) == ctxType && strings.HasSuffix(m.Type.In(2).String(), "Input") {
			ops[m.Name] = true
		}
	}
	if !ops["GetSecretValue"] {
		t.Fatal("found no API methods on *secretsmanager.Client; the reflection above is wrong")
	}
	called := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range []string{"functions/aws", "internal/startup", "internal/alisecret"} {
		scanCalls(t, fset, filepath.Join(moduleRoot(t), filepath.FromSlash(dir)), ops, called)
	}
	return keys(called)
}

// scanCalls adds to called every name of ops that a non-test Go file under
// root calls as a method.
func scanCalls(t *testing.T, fset *token.FileSet, root string, ops, called map[string]bool) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && ops[sel.Sel.Name] {
					called[sel.Sel.Name] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("scan %s: %v", root, err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}

// A scheduled sweep is an asynchronous invocation: Lambda retries it and
// then discards it unless an on-failure destination keeps it. The role's
// grant for that destination is checked by
// TestTemplateGrantsExactlyWhatTheCodeAndTheQueueUse.
func TestTemplateFailedAsynchronousSweepGoesToTheSweepDeadLetterQueue(t *testing.T) {
	st := parseTemplate(t)
	eic, ok := st.symbolic.Resources[functionID].Properties["EventInvokeConfig"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no EventInvokeConfig: a failed sweep is retried twice and dropped", functionID)
	}
	if n := number(t, "MaximumRetryAttempts", eic["MaximumRetryAttempts"]); n != 0 && n != 1 {
		t.Errorf("EventInvokeConfig.MaximumRetryAttempts = %v, want 0 or 1 (a sweep failing for a lasting reason should reach the dead-letter queue soon)", n)
	}
	if n := number(t, "MaximumEventAgeInSeconds", eic["MaximumEventAgeInSeconds"]); n < 60 || n > 21600 {
		t.Errorf("EventInvokeConfig.MaximumEventAgeInSeconds = %v, want 60..21600", n)
	}
	onFailure := lookup(eic, "DestinationConfig", "OnFailure")
	if lookup(onFailure, "Type") != "SQS" || lookup(onFailure, "Destination") != "getatt:"+sweepDLQID+".Arn" {
		t.Errorf("EventInvokeConfig on failure = %v, want Type SQS to %s's ARN", onFailure, sweepDLQID)
	}
	if lookup(eic, "DestinationConfig", "OnSuccess") != nil {
		t.Error("EventInvokeConfig has an OnSuccess destination: every daily sweep would fill a queue nobody reads")
	}
}

// alarmsOn returns the template's alarms on the given metric, by name.
func (st samTemplate) alarmsOn(namespace, metric string) map[string]*cloudwatch.Alarm {
	out := map[string]*cloudwatch.Alarm{}
	for name, a := range st.GetAllCloudWatchAlarmResources() {
		if deref(a.Namespace) == namespace && deref(a.MetricName) == metric {
			out[name] = a
		}
	}
	return out
}

func TestTemplateAlarmsWhenRequestsWaitTooLong(t *testing.T) {
	st := parseTemplate(t)
	fn := st.function(t)
	q, err := st.GetSQSQueueWithName(queueID)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for name, a := range st.alarmsOn("AWS/SQS", "ApproximateAgeOfOldestMessage") {
		if len(a.Dimensions) != 1 || a.Dimensions[0].Name != "QueueName" || a.Dimensions[0].Value != "getatt:"+queueID+".QueueName" {
			continue
		}
		found = true
		if a.ComparisonOperator != "GreaterThanThreshold" || a.Threshold == nil {
			t.Fatalf("alarm %s: %s %v, want GreaterThanThreshold a number of seconds", name, a.ComparisonOperator, a.Threshold)
		}
		// Above how long a failing request lives before it is dead-lettered
		// with the defaults (else a single bad request would look like a
		// stuck queue), and well below the retention (else the requests
		// expire before anyone looks).
		maxReceive, _ := strconv.Atoi(st.parameterDefault(t, "MaxReceiveCount"))
		lifetime := float64(maxReceive * derefInt(q.VisibilityTimeout))
		retention := float64(derefInt(q.MessageRetentionPeriod))
		if th := *a.Threshold; th < lifetime || th > retention/4 {
			t.Errorf("alarm %s threshold %vs, want between MaxReceiveCount x VisibilityTimeout (%vs) and a quarter of the retention (%vs)", name, th, lifetime, retention/4)
		}
		if p := derefInt(a.Period); p < derefInt(fn.Timeout) || p > 3600 {
			t.Errorf("alarm %s period %ds, want a few minutes", name, p)
		}
	}
	if !found {
		t.Errorf("no alarm on %s's ApproximateAgeOfOldestMessage: requests stuck in the queue go unnoticed", queueID)
	}
}

func TestTemplateTagsEverythingItCreates(t *testing.T) {
	st := parseTemplate(t)
	// Types with no Tags property in CloudFormation, and the rule, whose
	// Tags goformation's model (which parses this template) does not know.
	untaggable := map[string]bool{
		"AWS::CloudWatch::Dashboard": true,
		"AWS::Lambda::Permission":    true,
		"AWS::SQS::QueuePolicy":      true,
		"AWS::Events::Rule":          true,
	}
	for name, r := range st.symbolic.Resources {
		if untaggable[r.Type] {
			continue
		}
		var got any
		switch tags := r.Properties["Tags"].(type) {
		case map[string]any: // SAM's form
			got = tags[tagKey]
		case []any: // CloudFormation's
			for _, tag := range tags {
				if lookup(tag, "Key") == tagKey {
					got = lookup(tag, "Value")
				}
			}
		}
		if got != tagValue {
			t.Errorf("%s (%s) is not tagged %s=%s (Tags: %v)", name, r.Type, tagKey, tagValue, r.Properties["Tags"])
		}
	}
}
