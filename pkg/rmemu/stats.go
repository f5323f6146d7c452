package rmemu

import (
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// Call is one request as the emulator saw and answered it.
type Call struct {
	Time        time.Time     // real time the request arrived
	Duration    time.Duration // until the answer was decided
	RequestID   string        // the answer's RequestId
	Action      string        // as requested (cut to 64 bytes); "" if none
	HandshakeID string        // the HandshakeId parameter as sent (cut to 64 bytes)
	Status      int           // HTTP status decided; 499 if the client left during added latency
	Code        string        // error code; "" on success
	AccessKeyID string        // the key the request was signed with, if any
	Auth        string        // MethodV3, MethodHMAC, or "" when no signature was found
	STS         bool          // a security token was presented and matched the key
	Dropped     bool          // the connection was closed without an answer
}

// Stats are counters over every request since New or ResetStats.
type Stats struct {
	Requests    int            // requests received
	Calls       map[string]int // requests per action name (known actions only; others under "")
	Codes       map[string]int // answers per error code
	InFlight    int            // requests being served now
	MaxInFlight int            // most requests served at once
	Throttled   int            // answers 400 Throttling.User (rate limit and scripts)
	ServerError int            // answers 5xx
	Dropped     int            // connections closed without an answer
	PeakRate    int            // most requests received in any one-second window
	// PeakRateByAction is PeakRate per action (known actions only).
	PeakRateByAction map[string]int
}

// stats is the call log with its counters.
type stats struct{ emulator.CallLog[Call] }

// arriveAction counts a request for a known action in that action's window.
func (st *stats) arriveAction(name string) { st.ArriveName(name) }

// record adds an answered call to the log and counters.
func (st *stats) record(c Call) {
	name := c.Action
	if _, known := actions[name]; !known {
		name = ""
	}
	st.Record(c, emulator.Outcome{
		Name:      name,
		Code:      c.Code,
		Throttled: c.Code == "Throttling.User",
		Status:    c.Status,
		Dropped:   c.Dropped,
	})
}

// Calls returns a copy of the call log, oldest first.
func (s *Server) Calls() []Call { return s.stats.Calls() }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := s.stats.Counts()
	return Stats{
		Requests:         c.Requests,
		Calls:            c.Calls,
		Codes:            c.Codes,
		InFlight:         int(s.inFlight.Load()),
		MaxInFlight:      c.MaxInFlight,
		Throttled:        c.Throttled,
		ServerError:      c.ServerError,
		Dropped:          c.Dropped,
		PeakRate:         c.PeakRate,
		PeakRateByAction: c.PeakRateBy,
	}
}

// ResetStats clears the call log and the counters (not the invitations, nor
// the faults), e.g. between the phases of a benchmark.
func (s *Server) ResetStats() {
	s.stats.Reset()
}
