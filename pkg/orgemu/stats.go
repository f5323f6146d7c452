package orgemu

import (
	"maps"
	"slices"
	"sync"
	"time"
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

// stats collects the call log and the counters behind one lock.
type stats struct {
	mu          sync.Mutex
	limit       int
	log         []Call
	requests    int
	calls       map[string]int
	codes       map[string]int
	maxIn       int
	throttle    int
	server      int
	dropped     int
	all         window
	byOperation map[string]*window
}

func (st *stats) init(limit int) {
	st.limit = limit
	st.reset()
}

func (st *stats) reset() {
	st.log = nil
	st.requests, st.maxIn, st.throttle, st.server, st.dropped = 0, 0, 0, 0, 0
	st.calls = make(map[string]int)
	st.codes = make(map[string]int)
	st.all = window{}
	st.byOperation = make(map[string]*window)
}

// arrive counts a request on arrival, with n requests now in flight. The
// time is read under the lock, so that windows see times in order.
func (st *stats) arrive(n int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.requests++
	st.maxIn = max(st.maxIn, int(n))
	st.all.add(time.Now())
}

// arriveOperation counts a request for a known operation in its window.
func (st *stats) arriveOperation(action string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	w := st.byOperation[action]
	if w == nil {
		w = &window{}
		st.byOperation[action] = w
	}
	w.add(time.Now())
}

// record adds an answered call to the log and counters.
func (st *stats) record(c Call) {
	st.mu.Lock()
	defer st.mu.Unlock()
	action := c.Operation
	if _, known := operations[action]; !known {
		action = ""
	}
	st.calls[action]++
	if c.Code != "" {
		st.codes[c.Code]++
	}
	if c.Code == codeTooManyRequests {
		st.throttle++
	}
	if c.Status >= 500 {
		st.server++
	}
	if c.Dropped {
		st.dropped++
	}
	if len(st.log) >= st.limit {
		// Forget the oldest half at once, so that trimming costs O(1)
		// per call on average.
		st.log = append(st.log[:0], st.log[len(st.log)-st.limit/2:]...)
	}
	st.log = append(st.log, c)
}

// Calls returns a copy of the call log, oldest first.
func (s *Server) Calls() []Call {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return slices.Clone(s.stats.log)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := &s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	out := Stats{
		Requests:            st.requests,
		Calls:               maps.Clone(st.calls),
		Codes:               maps.Clone(st.codes),
		InFlight:            int(s.inFlight.Load()),
		MaxInFlight:         st.maxIn,
		Throttled:           st.throttle,
		ServerError:         st.server,
		Dropped:             st.dropped,
		PeakRate:            st.all.peak,
		PeakRateByOperation: make(map[string]int, len(st.byOperation)),
	}
	for a, w := range st.byOperation {
		out.PeakRateByOperation[a] = w.peak
	}
	return out
}

// ResetStats clears the call log and the counters (not the handshakes, nor
// the faults), e.g. between the phases of a benchmark.
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.reset()
}

// window tracks the most events seen in any one-second window: it keeps the
// times of the last second's events, so its memory is bounded by the peak
// rate itself. Times must come in order.
type window struct {
	times []time.Time
	head  int
	peak  int
}

func (w *window) add(t time.Time) {
	for w.head < len(w.times) && t.Sub(w.times[w.head]) >= time.Second {
		w.head++
	}
	if w.head > 0 && w.head >= len(w.times)/2 {
		w.times = append(w.times[:0], w.times[w.head:]...)
		w.head = 0
	}
	w.times = append(w.times, t)
	w.peak = max(w.peak, len(w.times)-w.head)
}
