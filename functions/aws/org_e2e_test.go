package main_test

// End to end with DIRECTORY=aws-organizations: the Lambda binary under the
// Lambda emulator, calling an AWS Organizations emulator (pkg/orgemu) on
// 127.0.0.1 through the AWS SDK's standard chains: credentials from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_REGION, and the endpoint
// from AWS_ENDPOINT_URL_ORGANIZATIONS. Each test has its own function and
// emulator.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/lambdarie"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// orgFunction starts an Organizations emulator seeded with hs and the
// function on it, with env added to the function's environment.
func orgFunction(t *testing.T, hs []orgemu.Handshake, env ...string) (*orgemu.Server, *lambdarie.Emulator) {
	t.Helper()
	srv := orgemu.New(orgemu.Options{})
	if err := srv.Seed(hs...); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	base := []string{
		"DIRECTORY=aws-organizations",
		"AWS_ENDPOINT_URL_ORGANIZATIONS=" + ts.URL,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + orgemu.TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + orgemu.TestSecretAccessKey,
		"API_QPS=200",
		"LOG_LEVEL=info",
		"METRICS_NAMESPACE=" + metricsNamespace,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := lambdarie.Start(ctx, bootstrap, lambdarie.Options{Env: append(base, env...), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			t.Logf("function output:\n%s", f.Output())
		}
	})
	return srv, f
}

func orgHandshake(id, action, state, target string, age time.Duration) orgemu.Handshake {
	h := orgemu.Handshake{ID: id, Action: action, State: state, RequestedAt: time.Now().Add(-age)}
	if target != "" {
		typ := orgemu.PartyAccount
		if strings.Contains(target, "@") {
			typ = orgemu.PartyEmail
		}
		h.Parties = []orgemu.Party{{ID: target, Type: typ}}
	}
	if state != orgemu.StateOpen && state != orgemu.StateRequested {
		h.FinishedAt = time.Now().Add(-time.Hour)
	}
	return h
}

// resultLines returns the result lines of invocation rid by handshake ID.
func resultLines(t *testing.T, f *lambdarie.Emulator, rid string) map[string]map[string]any {
	t.Helper()
	testkit.SummaryLine(t, f.FunctionLines, rid)
	out := map[string]map[string]any{}
	for _, m := range testkit.InvocationLines(t, f.FunctionLines(), rid) {
		if id, ok := m[logging.FieldHandshakeID].(string); ok {
			out[id] = m
		}
	}
	return out
}

// A sweep lists every page (20 a page) and cancels the stale INVITE
// handshakes, leaving fresh ones, finished ones and every other action
// type alone, whatever their age.
func TestOrganizationsSweepAcrossPages(t *testing.T) {
	var seed []orgemu.Handshake
	var stale []string
	for i := range 45 {
		id := fmt.Sprintf("h-stalesweep%04d", i)
		stale = append(stale, id)
		seed = append(seed, orgHandshake(id, orgemu.ActionInvite, orgemu.StateOpen, fmt.Sprintf("%012d", 100000000000+i), 10*24*time.Hour))
	}
	others := []orgemu.Handshake{
		orgHandshake("h-freshsweep0001", orgemu.ActionInvite, orgemu.StateOpen, "a@example.com", time.Hour),
		orgHandshake("h-requestedold01", orgemu.ActionInvite, orgemu.StateRequested, "b@example.com", 9*24*time.Hour),
		orgHandshake("h-enableallold01", orgemu.ActionEnableAllFeatures, orgemu.StateOpen, "", 10*24*time.Hour),
		orgHandshake("h-acceptedold001", orgemu.ActionInvite, orgemu.StateAccepted, "c@example.com", 20*24*time.Hour),
	}
	srv, f := orgFunction(t, append(seed, others...))
	rid := testkit.RequestID("org-sweep")
	rep := report(t, invoke(t, f, rid, []byte(`{}`)))
	if rep.Summary[handshake.OutcomeCancelled] != 46 || len(rep.Results) != 46 || rep.Failed() {
		t.Errorf("summary %v, %d results; want the 45 stale ones and the old REQUESTED one cancelled", rep.Summary, len(rep.Results))
	}
	for _, id := range append(stale, "h-requestedold01") {
		if s := srv.State(id); s != orgemu.StateCanceled && s != orgemu.StateCanceling {
			t.Errorf("%s is %s, want cancelled", id, s)
		}
	}
	for id, want := range map[string]string{"h-freshsweep0001": orgemu.StateOpen, "h-enableallold01": orgemu.StateOpen, "h-acceptedold001": orgemu.StateAccepted} {
		if s := srv.State(id); s != want {
			t.Errorf("%s is %s, want %s (left alone)", id, s, want)
		}
	}
	if n := srv.Stats().Calls["ListHandshakesForOrganization"]; n < 3 {
		t.Errorf("%d list calls, want every page of 20", n)
	}
	lines := resultLines(t, f, rid)
	if m := lines[stale[0]]; m[logging.FieldStatus] != "CANCELED" && m[logging.FieldStatus] != "CANCELING" || m[logging.FieldReason] != "stale" || m[logging.FieldTargetType] != "Account" {
		t.Errorf("result line %v: want the directory's status, reason stale, target_type Account", m)
	}
}

