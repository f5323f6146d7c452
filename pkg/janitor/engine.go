package janitor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// API is the part of the Resource Manager client the engine uses.
// *resourcemanager.Client implements it.
type API interface {
	CancelHandshake(ctx context.Context, id handshake.ID) (resourcemanager.Result, error)
	Handshakes(ctx context.Context) iter.Seq2[handshake.Handshake, error]
}

var _ API = (*resourcemanager.Client)(nil)

// Defaults for the zero fields of an Engine. They match the README's
// configuration defaults.
const (
	DefaultConcurrency      = 4
	DefaultMaxCancellations = 100
	DefaultStaleAfter       = 7 * 24 * time.Hour
	// DefaultSafetyMargin is three times the default per-attempt timeout
	// (5s): enough for one attempt and its retry to finish.
	DefaultSafetyMargin = 15 * time.Second
)

// Error codes the engine itself puts in Results.
const (
	// CodeDeadlineExceeded: the invocation's deadline came before the
	// invitation was finished; the platform should redeliver it.
	CodeDeadlineExceeded = "DeadlineExceeded"
	// CodeCanceled: the invocation was cancelled before the invitation was
	// finished.
	CodeCanceled = "Canceled"
	// CodeMaxCancellationsExceeded marks the invitations of a sweep that the
	// blast-radius guard refused: none was cancelled.
	CodeMaxCancellationsExceeded = "MaxCancellationsExceeded"
)

// ErrListing is wrapped by the error Run returns when a sweep could not list
// the directory's invitations to the end.
var ErrListing = errors.New("listing invitations failed")

// Engine runs Jobs. Zero fields take the defaults above; an Engine is safe
// for concurrent use by several Runs once set up.
type Engine struct {
	API API

	// Concurrency is the most CancelHandshake calls in flight at once. The
	// API client's rate limiter paces them further.
	Concurrency int
	// MaxCancellations is the blast-radius guard: a real sweep that selects
	// more invitations than this cancels none and fails.
	MaxCancellations int
	// DryRun reports what would be cancelled and cancels nothing.
	DryRun bool
	// StaleAfter is the sweep's default age: a Pending invitation created
	// longer ago than this is stale.
	StaleAfter time.Duration
	// SafetyMargin: no cancellation starts when less than this is left
	// before the context's deadline. Set it to a few per-attempt timeouts.
	SafetyMargin time.Duration
	// Now is the clock sweeps measure age from; default time.Now.
	Now func() time.Time
}

// entry is one distinct invitation of a Job while the engine works on it.
type entry struct {
	id       handshake.ID // valid ID; empty when the input failed validation
	res      Result
	done     bool
	duration time.Duration
}

// plan is what a Job resolves to before any cancellation: the distinct
// invitations in order, and which records named which of them.
type plan struct {
	entries  []*entry
	items    []ItemReport
	itemIdx  [][]int // for items[i], the indexes in entries of its IDs
	warnings []string
}

