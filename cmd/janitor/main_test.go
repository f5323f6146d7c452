package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/internal/version"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// emulatorEnv serves a seeded emulator and returns the environment that
// points the CLI at it.
func emulatorEnv(t *testing.T, hs ...handshake.Handshake) (*rmemu.Server, func(string) string) {
	t.Helper()
	emu, ts := testkit.Emulator(t, rmemu.Options{}, hs...)
	env := map[string]string{
		"RESOURCEMANAGER_ENDPOINT":        ts.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     rmemu.TestAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": rmemu.TestAccessKeySecret,
		"API_QPS":                         "1000",
	}
	// The credentials-go chain reads the process environment.
	for k, v := range env {
		if strings.HasPrefix(k, "ALIBABA_CLOUD_") {
			t.Setenv(k, v)
		}
	}
	return emu, func(k string) string { return env[k] }
}

func pending(id string, age time.Duration) handshake.Handshake {
	return handshake.Handshake{HandshakeID: id, Status: handshake.StatusPending, CreateTime: time.Now().Add(-age)}
}

func TestSweepCancelsOnlyStalePendingInvitationsAndPrintsTheReport(t *testing.T) {
	emu, getenv := emulatorEnv(t,
		pending("h-Stale00000000001", 9*24*time.Hour),
		pending("h-Fresh00000000001", time.Hour),
		handshake.Handshake{HandshakeID: "h-Accepted00000001", Status: handshake.StatusAccepted, CreateTime: time.Now().Add(-10 * 24 * time.Hour)},
	)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"sweep", "-output", "json"}, &stdout, &stderr, getenv)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	var r janitor.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout.String())
	}
	if len(r.Results) != 1 || r.Results[0].HandshakeID != "h-Stale00000000001" || r.Results[0].Outcome != handshake.OutcomeCancelled {
		t.Fatalf("results = %+v, want only the stale one cancelled", r.Results)
	}
	if got := emu.Status("h-Fresh00000000001"); got != handshake.StatusPending {
		t.Errorf("fresh invitation is %s, want Pending", got)
	}
	if !strings.Contains(stderr.String(), `"message":"invocation summary"`) {
		t.Errorf("stderr has no summary log line:\n%s", stderr.String())
	}
}

func TestSweepAllowDryRunShowsWhatThePolicyWouldCancelAndWhy(t *testing.T) {
	outsider := pending("h-Outsider00000001", time.Hour)
	outsider.TargetType, outsider.TargetEntity = handshake.TargetEmail, "jane.doe@example.org"
	insider := pending("h-Insider000000001", time.Hour)
	insider.TargetType, insider.TargetEntity = handshake.TargetEmail, "new.hire@example.com"
	account := pending("h-Account000000001", time.Hour)
	account.TargetType, account.TargetEntity = handshake.TargetAccount, "1234567890123456"
	emu, getenv := emulatorEnv(t, outsider, insider, account)
	var stdout, stderr bytes.Buffer
	args := []string{"sweep", "-dry-run", "--allow", "*@example.com", "--allow", "1234567890123456"}
	if code := run(context.Background(), args, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`h-Outsider00000001\s+dry_run\s+target_not_allowed\s+j\*\*\*@example.org\s+Pending`).MatchString(stdout.String()) {
		t.Errorf("table does not show the outsider the policy would cancel:\n%s", stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), "jane.doe") {
		t.Errorf("the address is not redacted:\n%s\n%s", stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "h-Insider") || strings.Contains(stdout.String(), "h-Account") || !strings.Contains(stdout.String(), "1 dry run") {
		t.Errorf("want only the outsider selected:\n%s", stdout.String())
	}
	testkit.WantStatus(t, emu, handshake.StatusPending, "h-Outsider00000001")

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"sweep", "--allow", "*@example.com", "--allow", "12345"}, &stdout, &stderr, getenv); code != 2 {
		t.Errorf("--allow 12345: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `pattern "12345"`) {
		t.Errorf("--allow 12345: stderr %q does not name the pattern", stderr.String())
	}
	testkit.WantStatus(t, emu, handshake.StatusPending, "h-Outsider00000001")
}

