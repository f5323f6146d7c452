package orgemu

import (
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// Call is one request as the emulator saw and answered it.
type Call struct {
	Time        time.Time     // real time the request arrived
	Duration    time.Duration // until the answer was decided
	RequestID   string        // the answer's x-amzn-RequestId
	Operation   string        // from X-Amz-Target (cut to 64 bytes); "" if none
	HandshakeID string        // the HandshakeId field as sent (cut to 64 bytes)
	Status      int           // HTTP status decided; 499 if the client left during added latency
	Code        string        // exception name; "" on success
	AccessKeyID string        // the key the request was signed with, if any
	Session     bool          // a session token was presented and matched the key
	Dropped     bool          // the connection was closed without an answer
}

// Stats are counters over every request since New or ResetStats.
type Stats struct {
	Requests    int            // requests received
	Calls       map[string]int // requests per operation (known operations only; others under "")
	Codes       map[string]int // answers per exception name
	InFlight    int            // requests being served now
	MaxInFlight int            // most requests served at once
	Throttled   int            // answers TooManyRequestsException (rate limit, random, scripts)
	ServerError int            // answers 5xx
	Dropped     int            // connections closed without an answer
	PeakRate    int            // most requests received in any one-second window
	// PeakRateByOperation is PeakRate per operation (known operations only).
	PeakRateByOperation map[string]int
}

// stats is the call log with its counters.
type stats struct{ emulator.CallLog[Call] }

// arriveOperation counts a request for a known operation in that operation's window.
func (st *stats) arriveOperation(name string) { st.ArriveName(name) }

// record adds an answered call to the log and counters.
func (st *stats) record(c Call) {
	name := c.Operation
	if _, known := operations[name]; !known {
		name = ""
	}
	st.Record(c, emulator.Outcome{
		Name:      name,
		Code:      c.Code,
		Throttled: c.Code == codeTooManyRequests,
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
		Requests:            c.Requests,
		Calls:               c.Calls,
		Codes:               c.Codes,
		InFlight:            int(s.inFlight.Load()),
		MaxInFlight:         c.MaxInFlight,
		Throttled:           c.Throttled,
		ServerError:         c.ServerError,
		Dropped:             c.Dropped,
		PeakRate:            c.PeakRate,
		PeakRateByOperation: c.PeakRateBy,
	}
}

// ResetStats clears the call log and the counters (not the handshakes, nor
// the faults), e.g. between the phases of a benchmark.
func (s *Server) ResetStats() {
	s.stats.Reset()
}