// Named IDs over SQS: each outcome of the table, retries on
// throttling, and an ID of the wrong shape never sent.
func TestOrganizationsSQSOutcomes(t *testing.T) {
	const (
		open, canceled, accepted = "h-sqsopen0000001", "h-sqscanceled001", "h-sqsaccepted001"
		missing, denied, slow    = "h-sqsmissing0001", "h-sqsdenied00001", "h-sqsthrottled01"
		invalid                  = "h-Ab12Cd34Ef56Gh78"
	)
	srv, f := orgFunction(t, []orgemu.Handshake{
		orgHandshake(open, orgemu.ActionInvite, orgemu.StateOpen, "111122223333", time.Hour),
		orgHandshake(canceled, orgemu.ActionInvite, orgemu.StateCanceled, "111122223334", time.Hour),
		orgHandshake(accepted, orgemu.ActionInvite, orgemu.StateAccepted, "111122223335", time.Hour),
		orgHandshake(denied, orgemu.ActionInvite, orgemu.StateOpen, "111122223336", time.Hour),
		orgHandshake(slow, orgemu.ActionInvite, orgemu.StateOpen, "111122223337", time.Hour),
	})
	if err := srv.FailNext(denied, "AccessDeniedException", -1); err != nil {
		t.Fatal(err)
	}
	srv.ThrottleNext(slow, 2)
	ids := []string{open, canceled, accepted, missing, denied, slow, invalid}
	var pairs []string
	for _, id := range ids {
		pairs = append(pairs, "m-"+id, id)
	}
	rid := testkit.RequestID("org-sqs")
	failures := batchItemFailures(t, invoke(t, f, rid, []byte(sqsEvent(pairs...))))
	slices.Sort(failures)
	if want := []string{"m-" + invalid, "m-" + denied}; !slices.Equal(failures, want) {
		t.Errorf("batchItemFailures %v, want %v (failed and invalid go back)", failures, want)
	}
	lines := resultLines(t, f, rid)
	for id, want := range map[string][3]string{ // outcome, error_code, attempts
		open:     {"cancelled", "", "1"},
		canceled: {"skipped", "HandshakeAlreadyInStateException", "1"},
		accepted: {"skipped", "InvalidHandshakeTransitionException", "1"},
		missing:  {"not_found", "HandshakeNotFoundException", "1"},
		denied:   {"failed", "AccessDeniedException", "1"},
		slow:     {"cancelled", "", "3"},
		invalid:  {"invalid", "", "0"},
	} {
		m := lines[id]
		got := [3]string{fmt.Sprint(m[logging.FieldOutcome]), fmt.Sprint(m[logging.FieldErrorCode]), fmt.Sprint(m[logging.FieldAttempts])}
		if got != want {
			t.Errorf("%s: outcome, error_code, attempts = %v, want %v", id, got, want)
		}
	}
	for _, c := range srv.Calls() {
		if c.HandshakeID == invalid {
			t.Errorf("the invalid ID was sent: %+v", c)
		}
	}
	if s := srv.State(open); s != orgemu.StateCanceled && s != orgemu.StateCanceling {
		t.Errorf("%s is %s", open, s)
	}
}

// inviteEvent is the sample invite event naming id.
func inviteEvent(t *testing.T, id string) []byte {
	return []byte(strings.ReplaceAll(string(testkit.ReadEvent(t, "aws-organizations-invite-event.json")), "h-0rgoutsider0001", id))
}

