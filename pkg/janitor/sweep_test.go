package janitor_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// staleSet seeds n stale Pending invitations.
func staleSet(n int) []handshake.Handshake {
	out := make([]handshake.Handshake, n)
	for i := range out {
		out[i] = invitation(testID(i), 10*24*time.Hour)
	}
	return out
}

func TestSweepOverTheGuardCancelsNoneAndFailsLoudly(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, staleSet(5)...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), MaxCancellations: 4, Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	var guard *janitor.GuardError
	if !errors.As(err, &guard) {
		t.Fatalf("Run error = %v, want a *GuardError", err)
	}
	if guard.Selected != 5 || guard.Limit != 4 {
		t.Errorf("GuardError = %+v, want Selected 5, Limit 4", guard)
	}
	if msg := err.Error(); !strings.Contains(msg, "5") || !strings.Contains(msg, "4") || !strings.Contains(msg, "MAX_CANCELLATIONS") {
		t.Errorf("error %q does not name the count, the limit and the setting", msg)
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("refused sweep made %d CancelHandshake calls, want 0", n)
	}
	checkSummary(t, rep)
	if len(rep.Results) != 5 || rep.Failed() {
		t.Errorf("Report = %+v: want the 5 selected listed, none failed (none was attempted)", rep.Summary)
	}
	for _, r := range rep.Results {
		if r.Outcome != handshake.OutcomeDryRun || r.ErrorCode != janitor.CodeMaxCancellationsExceeded {
			t.Errorf("%s: outcome %q code %q, want dry_run marked %s", r.HandshakeID, r.Outcome, r.ErrorCode, janitor.CodeMaxCancellationsExceeded)
		}
	}
	if len(rep.Warnings) == 0 {
		t.Error("no warning in the Report of a refused sweep")
	}
}

func TestSweepDryRunOverTheGuardReportsAllAndWarns(t *testing.T) {
	emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, staleSet(5)...)
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{}), MaxCancellations: 4, Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}, DryRun: true})
	if err != nil {
		t.Fatalf("a dry run was refused: %v", err)
	}
	if rep.Summary[handshake.OutcomeDryRun] != 5 || len(rep.Results) != 5 {
		t.Errorf("Summary = %+v, want 5 dry_run", rep.Summary)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "would be refused") || !strings.Contains(rep.Warnings[0], "5") {
		t.Errorf("Warnings = %q, want one saying a real run would be refused, with the count", rep.Warnings)
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("dry run made %d CancelHandshake calls, want 0", n)
	}
}

func TestSweepSelectsStalePendingByAgeTypeAndEntity(t *testing.T) {
	day := 24 * time.Hour
	seed := []handshake.Handshake{
		{HandshakeID: "h-Acct000000000old", CreateTime: epoch.Add(-10 * day), TargetEntity: "1000000000000001"},
		{HandshakeID: "h-Acct00000000mid0", CreateTime: epoch.Add(-4 * day), TargetEntity: "2000000000000002"},
		{HandshakeID: "h-Acct00000000new0", CreateTime: epoch.Add(-1 * day), TargetEntity: "1000000000000003"},
		{HandshakeID: "h-Mail000000000old", CreateTime: epoch.Add(-9 * day), TargetEntity: "ops@example.com"},
		{HandshakeID: "h-Mail00000000mid0", CreateTime: epoch.Add(-5 * day), TargetEntity: "dev@example.org"},
		{HandshakeID: "h-Edge0000000003d0", CreateTime: epoch.Add(-3 * day), TargetEntity: "1000000000000004"}, // exactly 3 days: not older than 72h
		{HandshakeID: "h-Done000000000old", CreateTime: epoch.Add(-10 * day), TargetEntity: "1000000000000005", Status: handshake.StatusAccepted},
		{HandshakeID: "h-Gone000000000exp", CreateTime: epoch.Add(-20 * day), TargetEntity: "1000000000000006"}, // past ExpireTime: Expired
	}
	tests := []struct {
		name  string
		sweep janitor.Sweep
		want  []string
	}{
		{"configured age (7 days)", janitor.Sweep{}, []string{"h-Acct000000000old", "h-Mail000000000old"}},
		{"olderThan 72h", janitor.Sweep{OlderThan: 72 * time.Hour}, []string{"h-Acct000000000old", "h-Acct00000000mid0", "h-Mail000000000old", "h-Mail00000000mid0"}},
		{"Email only", janitor.Sweep{OlderThan: 72 * time.Hour, TargetType: handshake.TargetEmail}, []string{"h-Mail000000000old", "h-Mail00000000mid0"}},
		{"entity glob", janitor.Sweep{OlderThan: 72 * time.Hour, TargetEntity: mustGlob(t, "*@example.com")}, []string{"h-Mail000000000old"}},
		{"entity glob on accounts", janitor.Sweep{OlderThan: 72 * time.Hour, TargetEntity: mustGlob(t, "1*")}, []string{"h-Acct000000000old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, seed...)
			e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), StaleAfter: 7 * day, Now: fixedClock}
			rep, err := e.Run(context.Background(), janitor.Job{Sweep: &tt.sweep})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := sorted(ids(rep.Results)); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("selected %q, want %q", got, sorted(tt.want))
			}
			for _, r := range rep.Results {
				if r.Outcome != handshake.OutcomeCancelled || r.Status != handshake.StatusCancelled {
					t.Errorf("%s: outcome %q status %q, want cancelled, Cancelled", r.HandshakeID, r.Outcome, r.Status)
				}
			}
			for _, h := range seed {
				selected := slices.Contains(tt.want, h.HandshakeID)
				if cancelled := emu.Status(h.HandshakeID) == handshake.StatusCancelled; cancelled != selected && h.Status != handshake.StatusCancelled {
					t.Errorf("%s: cancelled in the emulator = %v, selected = %v", h.HandshakeID, cancelled, selected)
				}
			}
		})
	}
}

