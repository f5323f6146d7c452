package janitor

import (
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Item is one record of a trigger (an SQS or MNS message, say) and the
// invitation IDs it names. IDs are raw strings: the engine validates them, so
// an invalid one is reported rather than lost.
type Item struct {
	Key string   // the record's identity for redelivery (e.g. an SQS messageId)
	IDs []string // invitation IDs as the record spelled them
	Err error    // set when the record could not be decoded; IDs are then ignored
}

// Sweep asks the engine to list the directory's invitations and cancel the
// stale Pending ones. Zero fields take the configured policy.
type Sweep struct {
	OlderThan    time.Duration        // stale after this age; zero: Engine.StaleAfter
	TargetType   handshake.TargetType // only this target type; empty: any
	TargetEntity string               // only target entities matching this glob (path.Match); empty: any
}

// Job is what one invocation asks the engine to do: cancel the invitations
// its Items name, or, when Sweep is non-nil, sweep. DryRun forces a dry run
// whatever the engine's configuration says.
type Job struct {
	Items  []Item
	Sweep  *Sweep
	DryRun bool
}

// Modes of a Job, as the summary line names them.
const (
	ModeItems = "items"
	ModeSweep = "sweep"
)

func (j Job) mode() string {
	if j.Sweep != nil {
		return ModeSweep
	}
	return ModeItems
}
