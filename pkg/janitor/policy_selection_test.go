package janitor

import (
	"fmt"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// TestSelectionTable runs the sweep's selection over every combination of
// status, age, target (Account and Email, matched exactly, by wildcard, in
// another case, or not at all) and policy (none, or one), against the
// contract: only Pending is ever selected; a target the policy does not
// allow is selected whatever its age (reason target_not_allowed, even when
// also stale); otherwise a stale one is (reason stale).
func TestSelectionTable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	policy, err := targetpolicy.Parse("*@example.com, *@*.corp.example.com, 1234567890123456", directory.ResourceDirectory)
	if err != nil {
		t.Fatal(err)
	}
	ages := []struct {
		name    string
		created time.Time
		stale   bool
	}{
		{"fresh", now.Add(-time.Hour), false},
		{"stale", now.Add(-10 * 24 * time.Hour), true},
		{"exactly at the limit", now.Add(-7 * 24 * time.Hour), false},
		{"unknown age", time.Time{}, false},
	}
	targets := []struct {
		tt      handshake.TargetType
		entity  string
		allowed bool // under policy
	}{
		{handshake.TargetAccount, "1234567890123456", true},
		{handshake.TargetAccount, "6543210987654321", false},
		{handshake.TargetEmail, "jane@example.com", true},
		{handshake.TargetEmail, "Jane.Doe@EXAMPLE.COM", true},
		{handshake.TargetEmail, "ops@eu.corp.example.com", true},
		{handshake.TargetEmail, "ops@corp.example.com", false}, // neither the domain nor a subdomain of corp.example.com
		{handshake.TargetEmail, "x@evilexample.com", false},
		{handshake.TargetEmail, "jane@example.org", false},
		{handshake.TargetEmail, "1234567890123456", false}, // an account ID pattern never matches an Email target
		{handshake.TargetAccount, "jane@example.com", false},
	}
	statuses := []handshake.Status{handshake.StatusPending, handshake.StatusAccepted, handshake.StatusCancelled, handshake.StatusDeclined, handshake.StatusExpired}
	policies := []struct {
		name string
		p    targetpolicy.Policy
	}{{"no policy", targetpolicy.Policy{}}, {"policy", policy}}

	n := 0
	for _, st := range statuses {
		for _, age := range ages {
			for _, tg := range targets {
				for _, pol := range policies {
					h := handshake.Handshake{HandshakeID: "h-Table00000000001", Status: st, CreateTime: age.created, TargetType: tg.tt, TargetEntity: tg.entity}
					e := &Engine{Now: func() time.Time { return now }, StaleAfter: 7 * 24 * time.Hour, AllowedTargets: pol.p}
					sel, err := e.selection(Sweep{})
					if err != nil {
						t.Fatal(err)
					}
					var want Reason
					switch {
					case st != handshake.StatusPending:
					case !pol.p.Empty() && !tg.allowed:
						want = ReasonTargetNotAllowed
					case age.stale:
						want = ReasonStale
					}
					if got := sel.selects(resourcemanager.Invitation(h)); got != want {
						t.Errorf("%s, %s, %s %q, %s: selects = %q, want %q", st, age.name, tg.tt, tg.entity, pol.name, got, want)
					}
					n++
				}
			}
		}
	}
	if n != len(statuses)*len(ages)*len(targets)*len(policies) {
		t.Fatalf("ran %d cases", n)
	}
}

// The scope filters (targetType, targetEntity) narrow what the policy
// applies to: an outsider out of scope is left alone.
func TestSelectionScopeComesBeforeThePolicy(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	policy, _ := targetpolicy.Parse("*@example.com", directory.ResourceDirectory)
	fresh := now.Add(-time.Hour)
	tests := []struct {
		sel  selection
		h    handshake.Handshake
		want Reason
	}{
		{selection{targetType: handshake.TargetEmail, allowed: policy},
			handshake.Handshake{Status: handshake.StatusPending, CreateTime: fresh, TargetType: handshake.TargetAccount, TargetEntity: "6543210987654321"}, ""},
		{selection{targetType: handshake.TargetEmail, allowed: policy},
			handshake.Handshake{Status: handshake.StatusPending, CreateTime: fresh, TargetType: handshake.TargetEmail, TargetEntity: "x@example.org"}, ReasonTargetNotAllowed},
		{selection{targetEntity: Glob{pattern: "*@example.net"}, allowed: policy},
			handshake.Handshake{Status: handshake.StatusPending, CreateTime: fresh, TargetType: handshake.TargetEmail, TargetEntity: "x@example.org"}, ""},
		{selection{targetEntity: Glob{pattern: "*@example.org"}, allowed: policy},
			handshake.Handshake{Status: handshake.StatusPending, CreateTime: fresh, TargetType: handshake.TargetEmail, TargetEntity: "x@example.org"}, ReasonTargetNotAllowed},
	}
	for i, tc := range tests {
		tc.sel.cutoff = now.Add(-7 * 24 * time.Hour)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := tc.sel.selects(resourcemanager.Invitation(tc.h)); got != tc.want {
				t.Errorf("selects(%s %q) in scope %q/%q = %q, want %q", tc.h.TargetType, tc.h.TargetEntity, tc.sel.targetType, tc.sel.targetEntity, got, tc.want)
			}
		})
	}
}