// The invite event: checked against the target policy at once, from the
// handshake's current record.
func TestOrganizationsInviteEvent(t *testing.T) {
	const forbidden, allowed, account, gone = "h-invforbidden01", "h-invallowed0001", "h-invaccount0001", "h-invaccepted001"
	seed := func() []orgemu.Handshake {
		return []orgemu.Handshake{
			orgHandshake(forbidden, orgemu.ActionInvite, orgemu.StateOpen, "jane.doe@example.org", time.Minute),
			orgHandshake(allowed, orgemu.ActionInvite, orgemu.StateOpen, "new.hire@example.com", time.Minute),
			orgHandshake(account, orgemu.ActionInvite, orgemu.StateOpen, "444455556666", time.Minute),
			orgHandshake(gone, orgemu.ActionInvite, orgemu.StateAccepted, "eve@example.org", time.Minute),
		}
	}
	type want struct{ outcome, reason, state string }
	cases := []struct {
		name string
		env  []string
		want map[string]want
	}{
		{"with a policy", []string{"ALLOWED_TARGETS=*@example.com,123456789012"}, map[string]want{
			forbidden: {"cancelled", "target_not_allowed", orgemu.StateCanceled},
			allowed:   {"skipped", "allowed", orgemu.StateOpen},
			account:   {"cancelled", "target_not_allowed", orgemu.StateCanceled},
			gone:      {"skipped", "target_not_allowed", orgemu.StateAccepted},
		}},
		{"no policy", nil, map[string]want{
			forbidden: {"skipped", "no_policy", orgemu.StateOpen},
		}},
		{"dry run", []string{"ALLOWED_TARGETS=*@example.com", "DRY_RUN=true"}, map[string]want{
			forbidden: {"dry_run", "target_not_allowed", orgemu.StateOpen},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, f := orgFunction(t, seed(), tc.env...)
			for id, w := range tc.want {
				rid := testkit.RequestID("org-invite")
				rep := report(t, invoke(t, f, rid, inviteEvent(t, id)))
				if len(rep.Results) != 1 || string(rep.Results[0].Outcome) != w.outcome || string(rep.Results[0].Reason) != w.reason {
					t.Errorf("%s: %+v, want %s (%s)", id, rep.Results, w.outcome, w.reason)
				}
				if s := srv.State(id); s != w.state && !(w.state == orgemu.StateCanceled && s == orgemu.StateCanceling) {
					t.Errorf("%s is %s, want %s", id, s, w.state)
				}
				if sum := testkit.SummaryLine(t, f.FunctionLines, rid); sum[logging.FieldTrigger] != "invite-event" {
					t.Errorf("summary line trigger %v, want invite-event", sum[logging.FieldTrigger])
				}
			}
		})
	}
}

// A sweep with a target policy cancels a fresh invitation to an outsider;
// the Alibaba Cloud secret is neither needed nor read.
func TestOrganizationsPolicySweep(t *testing.T) {
	srv, f := orgFunction(t, []orgemu.Handshake{
		orgHandshake("h-polfreshout001", orgemu.ActionInvite, orgemu.StateOpen, "jane.doe@example.org", time.Hour),
		orgHandshake("h-polfreshin0001", orgemu.ActionInvite, orgemu.StateOpen, "ops@example.com", time.Hour),
		orgHandshake("h-polfreshacc001", orgemu.ActionInvite, orgemu.StateOpen, "123456789012", time.Hour),
	}, "ALLOWED_TARGETS=*@example.com,123456789012",
		// The Alibaba Cloud secret is not read on Organizations: a read
		// would fail (nothing listens there) and stop start-up.
		"ALIBABA_CLOUD_CREDENTIALS_SECRET_ID=prod/janitor", "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:9")
	rep := report(t, invoke(t, f, testkit.RequestID("org-policy"), []byte(`{}`)))
	if len(rep.Results) != 1 || rep.Results[0].HandshakeID != "h-polfreshout001" || rep.Results[0].Reason != "target_not_allowed" || rep.Results[0].Outcome != handshake.OutcomeCancelled {
		t.Errorf("results %+v, want only the outsider cancelled", rep.Results)
	}
	if srv.State("h-polfreshin0001") != orgemu.StateOpen || srv.State("h-polfreshacc001") != orgemu.StateOpen {
		t.Error("an allowed invitation was cancelled")
	}
}

// A wrong secret is refused by the emulator's signature check: the
// function signs for real.
func TestOrganizationsWrongSecretFails(t *testing.T) {
	srv, f := orgFunction(t, []orgemu.Handshake{
		orgHandshake("h-wrongsecret001", orgemu.ActionInvite, orgemu.StateOpen, "111122223333", 10*24*time.Hour),
	}, "AWS_SECRET_ACCESS_KEY=not-the-secret-at-all")
	body := invoke(t, f, testkit.RequestID("org-secret"), []byte(`{}`))
	fe, ok := lambdarie.ParseError(body)
	if !ok || !strings.Contains(fe.Message, "InvalidSignatureException") {
		t.Errorf("answer %s: want a function error naming InvalidSignatureException", body)
	}
	if strings.Contains(string(body), "not-the-secret-at-all") || strings.Contains(f.Output(), "not-the-secret-at-all") {
		t.Error("the secret reached the answer or the logs")
	}
	if srv.State("h-wrongsecret001") != orgemu.StateOpen {
		t.Error("cancelled with a wrong secret")
	}
}

// Under DIRECTORY=resource-directory (the shared function) an invite event
// is refused with an error naming the directory it needs.
func TestInviteEventIsRefusedUnderResourceDirectory(t *testing.T) {
	body := invoke(t, fn, testkit.RequestID("rd-invite"), inviteEvent(t, "h-0rgoutsider0001"))
	fe, ok := lambdarie.ParseError(body)
	if !ok || !strings.Contains(fe.Message, "aws-organizations") {
		t.Errorf("answer %s: want an error naming aws-organizations", body)
	}
}

// sqsEvent is an SQS event of one record per messageId, body pair.
func sqsEvent(idBody ...string) string {
	var recs []string
	for i := 0; i+1 < len(idBody); i += 2 {
		recs = append(recs, fmt.Sprintf(`{"messageId":%q,"body":%q,"eventSource":"aws:sqs"}`, idBody[i], idBody[i+1]))
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}
