package janitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// ListingPage is how many invitations one page of the directory's listing
// holds: one call answers for up to this many.
const ListingPage = 100

// skipFinished spares a redelivered Job the calls its earlier deliveries
// already made. When a record of the Job is not known to be on its first
// delivery and more than ListingPage invitations are left to cancel, it
// lists the directory, at most one page for every two invitations left
// (so the lookup never costs more than half the calls it could save), and
// stops as soon as it has seen them all. Each named invitation the listing
// shows in a final status (its status cannot change again) is done without
// a call: skipped, as a 409 would have made it. A listing that fails only
// ends the lookup; the calls are made as before.
func (e *Engine) skipFinished(ctx context.Context, p *plan) {
	if !p.mayRepeat {
		return
	}
	todo := make(map[string]*entry)
	for _, en := range p.entries {
		if !en.done && !en.check {
			todo[en.id.String()] = en
		}
	}
	if len(todo) <= ListingPage {
		return
	}
	maxListed := (len(todo) + 1) / 2 * ListingPage
	listed := 0
	for h, err := range e.API.Invitations(ctx) {
		if _, bad := errors.AsType[*handshake.RecordError](err); bad {
			listed++
			continue
		}
		if err != nil {
			p.warnings = append(p.warnings, fmt.Sprintf("the lookup of finished invitations stopped after %d listed: %s", listed, handshake.Cut(err.Error(), 200)))
			break
		}
		listed++
		if en, ok := todo[h.ID]; ok {
			delete(todo, h.ID)
			if !h.Open {
				en.done = true
				en.res.Outcome = handshake.OutcomeSkipped
				en.res.Status = handshake.Status(h.Status)
				en.res.Error = fmt.Sprintf("not called: the listing shows it %s, already final", h.Status)
			}
		}
		if len(todo) == 0 || listed >= maxListed {
			break
		}
	}
}
