package janitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// entry is one distinct invitation of a Job while the engine works on it.
type entry struct {
	id      directory.ID // valid ID; empty when the input failed validation
	res     Result
	done    bool
	refused bool // the guard refused it: a record naming it goes back
	check   bool // decide from the invitation's record (Job.Check)
}

// plan is what a Job resolves to before any cancellation: the distinct
// invitations in order, and which records named which of them.
type plan struct {
	// mayRepeat: some record is not known to be on its first delivery.
	mayRepeat bool
	entries   []*entry
	items     []ItemReport
	itemIdx   [][]int // for items[i], the indexes in entries of its IDs
	warnings  []string
}

// plan validates the Job and resolves it to distinct entries. Entries that
// need no call (invalid, dry run, refused) are done when plan returns.
func (e *Engine) plan(ctx context.Context, job Job, dry bool) (plan, error) {
	if e.API == nil {
		return refuse(job, errors.New("janitor: Engine.API is nil"))
	}
	if e.Concurrency < 0 || e.MaxCancellations < 0 || e.StaleAfter < 0 {
		return refuse(job, fmt.Errorf("janitor: negative engine setting (Concurrency %d, MaxCancellations %d, StaleAfter %s): want zero (default) or more",
			e.Concurrency, e.MaxCancellations, e.StaleAfter))
	}
	if job.Sweep != nil && (len(job.Items) > 0 || job.Check) {
		return refuse(job, errors.New("janitor: a Job either names invitations (Items, perhaps to Check) or asks for a sweep, not both"))
	}
	if job.Check {
		if _, ok := e.API.(directory.Describer); !ok {
			k := e.API.Kind()
			return refuse(job, fmt.Errorf("janitor: checking invitations against the target policy needs their current record, which the directory %s (%s) cannot read: invite events come from %s",
				k.Name, k.Title, directory.AWSOrganizations.Name))
		}
		p := e.planItems(job.Items, ReasonChecked, dry)
		p.check(!e.AllowedTargets.Empty())
		return p, p.guardNamed(e.MaxCancellations, dry)
	}
	if job.Sweep == nil {
		p := e.planItems(job.Items, ReasonNamed, dry)
		return p, p.guardNamed(e.MaxCancellations, dry)
	}
	p, err := e.planSweep(ctx, *job.Sweep, dry)
	if err != nil {
		return p, err
	}
	return p, p.guard(e.MaxCancellations, dry)
}

// refuse is the plan of a Job refused as a whole: every record goes back.
func refuse(job Job, err error) (plan, error) {
	var p plan
	for _, it := range job.Items {
		p.items = append(p.items, ItemReport{Key: it.Key, Redeliver: true, Err: errors.Join(it.Err, err)})
		p.itemIdx = append(p.itemIdx, nil)
	}
	return p, err
}

// planItems validates and deduplicates the IDs the records name, in order of
// first appearance, each selected for reason.
func (e *Engine) planItems(items []Item, reason Reason, dry bool) plan {
	var p plan
	byRaw := make(map[string]int)
	for _, it := range items {
		if it.Err == nil && it.Deliveries != 1 {
			p.mayRepeat = true
		}
		ir := ItemReport{Key: it.Key, Err: it.Err, Redeliver: it.Err != nil}
		var idx []int
		if it.Err == nil {
			seen := make(map[int]bool, len(it.IDs))
			for _, raw := range it.IDs {
				i, ok := byRaw[raw]
				if !ok {
					i = len(p.entries)
					byRaw[raw] = i
					p.entries = append(p.entries, e.newEntry(raw, reason, dry))
				}
				if !seen[i] {
					seen[i] = true
					idx = append(idx, i)
					ir.HandshakeIDs = append(ir.HandshakeIDs, p.entries[i].res.HandshakeID)
				}
			}
		}
		p.items = append(p.items, ir)
		p.itemIdx = append(p.itemIdx, idx)
	}
	return p
}

