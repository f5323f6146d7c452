package deploytest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

// The directory parameter, and what exists for one directory only.
const (
	directoryParameter = "Directory"

	inviteRuleID       = "InviteEventRule"
	invitePermissionID = "InviteEventPermission"
	// dlqPolicyID is the sweep dead-letter queue's one policy, which lets
	// EventBridge write there for the sweep rule and the invite rule.
	dlqPolicyID       = "SweepDeadLetterQueuePolicy"
	inviteEventSample = "events/aws-organizations-invite-event.json"
	// handshakeARN is the resource of the Organizations grants scoped to
	// handshakes: the invitations of this account's organization.
	handshakeARN = "sub:arn:${AWS::Partition}:organizations::${AWS::AccountId}:handshake/o-*/invite/h-*"
)

// directories returns the Directory parameter's allowed values, checking
// that they are the directories pkg/directory knows and that the default is
// its default, Resource Directory (a redeploy of an older stack keeps its
// directory).
func directories(t *testing.T) []string {
	t.Helper()
	st := parseTemplate(t)
	p, ok := st.Parameters[directoryParameter]
	if !ok {
		t.Fatalf("template.yaml has no %s parameter", directoryParameter)
	}
	var allowed []string
	for _, v := range p.AllowedValues {
		allowed = append(allowed, fmt.Sprint(v))
	}
	slices.Sort(allowed)
	var want []string
	for _, k := range directory.Kinds() {
		want = append(want, k.Name)
	}
	slices.Sort(want)
	if !slices.Equal(allowed, want) {
		t.Errorf("%s AllowedValues = %v, want pkg/directory's %v", directoryParameter, allowed, want)
	}
	if d, def := st.parameterDefault(t, directoryParameter), directory.Default().Name; d != def || def != directory.ResourceDirectory.Name {
		t.Errorf("%s Default = %q (pkg/directory's default %q), want %s: a stack deployed before the parameter existed must stay on Resource Directory", directoryParameter, d, def, directory.ResourceDirectory.Name)
	}
	env := lookup(st.symbolic.Resources[functionID].Properties, "Environment", "Variables")
	if got := lookup(env, "DIRECTORY"); got != "ref:"+directoryParameter {
		t.Errorf("DIRECTORY = %v, want the %s parameter", got, directoryParameter)
	}
	return allowed
}

// environment returns the function's environment in st.
func environment(t *testing.T, st samTemplate) map[string]string {
	t.Helper()
	if fn := st.function(t); fn.Environment != nil {
		return fn.Environment.Variables
	}
	return map[string]string{}
}

// roleStatements returns the statements of the function's role in st.
func roleStatements(t *testing.T, st samTemplate) []statement {
	t.Helper()
	role, err := st.GetIAMRoleWithName(roleID)
	if err != nil {
		t.Fatal(err)
	}
	var out []statement
	for _, p := range role.Policies {
		out = append(out, statements(t, p.PolicyDocument)...)
	}
	return out
}

