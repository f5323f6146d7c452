package deploytest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fcDefaultSchedule is the FC timer's default: daily at 03:00 UTC.
const fcDefaultSchedule = "0 0 3 * * *"

// schedule is a sweep schedule reduced to what both clouds can say: a
// fixed interval, or the minute, hour, day of month, month and day of week
// fields of a cron expression in UTC ("?" read as "*").
type schedule struct {
	every time.Duration
	cron  [5]string
}

var (
	awsRate = regexp.MustCompile(`^rate\((\d+) (minutes?|hours?|days?)\)$`)
	awsCron = regexp.MustCompile(`^cron\((.+)\)$`)
	units   = map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
)

// parseSchedulerExpression reads an EventBridge Scheduler rate(...) or
// cron(...) expression (cron: minutes hours day-of-month month day-of-week year).
func parseSchedulerExpression(expr string) (schedule, error) {
	if m := awsRate.FindStringSubmatch(expr); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		return schedule{every: time.Duration(n) * units[strings.TrimSuffix(m[2], "s")]}, nil
	}
	m := awsCron.FindStringSubmatch(expr)
	if m == nil {
		return schedule{}, fmt.Errorf("%q is neither rate(...) nor cron(...)", expr)
	}
	f := strings.Fields(m[1])
	if len(f) != 6 || f[5] != "*" {
		return schedule{}, fmt.Errorf("%q: want six fields ending in year *", expr)
	}
	return cronSchedule(f[:5]), nil
}

// parseFCTimer reads an FC timer expression: @every <duration>, or cron
// with six fields, seconds first.
func parseFCTimer(expr string) (schedule, error) {
	if d, ok := strings.CutPrefix(expr, "@every "); ok {
		every, err := time.ParseDuration(d)
		return schedule{every: every}, err
	}
	f := strings.Fields(expr)
	if len(f) != 6 || f[0] != "0" {
		return schedule{}, fmt.Errorf("%q: want six fields, seconds first and 0", expr)
	}
	return cronSchedule(f[1:]), nil
}

func cronSchedule(f []string) schedule {
	var s schedule
	for i, v := range f {
		if v == "?" {
			v = "*"
		}
		s.cron[i] = v
	}
	return s
}

func TestScheduleParsersReadBothClouds(t *testing.T) {
	for _, tc := range []struct{ aws, fc string }{
		{"cron(0 3 * * ? *)", "0 0 3 * * *"},
		{"rate(10 minutes)", "@every 10m"},
		{"rate(1 day)", "@every 24h"},
		{"cron(0/10 * * * ? *)", "0 0/10 * * * *"},
	} {
		a, err1 := parseSchedulerExpression(tc.aws)
		f, err2 := parseFCTimer(tc.fc)
		if err1 != nil || err2 != nil || a != f {
			t.Errorf("%s = %+v (%v), %s = %+v (%v): want the same schedule", tc.aws, a, err1, tc.fc, f, err2)
		}
	}
	a, _ := parseSchedulerExpression("cron(0 4 * * ? *)")
	f, _ := parseFCTimer("0 0 3 * * *")
	if a == f {
		t.Error("03:00 and 04:00 read as the same schedule")
	}
	for _, bad := range []string{"cron(0 3 * * ?)", "daily", "cron(0 3 * * ? 2030)"} {
		if _, err := parseSchedulerExpression(bad); err == nil {
			t.Errorf("parseSchedulerExpression(%q) accepted", bad)
		}
	}
	if _, err := parseFCTimer("30 0 3 * * *"); err == nil {
		t.Error("parseFCTimer accepted a schedule at second 30, which Scheduler cannot express")
	}
}

// Both clouds sweep by default at the same time, daily at 03:00 UTC, as the
// README says; each lets the operator change it at deploy time.
func TestDefaultSweepScheduleIsTheSameOnBothClouds(t *testing.T) {
	st := parseTemplate(t)
	awsExpr := st.parameterDefault(t, scheduleParameter)
	aws, err := parseSchedulerExpression(awsExpr)
	if err != nil {
		t.Fatalf("template.yaml %s: %v", scheduleParameter, err)
	}
	var fcExpr string
	for _, r := range fc3Resources(t, parseSYaml(t, readRoot(t, "s.yaml"))) {
		for _, tr := range triggers(r.Props, "timer") {
			fcExpr = str(lookup(tr, "triggerConfig", "cronExpression"))
		}
	}
	fc, err := parseFCTimer(fcExpr)
	if err != nil {
		t.Fatalf("s.yaml timer: %v", err)
	}
	if aws != fc {
		t.Errorf("default sweep schedules differ: template.yaml %s, s.yaml %s", awsExpr, fcExpr)
	}
	daily3 := schedule{cron: [5]string{"0", "3", "*", "*", "*"}}
	if aws != daily3 {
		t.Errorf("default sweep schedule %s is not daily at 03:00 UTC, as the README says", awsExpr)
	}
	text := readme(t)
	for _, want := range []string{"`" + scheduleParameter + "`", "`vars.sweepSchedule`", "`" + awsExpr + "`", "`" + fcExpr + "`"} {
		if !strings.Contains(text, want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
}
