package janitor

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// MaxGlobBytes bounds a Glob.
const MaxGlobBytes = 256

// Glob is a validated path.Match pattern over an invitation's target
// entity, such as "*@example.com". The zero Glob matches every target.
type Glob struct {
	pattern string
}

// ParseGlob validates s as a Glob: a path.Match pattern (*, ?, [a-z] and \
// escapes) of at most MaxGlobBytes. The empty string is the zero Glob.
func ParseGlob(s string) (Glob, error) {
	if len(s) > MaxGlobBytes {
		return Glob{}, fmt.Errorf("%d bytes, over the limit of %d", len(s), MaxGlobBytes)
	}
	// path.Match checks the whole pattern even when the name does not
	// match, so this finds a malformed glob before any listing.
	if _, err := path.Match(s, ""); err != nil {
		return Glob{}, fmt.Errorf(`%s is not a valid glob: want *, ?, [a-z] and \ escapes, such as "*@example.com"`, handshake.Quote(s, 64))
	}
	return Glob{pattern: s}, nil
}

// String returns the pattern as written.
func (g Glob) String() string { return g.pattern }

// Match reports whether entity matches g; the zero Glob matches anything.
func (g Glob) Match(entity string) bool {
	if g.pattern == "" {
		return true
	}
	ok, _ := path.Match(g.pattern, entity)
	return ok
}

// selection is a Sweep resolved against the engine's settings: which
// listed invitations the sweep selects, and why.
type selection struct {
	cutoff       time.Time // created before this: stale
	targetType   handshake.TargetType
	targetEntity Glob
	allowed      targetpolicy.Policy // the target policy; empty: none
}

// selection resolves the zero fields of s to the engine's policy. It
// refuses a negative OlderThan, the one value of a Sweep that would widen
// what is selected.
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
		targetType:   s.TargetType,
		targetEntity: s.TargetEntity,
		allowed:      e.AllowedTargets,
	}
	if !s.AllowedTargets.Empty() {
		sel.allowed = s.AllowedTargets
	}
	return sel, nil
}

// selects is the sweep's one selection predicate: it returns why the sweep
// selects h, or "" when it does not. Only an open invitation is ever
// selected, and only within the target type and entity the sweep names, if
// any. Then a target the policy does not allow is the reason, whatever the
// invitation's age (the graver finding when it is stale too); otherwise it
// is selected when created before the cut-off ("older than" is strict: one
// exactly that old is kept; one of unknown age is not stale).
func (s selection) selects(h directory.Invitation) Reason {
	if !h.Open {
		return ""
	}
	if s.targetType != "" && h.TargetType != s.targetType {
		return ""
	}
	if !s.targetEntity.Match(h.Target) {
		return ""
	}
	if !s.allowed.Allowed(h.TargetType, h.Target) {
		return ReasonTargetNotAllowed
	}
	if !h.Created.IsZero() && h.Created.Before(s.cutoff) {
		return ReasonStale
	}
	return ""
}

// maxUnreadableNamed bounds how many unreadable listed records a sweep's
// warnings name one by one; the rest are counted.
const maxUnreadableNamed = 10

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
	unreadable := 0
	for h, err := range e.API.Invitations(ctx) {
		if bad, ok := errors.AsType[*handshake.RecordError](err); ok {
			// One unreadable record fails no sweep: it is reported and left
			// alone, and the rest are swept.
			listed++
			if unreadable++; unreadable <= maxUnreadableNamed {
				p.warnings = append(p.warnings, fmt.Sprintf("not swept: %s", bad.Error()))
			}
			continue
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			p.entries = nil
			return p, fmt.Errorf("janitor: sweep: %w after %d invitations; none was cancelled: %w", ErrListing, listed, err)
		}
		listed++
		// Pages can overlap when invitations change during the listing.
		reason := sel.selects(h)
		if reason == "" || seen[h.ID] {
			continue
		}
		seen[h.ID] = true
		en := e.newEntry(h.ID, reason, dry)
		en.res.Status = handshake.Status(h.Status)
		en.res.TargetType, en.res.TargetEntity = h.TargetType, showTarget(h.Target, e.LogTargets)
		p.entries = append(p.entries, en)
	}
	if unreadable > maxUnreadableNamed {
		p.warnings = append(p.warnings, fmt.Sprintf("not swept: %d more listed invitations could not be read", unreadable-maxUnreadableNamed))
	}
	return p, nil
}
