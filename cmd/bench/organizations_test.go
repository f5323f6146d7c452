package main

import (
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// The Organizations row's figure is cancels per second of the stale
// invitations: the emulator it runs must hold exactly that many, every one
// an open invitation the janitor's default STALE_AFTER finds stale and that
// does not expire during the run.
func TestOrgSeedIsOnlyStaleOpenInvitations(t *testing.T) {
	def, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if def.StaleAfter != staleAfter {
		t.Fatalf("pkg/config's default STALE_AFTER is %v, the bench ages invitations against %v", def.StaleAfter, staleAfter)
	}
	const n = 500
	hs := orgSeed(n, 7)
	if len(hs) != n {
		t.Fatalf("%d handshakes, want %d", len(hs), n)
	}
	now := time.Now()
	ids := map[string]bool{}
	for _, h := range hs {
		ids[h.ID] = true
		switch {
		case h.Action != orgemu.ActionInvite || h.State != orgemu.StateOpen:
			t.Errorf("%s: %s %s, want an OPEN INVITE", h.ID, h.Action, h.State)
		case !h.RequestedAt.Before(now.Add(-staleAfter)):
			t.Errorf("%s requested %v ago: not stale at %v", h.ID, now.Sub(h.RequestedAt), staleAfter)
		case !h.ExpiresAt.After(now.Add(orgRunTimeout)):
			t.Errorf("%s expires at %v: within a run", h.ID, h.ExpiresAt)
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct IDs for %d handshakes", len(ids), n)
	}
}