func TestSweepDryRunCancelsNothingAndPrintsATable(t *testing.T) {
	emu, getenv := emulatorEnv(t, pending("h-Stale00000000001", 9*24*time.Hour))
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sweep", "-dry-run", "-older-than", "7d"}, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`h-Stale00000000001\s+dry_run\s+stale\s+-\s+Pending`).MatchString(stdout.String()) {
		t.Errorf("table does not show the dry run:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "1 dry run") {
		t.Errorf("no summary line:\n%s", stdout.String())
	}
	if emu.Stats().Calls["CancelHandshake"] != 0 || emu.Status("h-Stale00000000001") != handshake.StatusPending {
		t.Errorf("a dry run called CancelHandshake")
	}
}

func TestSweepOverTheGuardCancelsNoneAndExitsNonZero(t *testing.T) {
	emu, getenv := emulatorEnv(t, pending("h-Stale00000000001", 9*24*time.Hour), pending("h-Stale00000000002", 9*24*time.Hour))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"sweep", "-max", "1"}, &stdout, &stderr, getenv)
	if code == 0 {
		t.Fatal("exit 0, want a refusal")
	}
	if !strings.Contains(stderr.String(), "2") || !strings.Contains(stderr.String(), "1") {
		t.Errorf("error does not name the count and the limit:\n%s", stderr.String())
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("%d cancels, want 0", n)
	}
}

func TestCancelReportsEachOutcomeAndFailsOnlyOnFailed(t *testing.T) {
	emu, getenv := emulatorEnv(t, pending("h-Pending000000001", time.Hour),
		handshake.Handshake{HandshakeID: "h-Declined00000001", Status: handshake.StatusDeclined, CreateTime: time.Now().Add(-time.Hour)})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"cancel", "-output", "json", "h-Pending000000001", "h-Declined00000001", "h-Missing000000001", "h-bad"}, &stdout, &stderr, getenv)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	var r janitor.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]handshake.Outcome{
		"h-Pending000000001": handshake.OutcomeCancelled, "h-Declined00000001": handshake.OutcomeSkipped,
		"h-Missing000000001": handshake.OutcomeNotFound, "h-bad": handshake.OutcomeInvalid,
	}
	for _, res := range r.Results {
		if want[res.HandshakeID] != res.Outcome {
			t.Errorf("%s: %s, want %s", res.HandshakeID, res.Outcome, want[res.HandshakeID])
		}
		delete(want, res.HandshakeID)
	}
	if len(want) != 0 {
		t.Errorf("missing results for %v", want)
	}
	emu.FailAlways("h-Missing000000002")
	stdout.Reset()
	if code := run(context.Background(), []string{"cancel", "h-Missing000000002"}, &stdout, &stderr, getenv); code != 1 {
		t.Errorf("a failed cancel exits %d, want 1", code)
	}
}

func TestVersionPrintsTheBuildsVersionBothWays(t *testing.T) {
	want := "janitor " + version.String() + " ("
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 0 {
			t.Errorf("janitor %v: exit %d, stderr %q", args, code, stderr.String())
		}
		if got := stdout.String(); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
			t.Errorf("janitor %v printed %q, want one line starting %q", args, got, want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version", "extra"}, &stdout, &stderr, func(string) string { return "" }); code != 2 || stdout.Len() != 0 {
		t.Errorf("janitor version extra: exit %d, stdout %q; want exit 2 and nothing printed", code, stdout.String())
	}
}

func TestBadUsageExitsTwoWithAMessage(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, args := range [][]string{
		{}, {"nonsense"}, {"cancel"}, {"sweep", "-older-than", "soon"}, {"sweep", "-output", "yaml"},
		{"sweep", "-target-type", "Robot"}, {"invoke"}, {"invoke", "-platform", "gcp", "-event", "x"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr, getenv); code != 2 {
			t.Errorf("janitor %q: exit %d, want 2", args, code)
		}
		if stderr.Len() == 0 {
			t.Errorf("janitor %q: nothing on stderr", args)
		}
	}
}

