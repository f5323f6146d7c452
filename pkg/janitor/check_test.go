package janitor_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// orgDirectory is an Organizations client for a fresh emulator seeded
// with hs.
func orgDirectory(t *testing.T, hs ...orgemu.Handshake) (*orgemu.Server, *organizations.Client) {
	t.Helper()
	srv := orgemu.New(orgemu.Options{})
	if err := srv.Seed(hs...); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg, err := organizations.LoadConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := organizations.New(organizations.Options{Config: cfg, QPS: 1000, MaxAttempts: 3, BaseEndpoint: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func orgInvite(id, state, target string) orgemu.Handshake {
	typ := orgemu.PartyAccount
	if strings.Contains(target, "@") {
		typ = orgemu.PartyEmail
	}
	h := orgemu.Handshake{ID: id, State: state, Parties: []orgemu.Party{{ID: target, Type: typ}}, RequestedAt: time.Now().Add(-time.Minute)}
	if state != orgemu.StateOpen {
		h.FinishedAt = time.Now()
	}
	return h
}

// A checking Job decides from each invitation's current record: every
// invitation named ends in exactly one outcome, and only an open one the
// policy does not allow is cancelled.
func TestCheckDecidesFromTheCurrentRecord(t *testing.T) {
	policy, err := targetpolicy.Parse("*@example.com,123456789012", directory.AWSOrganizations)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		seed    *orgemu.Handshake
		id      string
		policy  targetpolicy.Policy
		dry     bool
		outcome handshake.Outcome
		reason  janitor.Reason
		state   string // the emulator's state after; "" for not seeded
		calls   int
	}{
		{"forbidden and open: cancelled", new(orgInvite("h-checkforbid01", orgemu.StateOpen, "eve@example.org")), "h-checkforbid01", policy, false,
			handshake.OutcomeCancelled, janitor.ReasonTargetNotAllowed, orgemu.StateCanceled, 2},
		{"forbidden account: cancelled", new(orgInvite("h-checkforbid02", orgemu.StateOpen, "999999999999")), "h-checkforbid02", policy, false,
			handshake.OutcomeCancelled, janitor.ReasonTargetNotAllowed, orgemu.StateCanceled, 2},
		{"forbidden, dry run: left open", new(orgInvite("h-checkdryrun01", orgemu.StateOpen, "eve@example.org")), "h-checkdryrun01", policy, true,
			handshake.OutcomeDryRun, janitor.ReasonTargetNotAllowed, orgemu.StateOpen, 1},
		{"allowed: left open", new(orgInvite("h-checkallowed1", orgemu.StateOpen, "new@example.com")), "h-checkallowed1", policy, false,
			handshake.OutcomeSkipped, janitor.ReasonAllowed, orgemu.StateOpen, 1},
		{"forbidden but accepted already: no cancel", new(orgInvite("h-checkaccept01", orgemu.StateAccepted, "eve@example.org")), "h-checkaccept01", policy, false,
			handshake.OutcomeSkipped, janitor.ReasonTargetNotAllowed, orgemu.StateAccepted, 1},
		{"allowed and declined", new(orgInvite("h-checkdecline1", orgemu.StateDeclined, "a@example.com")), "h-checkdecline1", policy, false,
			handshake.OutcomeSkipped, janitor.ReasonFinished, orgemu.StateDeclined, 1},
		{"no policy: no call", new(orgInvite("h-checknopol001", orgemu.StateOpen, "eve@example.org")), "h-checknopol001", targetpolicy.Policy{}, false,
			handshake.OutcomeSkipped, janitor.ReasonNoPolicy, orgemu.StateOpen, 0},
		{"not found", nil, "h-checkmissing1", policy, false, handshake.OutcomeNotFound, janitor.ReasonChecked, "", 1},
		{"invalid: no call", nil, "h-NOT-VALID", policy, false, handshake.OutcomeInvalid, janitor.ReasonChecked, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seed []orgemu.Handshake
			if tc.seed != nil {
				seed = append(seed, *tc.seed)
			}
			srv, c := orgDirectory(t, seed...)
			e := &janitor.Engine{API: c, AllowedTargets: tc.policy, DryRun: tc.dry, MaxCancellations: 10}
			rep, err := e.Run(context.Background(), janitor.Job{Check: true, Items: []janitor.Item{{Key: "ev", IDs: []string{tc.id}}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 1 || rep.Mode != janitor.ModeCheck {
				t.Fatalf("%d results in mode %q, want 1 in check", len(rep.Results), rep.Mode)
			}
			r := rep.Results[0]
			if r.Outcome != tc.outcome || r.Reason != tc.reason {
				t.Errorf("%+v: want %s, reason %s", r, tc.outcome, tc.reason)
			}
			if tc.state != "" && srv.State(tc.id) != tc.state {
				t.Errorf("the emulator says %s, want %s", srv.State(tc.id), tc.state)
			}
			if n := len(srv.Calls()); n != tc.calls || r.Attempts != tc.calls && r.Outcome != handshake.OutcomeInvalid {
				t.Errorf("%d calls, %d attempts; want %d", n, r.Attempts, tc.calls)
			}
			if rep.Items[0].Redeliver != r.Outcome.Redeliver() {
				t.Errorf("redeliver %v for %s", rep.Items[0].Redeliver, r.Outcome)
			}
		})
	}
}

// Resource Directory cannot read one invitation's record: a checking Job
// is refused as a whole, and its record goes back.
func TestCheckIsRefusedByADirectoryThatCannotDescribe(t *testing.T) {
	_, hs := testkit.Emulator(t, rmemu.Options{})
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{})}
	rep, err := e.Run(context.Background(), janitor.Job{Check: true, Items: []janitor.Item{{Key: "ev", IDs: []string{"h-Ab12Cd34Ef56Gh78"}}}})
	if err == nil || !strings.Contains(err.Error(), "resource-directory") || !strings.Contains(err.Error(), "aws-organizations") {
		t.Errorf("err = %v, want a refusal naming both directories", err)
	}
	if len(rep.Redeliver()) != 1 {
		t.Errorf("records to redeliver %v, want the event's", rep.Redeliver())
	}
}

// An ignored event (a failed call CloudTrail recorded) names no
// invitation: the Report is empty and says why.
func TestCheckOfAnIgnoredEventWarns(t *testing.T) {
	_, c := orgDirectory(t)
	rep, err := (&janitor.Engine{API: c}).Run(context.Background(), janitor.Job{Check: true, Warnings: []string{"ignored: why"}})
	if err != nil || len(rep.Results) != 0 || len(rep.Warnings) != 1 {
		t.Errorf("%+v, %v", rep, err)
	}
}

// MAX_CANCELLATIONS=0 allows no real cancellation on a check either: the
// Job is refused before any call, and its record goes back.
func TestCheckWithTheGuardAtZeroCallsNothing(t *testing.T) {
	srv, c := orgDirectory(t, orgInvite("h-checkguard001", orgemu.StateOpen, "eve@example.org"))
	policy, _ := targetpolicy.Parse("*@example.com", directory.AWSOrganizations)
	rep, err := (&janitor.Engine{API: c, AllowedTargets: policy}).Run(context.Background(),
		janitor.Job{Check: true, Items: []janitor.Item{{Key: "ev", IDs: []string{"h-checkguard001"}}}})
	if _, ok := errors.AsType[*janitor.GuardError](err); !ok || len(srv.Calls()) != 0 || srv.State("h-checkguard001") != orgemu.StateOpen || len(rep.Redeliver()) != 1 {
		t.Errorf("%v, %d calls, %+v: want the guard's refusal and no call", err, len(srv.Calls()), rep.Results)
	}
}
