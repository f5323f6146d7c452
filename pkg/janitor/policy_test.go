package janitor_test

import (
	"context"
	"errors"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// policySeed: two fresh outsiders, one stale outsider, one stale and one
// fresh allowed invitation, and a final one to an outsider.
func policySeed() []handshake.Handshake {
	day := 24 * time.Hour
	h := func(id string, tt handshake.TargetType, entity string, age time.Duration, st handshake.Status) handshake.Handshake {
		return handshake.Handshake{HandshakeID: id, TargetType: tt, TargetEntity: entity, CreateTime: epoch.Add(-age), Status: st}
	}
	return []handshake.Handshake{
		h("h-PolOutsiderMail1", handshake.TargetEmail, "jane.doe@example.org", time.Hour, handshake.StatusPending),
		h("h-PolOutsiderAcct1", handshake.TargetAccount, "9999999999999999", time.Hour, handshake.StatusPending),
		h("h-PolStaleOutside1", handshake.TargetEmail, "former@example.net", 9*day, handshake.StatusPending),
		h("h-PolStaleAllowed1", handshake.TargetEmail, "old@example.com", 9*day, handshake.StatusPending),
		h("h-PolFreshAllowed1", handshake.TargetEmail, "New@Example.COM", time.Hour, handshake.StatusPending),
		h("h-PolAcceptedOut01", handshake.TargetEmail, "partner@example.org", time.Hour, handshake.StatusAccepted),
	}
}

// policyReasons is what a sweep under "*@example.com" selects of policySeed.
var policyReasons = map[string]janitor.Reason{
	"h-PolOutsiderMail1": janitor.ReasonTargetNotAllowed,
	"h-PolOutsiderAcct1": janitor.ReasonTargetNotAllowed,
	"h-PolStaleOutside1": janitor.ReasonTargetNotAllowed,
	"h-PolStaleAllowed1": janitor.ReasonStale,
}

func mustPolicy(t *testing.T, list string) targetpolicy.Policy {
	t.Helper()
	p, err := targetpolicy.Parse(list, directory.ResourceDirectory)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// policyEngine sweeps policySeed under "*@example.com" with a 7-day age.
func policyEngine(t *testing.T) (*janitor.Engine, *rmemu.Server) {
	t.Helper()
	emu, hs := emulator(t, rmemu.Options{}, policySeed()...)
	return &janitor.Engine{
		API:              testkit.Client(t, hs.URL, resourcemanager.Options{}),
		MaxCancellations: 100,
		StaleAfter:       7 * 24 * time.Hour,
		Now:              fixedClock,
		AllowedTargets:   mustPolicy(t, "*@example.com"),
	}, emu
}

// checkPolicyResults checks that rep holds exactly policyReasons, each with
// outcome want and its target (e-mail addresses redacted).
func checkPolicyResults(t *testing.T, rep janitor.Report, want handshake.Outcome) {
	t.Helper()
	targets := map[string]string{}
	for _, h := range policySeed() {
		targets[h.HandshakeID] = string(h.TargetType) + " " + targetpolicy.MaskTarget(h.TargetEntity)
	}
	got := byID(t, rep)
	if len(got) != len(policyReasons) {
		t.Errorf("selected %q, want %d invitations", ids(rep.Results), len(policyReasons))
	}
	for id, reason := range policyReasons {
		r := got[id]
		if r.Outcome != want || r.Reason != reason {
			t.Errorf("%s: outcome %q reason %q, want %q, %q", id, r.Outcome, r.Reason, want, reason)
		}
		if tgt := string(r.TargetType) + " " + r.TargetEntity; tgt != targets[id] {
			t.Errorf("%s: target %q, want %q", id, tgt, targets[id])
		}
	}
	checkSummary(t, rep)
}

func TestPolicySweepCancelsOutsidersWhateverTheirAgeAndStaleOnes(t *testing.T) {
	e, emu := policyEngine(t)
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	if err != nil {
		t.Fatal(err)
	}
	checkPolicyResults(t, rep, handshake.OutcomeCancelled)
	for _, h := range policySeed() {
		want := h.Status
		if _, ok := policyReasons[h.HandshakeID]; ok {
			want = handshake.StatusCancelled
		}
		testkit.WantStatus(t, emu, want, h.HandshakeID)
	}
}

func TestPolicySweepDryRunReportsWhatAndWhyAndCancelsNothing(t *testing.T) {
	e, emu := policyEngine(t)
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPolicyResults(t, rep, handshake.OutcomeDryRun)
	if n := len(cancelCalls(emu)); n != 0 {
		t.Errorf("a dry run made CancelHandshake calls for %d invitations", n)
	}
}

func TestPolicySweepGuardCountsEveryInvitationThePolicySelects(t *testing.T) {
	e, emu := policyEngine(t)
	e.MaxCancellations = 3 // one stale invitation alone would pass; the policy selects 4
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	var guard *janitor.GuardError
	if !errors.As(err, &guard) || guard.Selected != len(policyReasons) || guard.Limit != 3 {
		t.Fatalf("Run error = %v, want a GuardError counting %d selected over 3", err, len(policyReasons))
	}
	checkPolicyResults(t, rep, handshake.OutcomeDryRun)
	for _, r := range rep.Results {
		if r.ErrorCode != janitor.CodeMaxCancellationsExceeded {
			t.Errorf("%s: error code %q, want %s", r.HandshakeID, r.ErrorCode, janitor.CodeMaxCancellationsExceeded)
		}
	}
	if n := len(cancelCalls(emu)); n != 0 {
		t.Errorf("a refused sweep made CancelHandshake calls for %d invitations", n)
	}

	// A dry run over the limit is not refused: it warns.
	rep, err = e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}, DryRun: true})
	if err != nil || len(rep.Warnings) == 0 {
		t.Errorf("dry run over the guard: error %v, warnings %q; want none and a warning", err, rep.Warnings)
	}
}