// Run carries out job and reports one Result per distinct invitation.
//
// The returned error is non-nil only when the Job as a whole was refused or
// could not be worked out: the engine's settings or the sweep's are invalid,
// the sweep's listing failed (nothing is cancelled then), or the guard
// refused the sweep (*GuardError). Per-invitation failures are Results, not
// errors: check Report.Failed. The Report is meaningful in every case.
//
// When ctx has a deadline, Run returns before it: no cancellation starts with
// less than SafetyMargin left, calls are cut off a little before the
// deadline, and every invitation not finished is failed with error code
// DeadlineExceeded. When ctx is cancelled (an interrupted CLI run), no new
// cancellation starts, the calls in flight get up to SafetyMargin to finish,
// and the rest are failed with error code Canceled.
func (e *Engine) Run(ctx context.Context, job Job) (Report, error) {
	start := time.Now()
	dry := e.DryRun || job.DryRun
	margin := e.safetyMargin()

	listCtx, cancelList := deadlineContext(ctx, ctx, margin)
	defer cancelList()
	// Cancellations run on a context that an interruption does not end: an
	// interrupted Run starts nothing new but lets the calls in flight
	// finish (cancelAll bounds how long), so that what the service did is
	// what the Report says.
	callCtx, cancelCalls := deadlineContext(context.WithoutCancel(ctx), ctx, margin)
	defer cancelCalls()

	p, err := e.plan(listCtx, job, dry)
	if err != nil {
		rep := p.report()
		logItems(ctx, rep.Items)
		logResults(ctx, rep.Results, nil)
		logSummary(ctx, rep, job, dry, time.Since(start), err)
		return rep, err
	}

	var todo []int
	for i, en := range p.entries {
		if !en.done {
			todo = append(todo, i)
		}
	}
	e.cancelAll(ctx, callCtx, cancelCalls, p.entries, todo, margin)

	rep := p.report()
	logItems(ctx, rep.Items)
	logResults(ctx, rep.Results, p.entries)
	logSummary(ctx, rep, job, dry, time.Since(start), nil)
	return rep, nil
}

