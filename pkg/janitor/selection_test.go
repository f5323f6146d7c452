package janitor

import (
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// TestSelectsSaysWhyItSelectsAStalePendingInvitation checks the sweep's
// one predicate at its edges: strictly older than the age, Pending only,
// and within the target filters, with a reason for each selection.
func TestSelectsSaysWhyItSelectsAStalePendingInvitation(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := &Engine{Now: func() time.Time { return now }}
	pending := func(age time.Duration) handshake.Handshake {
		return handshake.Handshake{HandshakeID: "h-Select0000000001", Status: handshake.StatusPending,
			CreateTime: now.Add(-age), TargetType: handshake.TargetAccount, TargetEntity: "1000000000000001"}
	}
	tests := []struct {
		name   string
		sweep  Sweep
		h      handshake.Handshake
		picked bool
	}{
		{"older than the default age", Sweep{}, pending(DefaultStaleAfter + time.Second), true},
		{"exactly the age is kept", Sweep{}, pending(DefaultStaleAfter), false},
		{"younger", Sweep{}, pending(time.Hour), false},
		{"older than the sweep's own age", Sweep{OlderThan: time.Hour}, pending(2 * time.Hour), true},
		{"not Pending", Sweep{}, func() handshake.Handshake {
			h := pending(30 * 24 * time.Hour)
			h.Status = handshake.StatusAccepted
			return h
		}(), false},
		{"no creation time", Sweep{}, func() handshake.Handshake {
			h := pending(0)
			h.CreateTime = time.Time{}
			return h
		}(), false},
		{"other target type", Sweep{TargetType: handshake.TargetEmail}, pending(30 * 24 * time.Hour), false},
		{"target entity matches the glob", Sweep{TargetEntity: Glob{pattern: "1000*"}}, pending(30 * 24 * time.Hour), true},
		{"target entity does not match", Sweep{TargetEntity: Glob{pattern: "2000*"}}, pending(30 * 24 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := e.selection(tt.sweep)
			if err != nil {
				t.Fatal(err)
			}
			reason := sel.selects(resourcemanager.Invitation(tt.h))
			if (reason != "") != tt.picked {
				t.Errorf("selects = %q, want selected %v", reason, tt.picked)
			}
		})
	}
}