// Each directory gets its own credentials and nothing of the other's: the
// Alibaba Cloud secret (its variable, its grant) only with Resource
// Directory, the Organizations grant and the invite event's resources only
// with AWS Organizations. The environment of each loads.
func TestTemplateWiresTheAlibabaSecretOnlyForResourceDirectory(t *testing.T) {
	inviteResources := []string{inviteRuleID, invitePermissionID}
	for _, dir := range directories(t) {
		t.Run(dir, func(t *testing.T) {
			st := parseTemplateWith(t, map[string]string{directoryParameter: dir})
			env := environment(t, st)
			if env["DIRECTORY"] != dir {
				t.Errorf("DIRECTORY = %q, want %q", env["DIRECTORY"], dir)
			}
			secret, hasSecret := env["ALIBABA_CLOUD_CREDENTIALS_SECRET_ID"]
			var secretGrants, orgGrants []statement
			for _, s := range roleStatements(t, st) {
				if strings.Contains(s.Actions, "secretsmanager:") {
					secretGrants = append(secretGrants, s)
				}
				if strings.Contains(s.Actions, "organizations:") {
					orgGrants = append(orgGrants, s)
				}
			}
			var present []string
			for _, id := range inviteResources {
				if _, ok := st.Resources[id]; ok {
					present = append(present, id)
				}
			}
			if inviteDLQStatement(t, st) != nil {
				present = append(present, dlqPolicyID+"'s statement for "+inviteRuleID)
			}
			switch dir {
			case directory.ResourceDirectory.Name:
				if !hasSecret || secret != st.parameterDefault(t, secretParameter) {
					t.Errorf("ALIBABA_CLOUD_CREDENTIALS_SECRET_ID = %q (set: %v), want the %s parameter", secret, hasSecret, secretParameter)
				}
				if len(secretGrants) != 1 {
					t.Errorf("the role grants %v on Secrets Manager, want the one secret", secretGrants)
				}
				if len(orgGrants) > 0 {
					t.Errorf("the role grants %v with Resource Directory", orgGrants)
				}
				if len(present) > 0 {
					t.Errorf("%v exist with Resource Directory: the invite event is AWS Organizations'", present)
				}
			case directory.AWSOrganizations.Name:
				for k, v := range env {
					if strings.HasPrefix(k, "ALIBABA_CLOUD_") {
						t.Errorf("%s = %q with AWS Organizations: no Alibaba secret is needed", k, v)
					}
				}
				if len(secretGrants) > 0 {
					t.Errorf("the role grants %v with AWS Organizations", secretGrants)
				}
				if len(orgGrants) == 0 {
					t.Error("the role grants nothing on Organizations")
				}
				if want := append(slices.Clone(inviteResources), dlqPolicyID+"'s statement for "+inviteRuleID); !slices.Equal(present, want) {
					t.Errorf("with AWS Organizations the stack has %v of %v", present, want)
				}
			}
			if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
				t.Errorf("the function's environment with %s=%s does not load:\n%v", directoryParameter, dir, err)
			}
		})
	}
	// A directory the template does not offer is refused, not defaulted.
	env := environment(t, parseTemplate(t))
	env["DIRECTORY"] = "aws-organisations"
	if _, err := config.Load(func(k string) string { return env[k] }); err == nil {
		t.Error("pkg/config loads DIRECTORY=aws-organisations: a misspelt directory must be refused")
	}
}