// plan validates the Job and resolves it to distinct entries. Entries that
// need no call (invalid, dry run, refused) are done when plan returns.
func (e *Engine) plan(ctx context.Context, job Job, dry bool) (plan, error) {
	if e.API == nil {
		return refuse(job, errors.New("janitor: Engine.API is nil"))
	}
	if e.Concurrency < 0 || e.MaxCancellations < 0 || e.StaleAfter < 0 || e.SafetyMargin < 0 {
		return refuse(job, fmt.Errorf("janitor: negative engine setting (Concurrency %d, MaxCancellations %d, StaleAfter %s, SafetyMargin %s): want zero (default) or more",
			e.Concurrency, e.MaxCancellations, e.StaleAfter, e.SafetyMargin))
	}
	if job.Sweep == nil {
		return planItems(job.Items, dry), nil
	}
	if len(job.Items) > 0 {
		return refuse(job, errors.New("janitor: a Job either names invitations (Items) or asks for a sweep, not both"))
	}
	return e.planSweep(ctx, *job.Sweep, dry)
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
// first appearance.
func planItems(items []Item, dry bool) plan {
	var p plan
	byRaw := make(map[string]int)
	for _, it := range items {
		ir := ItemReport{Key: it.Key, Err: it.Err, Redeliver: it.Err != nil}
		var idx []int
		if it.Err == nil {
			seen := make(map[int]bool, len(it.IDs))
			for _, raw := range it.IDs {
				i, ok := byRaw[raw]
				if !ok {
					i = len(p.entries)
					byRaw[raw] = i
					p.entries = append(p.entries, newEntry(raw, dry))
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

// newEntry validates raw. An invalid ID is done: it costs no API call.
func newEntry(raw string, dry bool) *entry {
	id, err := handshake.ParseID(raw)
	if err != nil {
		return &entry{done: true, res: Result{
			HandshakeID: displayID(raw),
			Outcome:     handshake.OutcomeInvalid,
			Error:       err.Error(),
		}}
	}
	en := &entry{id: id, res: Result{HandshakeID: id.String()}}
	if dry {
		en.done = true
		en.res.Outcome = handshake.OutcomeDryRun
	}
	return en
}

// displayID bounds what an invalid input puts into a Result and a log line:
// a record can hold megabytes where an ID belongs.
func displayID(raw string) string {
	const max = 64
	if len(raw) <= max {
		return raw
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return raw[:cut] + "..."
}

// planSweep lists the directory's invitations page by page and keeps only
// the selected ones, so memory stays flat however many there are.
//
// A listing that fails part-way cancels nothing: cancelling the part seen
// would make the outcome depend on where the failure fell, and the error
// makes the platform retry the whole sweep, which is idempotent.
func (e *Engine) planSweep(ctx context.Context, s Sweep, dry bool) (plan, error) {
	var p plan
	olderThan := s.OlderThan
	if olderThan == 0 {
		olderThan = e.staleAfter()
	}
	if olderThan < 0 {
		return p, fmt.Errorf("janitor: sweep olderThan %s is negative: want a positive duration", olderThan)
	}
	var targetType handshake.TargetType
	if s.TargetType != "" {
		tt, err := handshake.ParseTargetType(string(s.TargetType))
		if err != nil {
			return p, fmt.Errorf("janitor: sweep: %w", err)
		}
		targetType = tt
	}
	if s.TargetEntity != "" {
		// path.Match checks the whole pattern even when the name does not
		// match, so this finds a malformed glob before any listing.
		if _, err := path.Match(s.TargetEntity, ""); err != nil {
			return p, fmt.Errorf("janitor: sweep targetEntity %s is not a valid glob (*, ?, [a-z], \\ escapes): %w",
				handshake.Quote(s.TargetEntity, 80), err)
		}
	}
	cutoff := e.now().Add(-olderThan)

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
		if h.Status != handshake.StatusPending || h.CreateTime.IsZero() || !h.CreateTime.Before(cutoff) {
			continue
		}
		if targetType != "" && h.TargetType != targetType {
			continue
		}
		if s.TargetEntity != "" {
			if ok, _ := path.Match(s.TargetEntity, h.TargetEntity); !ok {
				continue
			}
		}
		// Pages can overlap when invitations change during the listing.
		if seen[h.HandshakeID] {
			continue
		}
		seen[h.HandshakeID] = true
		en := newEntry(h.HandshakeID, dry)
		en.res.Status = h.Status
		p.entries = append(p.entries, en)
	}

	selected := len(p.entries)
	limit := e.maxCancellations()
	if selected <= limit {
		return p, nil
	}
	guard := &GuardError{Selected: selected, Limit: limit}
	if dry {
		// A dry run is never refused: it is how an operator reviews what a
		// real run would do.
		p.warnings = append(p.warnings, fmt.Sprintf("a real run would be refused: the sweep selected %d invitations, more than the limit of %d (MAX_CANCELLATIONS)", selected, limit))
		return p, nil
	}
	// Refused: nothing was attempted, so the selected invitations are not
	// failed; they are reported as what would have been cancelled, marked
	// with the guard's code, and the error makes the invocation fail loudly.
	for _, en := range p.entries {
		if en.done {
			continue
		}
		en.done = true
		en.res.Outcome = handshake.OutcomeDryRun
		en.res.ErrorCode = CodeMaxCancellationsExceeded
		en.res.Error = fmt.Sprintf("not cancelled: the sweep selected %d invitations, more than the limit of %d", selected, limit)
	}
	p.warnings = append(p.warnings, guard.Error())
	return p, guard
}

// cancelAll calls CancelHandshake for entries[todo...] with at most
// Concurrency calls in flight, and returns before ctx's deadline: when
// callCtx ends, calls still in flight get a short grace to return, and
// whatever is not finished then is failed. When ctx is cancelled (SIGINT, or
// the platform giving up), no new call starts and the calls in flight get up
// to the safety margin to finish before cancelCalls cuts them off.
func (e *Engine) cancelAll(ctx, callCtx context.Context, cancelCalls context.CancelFunc, entries []*entry, todo []int, margin time.Duration) {
	if len(todo) == 0 {
		return
	}
	type done struct {
		k        int
		res      Result
		duration time.Duration
	}
	// Workers read only this copy: a worker abandoned after the hard stop
	// may still run while the collector writes the entries.
	type call struct {
		id   handshake.ID
		base Result
	}
	calls := make([]call, len(todo))
	for k, i := range todo {
		calls[k] = call{id: entries[i].id, base: entries[i].res}
	}
	// Buffered for every call, so that an abandoned worker never blocks on
	// its send.
	results := make(chan done, len(todo))
	var next atomic.Int64
	workers := min(e.concurrency(), len(todo))
	for range workers {
		go func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(calls) {
					return
				}
				c := calls[k]
				if code, why := tooLate(ctx, callCtx, margin); code != "" {
					results <- done{k: k, res: notFinished(c.base, code, why)}
					continue
				}
				t0 := time.Now()
				res, err := e.API.CancelHandshake(callCtx, c.id)
				results <- done{k: k, res: classify(ctx, callCtx, c.base, res, err), duration: time.Since(t0)}
			}
		}()
	}

	// With a deadline, the hard stop is fixed in advance (halfway through
	// the reserve before the deadline) rather than counted from the
	// cut-off, so that a late timer does not add to another. A
	// cancellation gets the same short grace from the moment it happens.
	cutoff := callCtx.Done()
	interrupted := ctx.Done()
	var hardStop, grace, drained <-chan time.Time
	if dl, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(dl.Add(-returnReserve(margin) / 2)))
		defer t.Stop()
		hardStop = t.C
	}
	for pending := len(todo); pending > 0; {
		select {
		case d := <-results:
			en := entries[todo[d.k]]
			en.res, en.duration, en.done = d.res, d.duration, true
			pending--
			continue
		case <-interrupted:
			// The workers see ctx.Err() and start nothing new; the calls
			// in flight may finish within the safety margin.
			interrupted = nil
			t := time.NewTimer(margin)
			defer t.Stop()
			drained = t.C
			continue
		case <-drained:
			drained = nil
			cancelCalls()
			continue
		case <-cutoff:
			cutoff = nil
			t := time.NewTimer(returnReserve(margin) / 2)
			defer t.Stop()
			grace = t.C
			continue
		case <-hardStop:
		case <-grace:
		}
		// Calls that ignore their context are abandoned; they report into
		// the buffered channel and end on their own.
		code := ctxCode(ctx)
		for _, i := range todo {
			if en := entries[i]; !en.done {
				en.res = notFinished(en.res, code, "cut off by the invocation deadline")
				en.done = true
			}
		}
		return
	}
}

// tooLate reports why no new call may start, if that is the case.
func tooLate(ctx, callCtx context.Context, margin time.Duration) (code, why string) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return CodeCanceled, "not attempted: the invocation was interrupted"
	}
	if callCtx.Err() != nil {
		return ctxCode(ctx), "not attempted: the invocation deadline was reached"
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < margin {
			return CodeDeadlineExceeded, fmt.Sprintf("not attempted: %s left before the invocation deadline, less than the safety margin %s",
				left.Round(time.Millisecond), margin)
		}
	}
	return "", ""
}