// check marks the valid entries of a checking Job: each is decided from
// its record, by the worker that reads it, dry run or not (reading costs
// nothing). Without a target policy there is nothing to decide: each is
// skipped with ReasonNoPolicy, and no call is made.
func (p *plan) check(policy bool) {
	for _, en := range p.entries {
		if en.id == "" {
			continue
		}
		en.check, en.done = policy, !policy
		en.res.Outcome = ""
		if !policy {
			en.res.Outcome, en.res.Reason = handshake.OutcomeSkipped, ReasonNoPolicy
		}
	}
}

// newEntry validates raw with the directory's ParseID, selected for
// reason. An invalid ID is done: it costs no API call.
func (e *Engine) newEntry(raw string, reason Reason, dry bool) *entry {
	id, err := e.API.ParseID(raw)
	if err != nil {
		return &entry{done: true, res: Result{
			HandshakeID: displayID(raw),
			Outcome:     handshake.OutcomeInvalid,
			Reason:      reason,
			Error:       err.Error(),
		}}
	}
	en := &entry{id: id, res: Result{HandshakeID: id.String(), Reason: reason}}
	if dry {
		en.done = true
		en.res.Outcome = handshake.OutcomeDryRun
	}
	return en
}

// displayID bounds what an invalid input puts into a Result and a log line:
// a record can hold megabytes where an ID belongs.
func displayID(raw string) string {
	return handshake.Cut(raw, 64)
}

// guard is the blast-radius guard: a real sweep that selected more than
// limit invitations cancels none of them, and the *GuardError makes the
// invocation fail loudly.
func (p *plan) guard(limit int, dry bool) error {
	selected := len(p.entries)
	if selected <= limit {
		return nil
	}
	if dry {
		// A dry run is never refused: it is how an operator reviews what a
		// real run would do.
		p.warnings = append(p.warnings, fmt.Sprintf("a real run would be refused: the sweep selected %d invitations, more than the limit of %d (MAX_CANCELLATIONS)", selected, limit))
		return nil
	}
	err := &GuardError{Selected: selected, Limit: limit}
	p.refuseAll(err)
	return err
}

// guardNamed is the guard of a Job that names invitations: the limit holds
// for sweeps only, except a limit of zero, which means no real
// cancellation at all. Then a real Job naming at least one valid
// invitation cancels none: each is reported as the sweep guard reports
// them, and every record that named one goes back to its queue.
func (p *plan) guardNamed(limit int, dry bool) error {
	if limit > 0 || dry {
		return nil
	}
	named := 0
	for _, en := range p.entries {
		if !en.done {
			named++
		}
	}
	if named == 0 {
		return nil
	}
	err := &GuardError{Selected: named, Limit: limit, Named: true}
	p.refuseAll(err)
	return err
}

// refuseAll marks every entry that would have been cancelled as refused by
// the guard: not attempted, so not failed, but dry_run with the guard's
// code. The Report carries err as a warning.
func (p *plan) refuseAll(err *GuardError) {
	for _, en := range p.entries {
		if en.done {
			continue
		}
		en.done = true
		en.res.Outcome = handshake.OutcomeDryRun
		en.res.ErrorCode = CodeMaxCancellationsExceeded
		en.res.Error = err.notCancelled()
		en.refused = true
	}
	p.warnings = append(p.warnings, err.Error())
}

// report assembles the Report from the plan's entries.
func (p plan) report() Report {
	rep := Report{Summary: Summary{}, Results: make([]Result, 0, len(p.entries)), Warnings: p.warnings}
	for _, en := range p.entries {
		rep.Results = append(rep.Results, en.res)
		rep.Summary.add(en.res.Outcome)
	}
	for i, ir := range p.items {
		for _, j := range p.itemIdx[i] {
			if p.entries[j].res.Outcome.Redeliver() || p.entries[j].refused {
				ir.Redeliver = true
			}
		}
		rep.Items = append(rep.Items, ir)
	}
	return rep
}