func mustGlob(t *testing.T, s string) janitor.Glob {
	t.Helper()
	g, err := janitor.ParseGlob(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestParseGlob(t *testing.T) {
	for _, tc := range []struct {
		in, match, noMatch string
	}{
		{"", "anything@example.com", ""},
		{"*@example.com", "a@example.com", "a@example.org"},
		{"1000*", "1000000000000001", "2000000000000001"},
		{`a\*b`, "a*b", "axb"},
	} {
		g, err := janitor.ParseGlob(tc.in)
		if err != nil {
			t.Errorf("ParseGlob(%q): %v", tc.in, err)
			continue
		}
		if g.String() != tc.in || !g.Match(tc.match) || tc.noMatch != "" && g.Match(tc.noMatch) {
			t.Errorf("ParseGlob(%q) = %q: Match(%q) %v, Match(%q) %v", tc.in, g, tc.match, g.Match(tc.match), tc.noMatch, g.Match(tc.noMatch))
		}
	}
	for in, want := range map[string]string{
		"acct-[": `"acct-[" is not a valid glob: want *, ?, [a-z]`,
		`a\`:     "is not a valid glob",
		strings.Repeat("x", janitor.MaxGlobBytes+1): "257 bytes, over the limit of 256",
	} {
		if _, err := janitor.ParseGlob(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseGlob(%.20q) = %v, want an error saying %q", in, err, want)
		}
	}
}

// TestSweepRefusesANegativeAgeBeforeAnyCall: a negative OlderThan is the
// one Sweep value that would widen the selection (to every invitation).
func TestSweepRefusesANegativeAgeBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name  string
		sweep janitor.Sweep
		want  string
	}{
		{"negative age", janitor.Sweep{OlderThan: -time.Hour}, "olderThan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, hs := emulator(t, rmemu.Options{Clock: fixedClock}, staleSet(2)...)
			e := &janitor.Engine{MaxCancellations: 1000, API: testkit.Client(t, hs.URL, resourcemanager.Options{}), Now: fixedClock}
			rep, err := e.Run(context.Background(), janitor.Job{Sweep: &tt.sweep})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want one mentioning %q", err, tt.want)
			}
			if n := emu.Stats().Requests; n != 0 {
				t.Errorf("a refused policy made %d requests, want 0", n)
			}
			if len(rep.Results) != 0 {
				t.Errorf("Results = %+v, want none", rep.Results)
			}
		})
	}
}

func TestSweepCancelsNothingWhenTheListingFails(t *testing.T) {
	emu := rmemu.New(rmemu.Options{Clock: fixedClock})
	if err := emu.Seed(staleSet(150)...); err != nil { // two pages of 100
		t.Fatal(err)
	}
	hs := httptest.NewServer(failPages(emu, 2))
	defer hs.Close()
	e := &janitor.Engine{API: testkit.Client(t, hs.URL, resourcemanager.Options{MaxAttempts: 2}), MaxCancellations: 1000, Now: fixedClock}

	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	if !errors.Is(err, janitor.ErrListing) {
		t.Fatalf("Run error = %v, want ErrListing", err)
	}
	if resourcemanager.ErrorCode(err) != "ServiceUnavailable" {
		t.Errorf("ErrorCode(err) = %q, want the listing's cause ServiceUnavailable kept in the chain", resourcemanager.ErrorCode(err))
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("made %d CancelHandshake calls after a failed listing, want 0", n)
	}
	if len(rep.Results) != 0 || len(rep.Summary) != 0 {
		t.Errorf("Report = %+v, want empty", rep)
	}
}