// ctxCode names why the invocation's time is up.
func ctxCode(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return CodeCanceled
	}
	return CodeDeadlineExceeded
}

func notFinished(r Result, code, why string) Result {
	r.Outcome = handshake.OutcomeFailed
	r.ErrorCode = code
	r.Error = why
	return r
}

// classify turns one CancelHandshake answer into a Result, as the README's
// outcome table says.
func classify(ctx, callCtx context.Context, r Result, res resourcemanager.Result, err error) Result {
	r.APIRequestID = res.RequestID
	r.Attempts = res.Attempts
	var apiErr *resourcemanager.APIError
	isAPI := errors.As(err, &apiErr)
	if r.APIRequestID == "" && isAPI {
		r.APIRequestID = apiErr.RequestID
	}
	if err == nil {
		r.Outcome = handshake.OutcomeCancelled
		r.ErrorCode, r.Error = "", ""
		if res.Handshake.Status != "" {
			r.Status = res.Handshake.Status
		} else {
			r.Status = handshake.StatusCancelled
		}
		return r
	}
	r.ErrorCode = resourcemanager.ErrorCode(err)
	r.Error = shortError(err, apiErr)
	if res.Handshake.Status != "" {
		r.Status = res.Handshake.Status
	}
	switch {
	case resourcemanager.IsStatusMismatch(err):
		// Already final (Cancelled, Accepted, Declined or Expired); which
		// one the 409 does not say, and a status a sweep listed is stale.
		r.Outcome = handshake.OutcomeSkipped
		r.Status = res.Handshake.Status
	case resourcemanager.IsNotFound(err):
		r.Outcome = handshake.OutcomeNotFound
		r.Status = ""
	case resourcemanager.IsInvalidID(err):
		// The service rejects an ID the local check let through: retrying
		// cannot help, and invalid sends the record to the dead-letter queue.
		r.Outcome = handshake.OutcomeInvalid
		r.Status = ""
	default:
		r.Outcome = handshake.OutcomeFailed
		// A call cut off by the deadline reports the deadline, not whatever
		// transient error it was retrying; a definitive API answer (such
		// as a permission error) keeps its own code.
		if callCtx.Err() != nil && (!isAPI || resourcemanager.IsRetryable(err)) {
			r.ErrorCode = ctxCode(ctx)
			r.Error = shortError(fmt.Errorf("cut off by the invocation deadline: %w", err), nil)
			if r.ErrorCode == CodeCanceled {
				r.Error = shortError(fmt.Errorf("cut off: the invocation was cancelled: %w", err), nil)
			}
		}
		if r.ErrorCode == "" {
			r.ErrorCode = "Unknown"
		}
	}
	return r
}

