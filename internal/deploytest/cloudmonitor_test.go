package deploytest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// dlqAlarms is the file of CloudMonitor rules on s.yaml's dead-letter
// queues: one PutResourceMetricRule parameter set per queue.
const dlqAlarms = "deploy/aliyun/cloudmonitor/dlq-alarms.json"

// sYamlDeadLetterQueues returns the names of the MNS queues s.yaml sends
// what failed to: the queue trigger's dead-letter queue and the timer
// sweep's on-failure destination.
func sYamlDeadLetterQueues(t *testing.T) []string {
	t.Helper()
	props, sweep := sweepDestination(t)
	eb := triggers(props, "eventbridge")
	if len(eb) != 1 {
		t.Fatalf("want 1 eventbridge trigger, have %d", len(eb))
	}
	arn := str(lookup(eb[0]["triggerConfig"], "runOptions", "deadLetterQueue", "Arn"))
	m := mnsQueueARN.FindStringSubmatch(arn)
	if m == nil {
		t.Fatalf("eventbridge runOptions.deadLetterQueue.Arn = %q, want acs:mns:<region>:<account>:/queues/<name>", arn)
	}
	return []string{m[3], sweep}
}

// Every dead-letter queue s.yaml declares has exactly one CloudMonitor rule
// that alarms on its first visible message (maximum over the period,
// greater than 0, at once), and the file has no rule for any other queue.
// Its only placeholders are those the walkthrough's loop fills in.
func TestCloudMonitorAlarmsCoverExactlyTheSYamlDeadLetterQueuesAboveZero(t *testing.T) {
	var rules []map[string]string
	dec := json.NewDecoder(bytes.NewReader(readRoot(t, dlqAlarms)))
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v (want a list of PutResourceMetricRule parameters, each value a string)", dlqAlarms, err)
	}
	want := map[string]string{
		"Namespace":                       "acs_mns_new",
		"MetricName":                      "NumberOfMessagesVisible",
		"Escalations.Critical.Statistics": "Maximum",
		"Escalations.Critical.ComparisonOperator": "GreaterThanThreshold",
		"Escalations.Critical.Threshold":          "0",
		"Escalations.Critical.Times":              "1",
	}
	placeholders := map[string]bool{"<account-id>": true, "<region>": true, "<contact-group>": true}
	placeholder := regexp.MustCompile(`<[^<>]*>`)
	ruleIDs := map[string]bool{}
	covered := map[string]int{}
	for i, r := range rules {
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s rule %d: %s = %q, want %q", dlqAlarms, i, k, r[k], v)
			}
		}
		if r["RuleId"] == "" || r["RuleName"] == "" || r["ContactGroups"] == "" {
			t.Errorf("%s rule %d: RuleId, RuleName and ContactGroups are required by PutResourceMetricRule", dlqAlarms, i)
		}
		if ruleIDs[r["RuleId"]] {
			t.Errorf("%s rule %d: RuleId %q is used twice: the second call would overwrite the first rule", dlqAlarms, i, r["RuleId"])
		}
		ruleIDs[r["RuleId"]] = true
		for k, v := range r {
			for _, p := range placeholder.FindAllString(v, -1) {
				if !placeholders[p] {
					t.Errorf("%s rule %d: %s holds %s, which the walkthrough does not fill in (only %v)", dlqAlarms, i, k, p, keys(placeholders))
				}
			}
		}
		var resources []map[string]string
		if err := json.Unmarshal([]byte(r["Resources"]), &resources); err != nil || len(resources) != 1 {
			t.Errorf("%s rule %d: Resources = %q, want a JSON list of one queue's dimensions (%v)", dlqAlarms, i, r["Resources"], err)
			continue
		}
		dims := resources[0]
		if got := strings.Join(keys(dims), ","); got != "queue,region,userId" {
			t.Errorf("%s rule %d: Resources dimensions %s, want queue,region,userId (acs_mns_new's queue dimensions)", dlqAlarms, i, got)
		}
		if dims["userId"] != "<account-id>" || dims["region"] != "<region>" {
			t.Errorf("%s rule %d: userId %q, region %q: want the placeholders <account-id> and <region>", dlqAlarms, i, dims["userId"], dims["region"])
		}
		covered[dims["queue"]]++
	}
	dlqs := sYamlDeadLetterQueues(t)
	for _, q := range dlqs {
		if covered[q] != 1 {
			t.Errorf("%s has %d rules on the dead-letter queue %s that s.yaml declares, want 1", dlqAlarms, covered[q], q)
		}
	}
	if extra := setDiff(keys(covered), dlqs); len(extra) > 0 {
		t.Errorf("%s alarms on %v, which s.yaml does not declare as a dead-letter queue", dlqAlarms, extra)
	}
}

// The Function Compute walkthrough creates each dead-letter queue s.yaml
// declares with 7 days' retention (MNS's maximum, not the 4-day default)
// and creates the alarm rules from the committed file.
func TestAlibabaCloudWalkthroughCreatesTheDeadLetterQueuesWithSevenDaysAndTheirAlarms(t *testing.T) {
	doc := string(readRoot(t, "docs/deploy-alibaba-cloud.md"))
	for _, q := range sYamlDeadLetterQueues(t) {
		create := regexp.MustCompile(`(?m)^for q in [^;]*\b` + regexp.QuoteMeta(q) + `\b[^;]*; do\n\s+aliyun mns-open CreateQueue --QueueName "\$q" --MessageRetentionPeriod 604800\n`)
		if !create.MatchString(doc) {
			t.Errorf("docs/deploy-alibaba-cloud.md does not create %s with --MessageRetentionPeriod 604800", q)
		}
	}
	for _, s := range []string{"aliyun cms PutResourceMetricRule", dlqAlarms} {
		if !strings.Contains(doc, s) {
			t.Errorf("docs/deploy-alibaba-cloud.md does not name %q: nothing creates the dead-letter alarms", s)
		}
	}
}
