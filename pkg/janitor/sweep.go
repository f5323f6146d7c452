package janitor

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// selection is a Sweep resolved against the engine's settings: which
// listed invitations the sweep selects, and why.
type selection struct {
	cutoff       time.Time // created before this: stale
	targetType   handshake.TargetType
	targetEntity string // a path.Match glob; empty: any
	stale        string // the reason a stale invitation is selected
}

// selection checks s and resolves its zero fields to the engine's policy.
func (e *Engine) selection(s Sweep) (selection, error) {
	olderThan := s.OlderThan
	if olderThan == 0 {
		olderThan = e.staleAfter()
	}
	if olderThan < 0 {
		return selection{}, fmt.Errorf("janitor: sweep olderThan %s is negative: want a positive duration", olderThan)
	}
	sel := selection{
		cutoff:       e.now().Add(-olderThan),
		targetEntity: s.TargetEntity,
		stale:        fmt.Sprintf("stale: Pending and created more than %s ago", olderThan),
	}
	if s.TargetType != "" {
		tt, err := handshake.ParseTargetType(string(s.TargetType))
		if err != nil {
			return selection{}, fmt.Errorf("janitor: sweep: %w", err)
		}
		sel.targetType = tt
	}
	if s.TargetEntity != "" {
		// path.Match checks the whole pattern even when the name does not
		// match, so this finds a malformed glob before any listing.
		if _, err := path.Match(s.TargetEntity, ""); err != nil {
			return selection{}, fmt.Errorf("janitor: sweep targetEntity %s is not a valid glob (*, ?, [a-z], \\ escapes): %w",
				handshake.Quote(s.TargetEntity, 80), err)
		}
	}
	return sel, nil
}

// selects is the sweep's one selection predicate: it returns why the sweep
// selects h, or "" when it does not. Today an invitation is selected when
// it is Pending and was created before the cut-off ("older than" is strict:
// one exactly that old is kept), within the target type and entity the
// sweep names, if any. Another condition is one more clause here, with a
// reason of its own.
func (s selection) selects(h handshake.Handshake) (reason string) {
	if h.Status != handshake.StatusPending || h.CreateTime.IsZero() || !h.CreateTime.Before(s.cutoff) {
		return ""
	}
	if s.targetType != "" && h.TargetType != s.targetType {
		return ""
	}
	if s.targetEntity != "" {
		if ok, _ := path.Match(s.targetEntity, h.TargetEntity); !ok {
			return ""
		}
	}
	return s.stale
}

// planSweep lists the directory's invitations page by page and keeps only
// the selected ones, so memory stays flat however many there are.
//
// A listing that fails part-way cancels nothing: cancelling the part seen
// would make the outcome depend on where the failure fell, and the error
// makes the platform retry the whole sweep, which is idempotent.
func (e *Engine) planSweep(ctx context.Context, s Sweep, dry bool) (plan, error) {
	var p plan
	sel, err := e.selection(s)
	if err != nil {
		return p, err
	}
	seen := make(map[string]bool)
	listed := 0
	for h, err := range e.API.Handshakes(ctx) {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			p.entries = nil
			return p, fmt.Errorf("janitor: sweep: %w after %d invitations; none was cancelled: %w", ErrListing, listed, err)
		}
		listed++
		// Pages can overlap when invitations change during the listing.
		if sel.selects(h) == "" || seen[h.HandshakeID] {
			continue
		}
		seen[h.HandshakeID] = true
		en := newEntry(h.HandshakeID, dry)
		en.res.Status = h.Status
		p.entries = append(p.entries, en)
	}
	return p, nil
}