// shortError is a bounded, secret-free description of err for a Result: the
// API's own code and message when the service answered, else the client's
// error text (which never holds credentials).
func shortError(err error, apiErr *resourcemanager.APIError) string {
	const max = 200
	s := err.Error()
	if apiErr != nil && apiErr.Message != "" && apiErr.Code == resourcemanager.ErrorCode(err) {
		s = apiErr.Code + ": " + apiErr.Message
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// deadlineContext derives the context for API calls from parent: it ends a
// little before of's deadline so that Run has time to report before the
// platform's deadline. (parent may be context.WithoutCancel(of), which has
// no deadline of its own.)
func deadlineContext(parent, of context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := of.Deadline()
	if !ok {
		return context.WithCancel(parent)
	}
	return context.WithDeadline(parent, dl.Add(-returnReserve(margin)))
}

// returnReserve is how long before the deadline the calls are cut off: half
// the safety margin, between 20ms and 1s. Half of it is the grace for calls
// to return, the rest is for building the Report and logging.
func returnReserve(margin time.Duration) time.Duration {
	return min(max(margin/2, 20*time.Millisecond), time.Second)
}

// report assembles the Report from the plan's entries.
func (p plan) report() Report {
	rep := Report{Results: make([]Result, 0, len(p.entries)), Warnings: p.warnings}
	for _, en := range p.entries {
		rep.Results = append(rep.Results, en.res)
		rep.Summary.add(en.res.Outcome)
	}
	for i, ir := range p.items {
		for _, j := range p.itemIdx[i] {
			if p.entries[j].res.Outcome.Redeliver() {
				ir.Redeliver = true
			}
		}
		rep.Items = append(rep.Items, ir)
	}
	return rep
}

func (e *Engine) concurrency() int {
	if e.Concurrency > 0 {
		return e.Concurrency
	}
	return DefaultConcurrency
}

func (e *Engine) maxCancellations() int {
	if e.MaxCancellations > 0 {
		return e.MaxCancellations
	}
	return DefaultMaxCancellations
}

func (e *Engine) staleAfter() time.Duration {
	if e.StaleAfter > 0 {
		return e.StaleAfter
	}
	return DefaultStaleAfter
}

func (e *Engine) safetyMargin() time.Duration {
	if e.SafetyMargin > 0 {
		return e.SafetyMargin
	}
	return DefaultSafetyMargin
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