// TestTemplateGrantsTheOrganizationsCallsBothWays checks the role of an
// AWS Organizations stack as the RAM policy is checked: every operation
// pkg/organizations calls is granted, on the resource type the Service
// Authorization Reference gives it and no wider; nothing else is granted
// on Organizations; and the rest of the role is the common part only.
func TestTemplateGrantsTheOrganizationsCallsBothWays(t *testing.T) {
	st := parseTemplateWith(t, map[string]string{directoryParameter: directory.AWSOrganizations.Name})
	// The resource types of the Service Authorization Reference's
	// Organizations table: CancelHandshake and DescribeHandshake take
	// handshake (required), scoped here to invitations;
	// ListHandshakesForOrganization has none (all resources). An
	// operation the code starts calling must be looked up and added here.
	documented := map[string]string{
		"CancelHandshake":               handshakeARN,
		"DescribeHandshake":             handshakeARN,
		"ListHandshakesForOrganization": "*",
	}
	calls := organizations.Actions()
	if len(calls) == 0 {
		t.Fatal("organizations.Actions() is empty")
	}
	want := map[string]string{}
	for _, a := range calls {
		scope, ok := documented[a]
		if !ok {
			t.Errorf("pkg/organizations calls %s, whose resource type this test does not know: look it up in the Service Authorization Reference", a)
			continue
		}
		want["organizations:"+a] = scope
	}

	granted := map[string][]string{} // action -> resources
	var rest []statement
	for _, s := range roleStatements(t, st) {
		if !strings.Contains(s.Actions, "organizations:") {
			rest = append(rest, s)
			continue
		}
		if s.Effect != "Allow" {
			t.Errorf("statement %v: the role grants, it does not deny", s)
		}
		for _, a := range strings.Split(s.Actions, ",") {
			if !strings.HasPrefix(a, "organizations:") || strings.Contains(a, "*") {
				t.Errorf("statement %v: name each Organizations action, alone in its statement's service", s)
			}
			granted[a] = append(granted[a], strings.Split(s.Resources, ",")...)
		}
	}
	if missing := setDiff(keys(want), keys(granted)); len(missing) > 0 {
		t.Errorf("the role does not grant %v, which pkg/organizations calls", missing)
	}
	if extra := setDiff(keys(granted), keys(want)); len(extra) > 0 {
		t.Errorf("the role grants %v, which pkg/organizations never calls", extra)
	}
	for action, resources := range granted {
		scope, ok := want[action]
		if !ok {
			continue
		}
		for _, r := range resources {
			if r != scope {
				t.Errorf("the role grants %s on %q, want only %q", action, r, scope)
			}
		}
	}
	// The ARN pattern is the documented handshake ARN: a fixed
	// organization-independent prefix, then the invitation type.
	if !regexp.MustCompile(`^sub:arn:\$\{AWS::Partition\}:organizations::\$\{AWS::AccountId\}:handshake/o-\*/invite/h-\*$`).MatchString(handshakeARN) {
		t.Errorf("handshakeARN %q is not the handshake ARN format", handshakeARN)
	}

	// The rest: logs, the queue, the dead-letter queue; no secret.
	common := []statement{
		{"Allow", "logs:CreateLogStream,logs:PutLogEvents", "getatt:" + logGroupID + ".Arn"},
		{"Allow", "sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:ReceiveMessage", "getatt:" + queueID + ".Arn"},
		{"Allow", "sqs:SendMessage", "getatt:" + sweepDLQID + ".Arn"},
	}
	slices.SortFunc(rest, compareStatements)
	slices.SortFunc(common, compareStatements)
	if !slices.Equal(rest, common) {
		t.Errorf("besides Organizations, %s grants:\n%s\nwant exactly:\n%s", roleID, formatStatements(rest), formatStatements(common))
	}
}

// inviteSample reads the sample invite event as JSON.
func inviteSample(t *testing.T) map[string]any {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readRoot(t, inviteEventSample), &ev); err != nil {
		t.Fatalf("%s: %v", inviteEventSample, err)
	}
	return ev
}