func TestBadConfigurationNamesTheVariable(t *testing.T) {
	getenv := func(k string) string {
		if k == "API_QPS" {
			return "fast"
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"cancel", "h-Pending000000001"}, &stdout, &stderr, getenv); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "API_QPS") {
		t.Errorf("stderr does not name API_QPS:\n%s", stderr.String())
	}
}

func TestInvokeRunsTheHandlerOnAnEventFile(t *testing.T) {
	emu, getenv := emulatorEnv(t, pending("h-Ab12Cd34Ef56Gh78", 9*24*time.Hour), pending("h-Zx98Yw76Vu54Ts32", 9*24*time.Hour))
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"invoke", "-platform", "fc", "-event", "../../events/fc-timer.json"}, &stdout, &stderr, getenv); code != 0 {
		// fc-timer.json also names h-Ex4pIr6eDd8aTe0z, not seeded here: not_found is no failure.
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if emu.Status("h-Zx98Yw76Vu54Ts32") != handshake.StatusCancelled {
		t.Errorf("fc-timer.json's invitation is %s, want Cancelled; stdout:\n%s\nstderr:\n%s", emu.Status("h-Zx98Yw76Vu54Ts32"), stdout.String(), stderr.String())
	}
	var resp map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil || resp["summary"] == nil {
		t.Errorf("stdout is not the Report: %v\n%s", err, stdout.String())
	}
}

// TestInvokeAWSBuildsTheHandlerAsTheLambdaDoes: `janitor invoke -platform
// aws` logs the start-up configuration line and writes its summary line as
// an EMF document, as the Lambda function does, and answers an SQS batch
// with a partial batch response.
func TestInvokeAWSBuildsTheHandlerAsTheLambdaDoes(t *testing.T) {
	_, getenv := emulatorEnv(t, pending("h-Ab12Cd34Ef56Gh78", time.Hour))
	var stdout, stderr bytes.Buffer
	args := []string{"invoke", "-platform", "aws", "-event", "../../events/aws-sqs.json", "-log-format", "json"}
	if code := run(context.Background(), args, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var resp map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil || resp["batchItemFailures"] == nil {
		t.Errorf("stdout is not a partial batch response: %v\n%s", err, stdout.String())
	}
	var configLine, emfSummary bool
	for line := range strings.Lines(stderr.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		switch m["message"] {
		case "configuration":
			configLine = m["platform"] == "aws"
		case logging.MessageSummary:
			_, emfSummary = m["_aws"]
		}
	}
	if !configLine || !emfSummary {
		t.Errorf("configuration line %v, EMF summary line %v; want both; stderr:\n%s", configLine, emfSummary, stderr.String())
	}
}

func TestEmulatorCommandServesTheSeedAndPrintsItsEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulator", "-addr", "127.0.0.1:0", "-quiet", "-seed", "../../events/emulator/seed.json"}, pw, io.Discard, nil)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no endpoint line: %v", err)
	}
	endpoint := strings.TrimSpace(line)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q", endpoint)
	}
	env := map[string]string{"RESOURCEMANAGER_ENDPOINT": endpoint}
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", rmemu.TestAccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", rmemu.TestAccessKeySecret)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sweep", "-dry-run", "-output", "json"}, &stdout, &stderr, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("sweep against the emulator: exit %d\n%s", code, stderr.String())
	}
	var r janitor.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary[handshake.OutcomeDryRun] != 3 { // the three stale Pending invitations of events/emulator/seed.json, not the fresh two
		t.Errorf("dry run found %d stale invitations, want 3: %+v", r.Summary[handshake.OutcomeDryRun], r.Results)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("emulator exit %d after interrupt, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop")
	}
}

