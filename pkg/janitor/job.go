package janitor

import (
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// Item is one record of a trigger (an SQS or MNS message, say) and the
// invitation IDs it names. IDs are raw strings: the engine validates them, so
// an invalid one is reported rather than lost.
type Item struct {
	Key string   // the record's identity for redelivery (e.g. an SQS messageId)
	IDs []string // invitation IDs as the record spelled them
	Err error    // set when the record could not be decoded; IDs are then ignored
	// Deliveries is how many times the platform has delivered the record,
	// this time included (SQS's ApproximateReceiveCount); 0 when it does
	// not say. A record not known to be on its first delivery may name
	// invitations already finished: see Run.
	Deliveries int
}

// Sweep asks the engine to list the directory's invitations and cancel the
// open ones that are stale or sent to a target the target policy does
// not allow. Zero fields take the configured policy. Its fields are typed
// values an edge (a trigger, the CLI) parsed once; Run takes them as they
// are.
type Sweep struct {
	// OlderThan is the age after which an open invitation is stale
	// (config.ParseDuration reads it); zero: Engine.StaleAfter. Run refuses
	// a negative one, which would select every invitation.
	OlderThan time.Duration
	// TargetType, when not empty, keeps the sweep to invitations of this
	// target type (handshake.ParseTargetType reads it).
	TargetType handshake.TargetType
	// TargetEntity, when not zero, keeps the sweep to invitations whose
	// target matches it (ParseGlob reads it).
	TargetEntity Glob
	// AllowedTargets, when not empty, replaces Engine.AllowedTargets for
	// this sweep: every open invitation in scope whose target it does
	// not allow is selected too, whatever its age.
	AllowedTargets targetpolicy.Policy
}

// Job is what one invocation asks the engine to do: cancel the invitations
// its Items name, or, when Check is set, check them against the target
// policy (cancelling those it does not allow), or, when Sweep is non-nil,
// sweep. DryRun forces a dry run whatever the engine's configuration says.
type Job struct {
	Items  []Item
	Sweep  *Sweep
	DryRun bool
	// Check: each invitation the Items name is decided from its current
	// record (the directory must be a directory.Describer): open and not
	// allowed by Engine.AllowedTargets, it is cancelled (reason
	// target_not_allowed); allowed, finished, or with no target policy
	// set, it is left alone and skipped (reason allowed, no_policy, or
	// finished).
	Check bool
	// Warnings are the decoder's notes on the event (an event ignored as a
	// whole, say), carried into the Report and the summary line.
	Warnings []string
}

// Modes of a Job, as the summary line names them.
const (
	ModeItems = "items"
	ModeSweep = "sweep"
	ModeCheck = "check"
)

func (j Job) mode() string {
	if j.Sweep != nil {
		return ModeSweep
	}
	if j.Check {
		return ModeCheck
	}
	return ModeItems
}