// TestTemplateInviteRuleSendsSuccessfulInvitationsToTheFunction checks
// the EventBridge rule of an AWS Organizations stack: on the default bus,
// its pattern matches the sample CloudTrail event of a successful
// InviteAccountToOrganization (which the function decodes as the invite
// event) and not the same call failed, nor another call; it targets the
// function with the whole event, retries delivery and dead-letters what
// it cannot deliver in the sweep dead-letter queue, which lets EventBridge
// write for this rule only; and EventBridge may invoke the function for
// this rule only.
func TestTemplateInviteRuleSendsSuccessfulInvitationsToTheFunction(t *testing.T) {
	st := parseTemplateWith(t, map[string]string{directoryParameter: directory.AWSOrganizations.Name})
	rule, err := st.GetEventsRuleWithName(inviteRuleID)
	if err != nil {
		t.Fatalf("AWS Organizations stack: %v", err)
	}
	if bus := deref(rule.EventBusName); bus != "" && bus != "default" {
		t.Errorf("%s EventBusName = %q, want the default bus (AWS service events arrive there only)", inviteRuleID, bus)
	}
	if state := deref(rule.State); state != "ENABLED" {
		t.Errorf("%s State = %q, want ENABLED", inviteRuleID, state)
	}

	pattern := rule.EventPattern
	sample := inviteSample(t)
	if !matchPattern(t, pattern, sample) {
		t.Errorf("%s's pattern does not match %s", inviteRuleID, inviteEventSample)
	}
	failed := inviteSample(t)
	detail := failed["detail"].(map[string]any)
	detail["errorCode"] = "AccessDenied"
	detail["errorMessage"] = "You don't have permissions to access this resource."
	detail["responseElements"] = nil
	if matchPattern(t, pattern, failed) {
		t.Errorf("%s's pattern matches a failed InviteAccountToOrganization (errorCode set): no invitation was made", inviteRuleID)
	}
	for field, other := range map[string]string{"eventName": "AcceptHandshake", "eventSource": "sts.amazonaws.com"} {
		ev := inviteSample(t)
		ev["detail"].(map[string]any)[field] = other
		if matchPattern(t, pattern, ev) {
			t.Errorf("%s's pattern matches detail.%s = %s", inviteRuleID, field, other)
		}
	}
	d, err := trigger.AWSFor(readRoot(t, inviteEventSample), directory.AWSOrganizations)
	if err != nil || d.Trigger != trigger.InviteEvent || len(d.Job.Items) != 1 {
		t.Errorf("trigger.AWSFor(%s) = %+v, %v; want one invitation to check, trigger %s: the rule would send the function what it cannot read", inviteEventSample, d, err, trigger.InviteEvent)
	}

	if len(rule.Targets) != 1 {
		t.Fatalf("%s has %d targets, want the function only", inviteRuleID, len(rule.Targets))
	}
	target := rule.Targets[0]
	if target.Arn != "getatt:"+functionID+".Arn" {
		t.Errorf("%s target = %q, want the function", inviteRuleID, target.Arn)
	}
	if target.Input != nil || target.InputPath != nil || target.InputTransformer != nil {
		t.Errorf("%s target reshapes the event: the function reads the whole CloudTrail event", inviteRuleID)
	}
	if target.RetryPolicy == nil {
		t.Errorf("%s target has no RetryPolicy", inviteRuleID)
	} else {
		if n := derefInt(target.RetryPolicy.MaximumRetryAttempts); n < 1 || n > 185 {
			t.Errorf("%s RetryPolicy.MaximumRetryAttempts = %d, want 1..185", inviteRuleID, n)
		}
		if n := derefInt(target.RetryPolicy.MaximumEventAgeInSeconds); n < 60 || n > 86400 {
			t.Errorf("%s RetryPolicy.MaximumEventAgeInSeconds = %d, want 60..86400", inviteRuleID, n)
		}
	}
	if target.DeadLetterConfig == nil || deref(target.DeadLetterConfig.Arn) != "getatt:"+sweepDLQID+".Arn" {
		t.Errorf("%s target DeadLetterConfig = %+v, want %s, the queue of the other asynchronous invocations", inviteRuleID, target.DeadLetterConfig, sweepDLQID)
	}

	want := `{"Action":"sqs:SendMessage","Condition":{"ArnEquals":{"aws:SourceArn":"getatt:` + inviteRuleID + `.Arn"}},"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Resource":"getatt:` + sweepDLQID + `.Arn"}`
	if got, _ := json.Marshal(inviteDLQStatement(t, st)); string(got) != want {
		t.Errorf("%s's statement for %s = %s, want %s", dlqPolicyID, inviteRuleID, got, want)
	}

	perm, err := st.GetLambdaPermissionWithName(invitePermissionID)
	if err != nil {
		t.Fatal(err)
	}
	if perm.Action != "lambda:InvokeFunction" || perm.Principal != "events.amazonaws.com" ||
		deref(perm.SourceArn) != "getatt:"+inviteRuleID+".Arn" ||
		(perm.FunctionName != "getatt:"+functionID+".Arn" && perm.FunctionName != "ref:"+functionID) {
		t.Errorf("%s = %s %s for %s from %s, want lambda:InvokeFunction by events.amazonaws.com for the function from %s only",
			invitePermissionID, perm.Action, perm.Principal, perm.FunctionName, deref(perm.SourceArn), inviteRuleID)
	}
}

