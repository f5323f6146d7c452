package janitor

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Reason says why the engine selected an invitation. Every Result has one.
type Reason string

// The reasons.
const (
	// ReasonStale: a sweep selected it as older than its age limit; its
	// target is allowed (or there is no target policy).
	ReasonStale Reason = "stale"
	// ReasonTargetNotAllowed: a sweep selected it because no pattern of the
	// target policy allows its target, whatever its age.
	ReasonTargetNotAllowed Reason = "target_not_allowed"
	// ReasonNamed: an event or the CLI named it, a request to cancel it
	// whatever the policy.
	ReasonNamed Reason = "named"

	// The reasons of a checking Job (Job.Check), whose invitations are
	// cancelled only with ReasonTargetNotAllowed:

	// ReasonChecked: its record could not be read (not_found, invalid,
	// failed), so the policy could not decide.
	ReasonChecked Reason = "checked"
	// ReasonAllowed: the target policy allows its target; left open.
	ReasonAllowed Reason = "allowed"
	// ReasonNoPolicy: no target policy is set; left open, no call made.
	ReasonNoPolicy Reason = "no_policy"
	// ReasonFinished: its record says it is no longer open (accepted,
	// declined, cancelled...): nothing to cancel; Status says which.
	ReasonFinished Reason = "finished"
)

// Result is what the engine did with one distinct invitation of a Job.
type Result struct {
	HandshakeID  string            `json:"handshakeId"`
	Outcome      handshake.Outcome `json:"outcome"`
	Reason       Reason            `json:"reason"`
	ErrorCode    string            `json:"errorCode"`
	APIRequestID string            `json:"apiRequestId"`
	Attempts     int               `json:"attempts"`
	Status       handshake.Status  `json:"status,omitempty"`
	// TargetType and TargetEntity name the invitation's target when known
	// (a sweep listed it, or the API's answer carried it). TargetEntity is
	// an e-mail address redacted unless Engine.LogTargets.
	TargetType   handshake.TargetType `json:"targetType,omitempty"`
	TargetEntity string               `json:"targetEntity,omitempty"`
	Error        string               `json:"error,omitempty"`

	// Duration is how long the API call took (zero when none was made); it
	// is logged, not part of the Report's JSON.
	Duration time.Duration `json:"-"`
}

// Summary counts the Results of a Report by outcome. It holds only the
// outcomes counted at least once, so a missing one reads as zero and two
// Summaries compare with maps.Equal. Its JSON (the Report's "summary", the
// summary line's fields) names every outcome of handshake.Outcomes, in that
// order, zeros included.
type Summary map[handshake.Outcome]int

func (s Summary) add(o handshake.Outcome) {
	if !o.Known() {
		// Every Result the engine makes has one of the outcomes; another
		// would be a bug, and counting it as failed keeps it visible and
		// redelivered rather than lost.
		o = handshake.OutcomeFailed
	}
	s[o]++
}

// MarshalJSON writes every outcome, in handshake.Outcomes order.
func (s Summary) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, o := range handshake.Outcomes() {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, string(o))
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(s[o]), 10)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes, keeping only the counts
// that are not zero.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var m map[handshake.Outcome]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	maps.DeleteFunc(m, func(_ handshake.Outcome, n int) bool { return n == 0 })
	*s = m
	return nil
}

// ItemReport tells a queue adapter what became of one record of the Job.
type ItemReport struct {
	Key          string   // the Item's Key
	HandshakeIDs []string // the distinct IDs the record named, as in Result.HandshakeID
	Redeliver    bool     // the record must go back to the queue: an ID failed or is invalid, or Err
	Err          error    // the Item's decode error, or the Job's when it was refused as a whole
}

// Report is the outcome of one Run: one Result per distinct invitation, in
// the order the Job first named them (listing order for a sweep).
type Report struct {
	Summary  Summary      `json:"summary"`
	Results  []Result     `json:"results"`
	Items    []ItemReport `json:"-"`
	Warnings []string     `json:"warnings,omitempty"`

	// What the summary line says of the Run beyond the counts: Mode is
	// ModeItems or ModeSweep (empty when no Job ran), DryRunMode whether
	// nothing was to be cancelled, Abandoned how many calls had not
	// returned when Run had to answer (their Results are failed),
	// Duration how long Run took.
	Mode       string        `json:"-"`
	DryRunMode bool          `json:"-"`
	Abandoned  int           `json:"-"`
	Duration   time.Duration `json:"-"`
}

// Failed reports whether any Result is failed: the invocation did not finish
// its work and should be retried.
func (r Report) Failed() bool { return r.Summary[handshake.OutcomeFailed] > 0 }

// Redeliver returns the ItemReports whose records must go back to the queue,
// in Job order.
func (r Report) Redeliver() []ItemReport {
	var out []ItemReport
	for _, it := range r.Items {
		if it.Redeliver {
			out = append(out, it)
		}
	}
	return out
}

// GuardError is returned when a real sweep selects more invitations than the
// blast-radius limit allows, or, at a limit of zero, when a real Job would
// cancel any invitation; the engine then cancels none of them.
type GuardError struct {
	Selected int  // invitations the sweep selected, or the valid ones the Job named
	Limit    int  // Engine.MaxCancellations
	Named    bool // the Job named its invitations (refused only at a limit of zero)
}

func (e *GuardError) Error() string {
	if e.Named {
		return fmt.Sprintf("janitor: refused: the limit is 0 (MAX_CANCELLATIONS), which allows no real cancellation; none of the %d invitation(s) named was cancelled: raise the limit, or run with dryRun to review them",
			e.Selected)
	}
	return fmt.Sprintf("janitor: refused: the sweep selected %d invitations, more than the limit of %d (MAX_CANCELLATIONS); none was cancelled: narrow the sweep, raise the limit, or run with dryRun to review them",
		e.Selected, e.Limit)
}

// notCancelled is the Error of each Result the guard refused.
func (e *GuardError) notCancelled() string {
	if e.Named {
		return "not cancelled: the limit is 0, which allows no real cancellation"
	}
	return fmt.Sprintf("not cancelled: the sweep selected %d invitations, more than the limit of %d", e.Selected, e.Limit)
}