func TestSweepAllowedTargetsReplacesTheConfiguredPolicy(t *testing.T) {
	e, _ := policyEngine(t)
	sweep := &janitor.Sweep{AllowedTargets: mustPolicy(t, "*@example.org, *@example.net, 9999999999999999")}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: sweep, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]janitor.Reason{
		"h-PolStaleOutside1": janitor.ReasonStale, // allowed now, still stale
		"h-PolStaleAllowed1": janitor.ReasonTargetNotAllowed,
		"h-PolFreshAllowed1": janitor.ReasonTargetNotAllowed,
	}
	got := byID(t, rep)
	if len(got) != len(want) {
		t.Errorf("selected %q, want %d", ids(rep.Results), len(want))
	}
	for id, reason := range want {
		if got[id].Reason != reason {
			t.Errorf("%s: reason %q, want %q", id, got[id].Reason, reason)
		}
	}
}

func TestNamedInvitationsAreCancelledWhateverThePolicyWithTheirTarget(t *testing.T) {
	e, _ := policyEngine(t)
	for _, show := range []bool{false, true} {
		e.LogTargets = show
		id := "h-PolFreshAllowed1"
		if show {
			id = "h-PolOutsiderMail1"
		}
		rep, err := e.Run(context.Background(), janitor.Job{Items: []janitor.Item{{Key: "m", IDs: []string{id, "not-an-id"}}}})
		if err != nil {
			t.Fatal(err)
		}
		got := byID(t, rep)
		r := got[id]
		wantEntity := map[bool]string{false: "n***@example.com", true: "jane.doe@example.org"}[show]
		if r.Outcome != handshake.OutcomeCancelled || r.Reason != janitor.ReasonNamed || r.TargetType != handshake.TargetEmail || r.TargetEntity != wantEntity {
			t.Errorf("LogTargets %v: %+v, want cancelled, named, Email %q", show, r, wantEntity)
		}
		if bad := got["not-an-id"]; bad.Outcome != handshake.OutcomeInvalid || bad.Reason != janitor.ReasonNamed {
			t.Errorf("invalid ID: outcome %q reason %q, want invalid, named", bad.Outcome, bad.Reason)
		}
	}
}