// The sample is a CloudTrail record as EventBridge delivers it, with
// CloudTrail's own shapes inside: the handshake's timestamps in its
// "Jan 18, 2017 9:41:16 PM" form and the action in lower case, a valid ID,
// and a target of its own type beside the organization.
func TestInviteEventSampleIsACloudTrailRecordOfOneInvitation(t *testing.T) {
	ev := inviteSample(t)
	for k, want := range map[string]string{"source": "aws.organizations", "detail-type": "AWS API Call via CloudTrail", "region": "us-east-1"} {
		if ev[k] != want {
			t.Errorf("%s = %v, want %s", k, ev[k], want)
		}
	}
	d, _ := ev["detail"].(map[string]any)
	for k, want := range map[string]any{"eventSource": "organizations.amazonaws.com", "eventName": "InviteAccountToOrganization", "awsRegion": "us-east-1", "eventType": "AwsApiCall", "managementEvent": true, "readOnly": false} {
		if d[k] != want {
			t.Errorf("detail.%s = %v, want %v", k, d[k], want)
		}
	}
	if _, ok := d["errorCode"]; ok {
		t.Error("detail.errorCode is set: the sample is a successful call")
	}
	if d["recipientAccountId"] != ev["account"] {
		t.Errorf("detail.recipientAccountId %v is not the event's account %v", d["recipientAccountId"], ev["account"])
	}
	h, _ := lookup(d, "responseElements", "handshake").(map[string]any)
	id, _ := h["id"].(string)
	if _, err := organizations.ParseID(id); err != nil {
		t.Errorf("handshake id %q: %v", id, err)
	}
	if arn, _ := h["arn"].(string); !regexp.MustCompile(`^arn:aws:organizations::` + fmt.Sprint(ev["account"]) + `:handshake/o-[a-z0-9]{10,32}/invite/` + regexp.QuoteMeta(id) + `$`).MatchString(arn) {
		t.Errorf("handshake arn %q is not the invitation %s of the event's account", arn, id)
	}
	cloudTrailTime := regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$`)
	for _, k := range []string{"requestedTimestamp", "expirationTimestamp"} {
		if s, _ := h[k].(string); !cloudTrailTime.MatchString(s) {
			t.Errorf("handshake %s = %v, want CloudTrail's form such as \"Jan 18, 2017 9:41:16 PM\"", k, h[k])
		}
	}
	if h["action"] != "invite" || h["state"] != "OPEN" {
		t.Errorf("handshake action %v state %v, want invite (CloudTrail's lower case) and OPEN", h["action"], h["state"])
	}
	parties, _ := h["parties"].([]any)
	var types []string
	var target any
	for _, p := range parties {
		typ := fmt.Sprint(lookup(p, "type"))
		types = append(types, typ)
		if typ != "ORGANIZATION" {
			target = lookup(p, "type")
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"ACCOUNT", "ORGANIZATION"}) && !slices.Equal(types, []string{"EMAIL", "ORGANIZATION"}) {
		t.Errorf("handshake parties %v, want the organization and one ACCOUNT or EMAIL target", types)
	}
	if got := lookup(d, "requestParameters", "target", "type"); got != target {
		t.Errorf("requestParameters.target.type %v, want the target party's %v", got, target)
	}
}

// inviteDLQStatement returns the statement of the sweep dead-letter queue's
// policy that names the invite rule, nil if none does; the policy must be
// the queue's only one (a second would replace it).
func inviteDLQStatement(t *testing.T, st samTemplate) any {
	t.Helper()
	var policies []string
	for name, r := range st.Resources {
		if r.AWSCloudFormationType() == "AWS::SQS::QueuePolicy" {
			policies = append(policies, name)
		}
	}
	if !slices.Equal(policies, []string{dlqPolicyID}) {
		t.Fatalf("queue policies %v, want %s only: a queue has one policy, and a second replaces the first", policies, dlqPolicyID)
	}
	qp, err := st.GetSQSQueuePolicyWithName(dlqPolicyID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(qp.Queues, []string{"ref:" + sweepDLQID}) {
		t.Errorf("%s Queues = %v, want %s", dlqPolicyID, qp.Queues, sweepDLQID)
	}
	stmts, _ := lookup(qp.PolicyDocument, "Statement").([]any)
	var found any
	for _, s := range stmts {
		if lookup(s, "Condition", "ArnEquals", "aws:SourceArn") == "getatt:"+inviteRuleID+".Arn" {
			if found != nil {
				t.Errorf("%s names %s twice", dlqPolicyID, inviteRuleID)
			}
			found = s
		}
	}
	return found
}