func TestDemoRunsEverySampleAndEndsWithTheExpectedStates(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-events", "../../events"}, &out, &out, nil); code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, out.String())
	}
	s := out.String()
	for _, p := range demoPlatforms {
		for _, sample := range p.samples {
			if !strings.Contains(s, "---- events/"+sample.file) {
				t.Errorf("demo did not run %s", sample.file)
			}
		}
	}
	// Both platforms end with every named or stale Pending invitation cancelled.
	for _, id := range []string{"h-Ab12Cd34Ef56Gh78", "h-Zx98Yw76Vu54Ts32", "h-Mn3oPq5rSt7uVw9x", "h-Sw3epOnlyStale9X"} {
		if n := strings.Count(s, id+"  Cancelled"); n != 2 {
			t.Errorf("%s ends Cancelled in %d of 2 platforms", id, n)
		}
	}
	if n := strings.Count(s, "h-Fr3shNobodyNam3d  Pending"); n != 2 {
		t.Errorf("the fresh invitation nobody named is Pending in %d of 2 platforms, want 2: sweeps leave it alone", n)
	}
	if n := strings.Count(s, "h-Qr5tUv7wXy9zAb1c  Accepted"); n != 2 {
		t.Errorf("the accepted invitation changed: seen Accepted %d times", n)
	}
	// The injection attempt in direct.json never reaches the API, and is reported invalid.
	if !strings.Contains(s, `"handshake_id":"h-abc&Action=DeleteAccount","outcome":"invalid"`) {
		t.Errorf("the invalid ID is not reported invalid")
	}
	if strings.Contains(s, rmemu.TestAccessKeySecret) || strings.Contains(s, rmemu.TestSecurityToken) || strings.Contains(s, orgemu.TestSecretAccessKey) {
		t.Errorf("the demo output contains a secret")
	}
	// The AWS Organizations part: the invite event cancels the outsider at
	// once, the batch and the sweep the rest, and nothing else is touched.
	for _, sample := range demoOrgSamples {
		if !strings.Contains(s, "---- events/"+sample.file) {
			t.Errorf("demo did not run %s on Organizations", sample.file)
		}
	}
	for _, want := range []string{
		`"trigger":"invite-event","handshake_id":"h-0rgoutsider0001","outcome":"cancelled","reason":"target_not_allowed"`,
		"h-0rgoutsider0001  INVITE                CANCELED", "h-0rgqueued000001  INVITE                CANCELED",
		"h-0rgstale0000001  INVITE                CANCELED", "h-0rgstale0000002  INVITE                CANCELED",
		"h-0rgfresh0000001  INVITE                OPEN", "h-0rgaccepted0001  INVITE                ACCEPTED",
		"h-0rgenableall001  ENABLE_ALL_FEATURES   OPEN",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the Organizations part does not show %q", want)
		}
	}
}

// -directory beats DIRECTORY, on the subcommands that reach a directory:
// the account IDs of -allow take its form, and a name that is no
// directory's is bad usage.
func TestDirectoryFlagBeatsTheVariable(t *testing.T) {
	env := func(k string) string {
		if k == "DIRECTORY" {
			return "resource-directory"
		}
		return ""
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "-directory", "aws-organizations", "-allow", "1234567890123456"}, "want a 12-digit account ID"},
		{[]string{"sweep", "-allow", "123456789012"}, "want a 16-digit account ID"},
		{[]string{"sweep", "-directory", "organisations", "-allow", "*@example.com"}, "want resource-directory (Alibaba Cloud, the default) or aws-organizations"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr, env); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// With DIRECTORY=aws-organizations the CLI needs no Alibaba Cloud
// credentials: only the AWS chain's, which the Organizations client reads.
func TestOrganizationsSweepNeedsNoAlibabaCloudCredentials(t *testing.T) {
	noCredentials(t)
	emu := orgemu.New(orgemu.Options{})
	if err := emu.LoadSeed(strings.NewReader(`[{"Id":"h-stale00001","Target":"123456789012","Age":"9d"}]`)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": srv.URL,
		"AWS_REGION":                     "us-east-1",
		"AWS_ACCESS_KEY_ID":              orgemu.TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":          orgemu.TestSecretAccessKey,
		"AWS_EC2_METADATA_DISABLED":      "true",
		"AWS_CONFIG_FILE":                "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":    "/dev/null",
	} {
		t.Setenv(k, v)
	}
	env := func(k string) string { return os.Getenv(k) }
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"sweep", "-directory", "aws-organizations", "-output", "json"}, &stdout, &stderr, env)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q; want 0", code, stderr.String())
	}
	if s := emu.State("h-stale00001"); s != "CANCELED" {
		t.Errorf("h-stale00001 is %s, want CANCELED", s)
	}
}
