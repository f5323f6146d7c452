package emulator

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// Outcome is what the call log counts of one answered call, in the
// emulator's own words.
type Outcome struct {
	Name      string // the known action or operation; "" for any other
	Code      string // error code or exception name; "" on success
	Throttled bool   // the answer was the API's throttling error
	Status    int    // HTTP status decided
	Dropped   bool   // the connection was closed without an answer
}

// Counts are the counters of a CallLog since Init or Reset.
type Counts struct {
	Requests    int            // requests received
	Calls       map[string]int // requests per Outcome.Name
	Codes       map[string]int // answers per Outcome.Code (non-empty only)
	MaxInFlight int            // most requests served at once
	Throttled   int            // answers with Outcome.Throttled
	ServerError int            // answers 5xx
	Dropped     int            // connections closed without an answer
	PeakRate    int            // most requests received in any one-second window
	PeakRateBy  map[string]int // PeakRate per name passed to ArriveName
}

// CallLog is an emulator's log of answered calls, of type C, with its
// counters, behind one lock. It keeps at most the limit given to Init of the
// latest calls. Init it before use.
type CallLog[C any] struct {
	mu       sync.Mutex
	limit    int
	log      []C
	requests int
	calls    map[string]int
	codes    map[string]int
	maxIn    int
	throttle int
	server   int
	dropped  int
	all      window
	byName   map[string]*window
}

// DefaultCallLogLimit is how many calls a CallLog keeps unless told.
const DefaultCallLogLimit = 1 << 18

// Init sets the most calls kept (0 or less: DefaultCallLogLimit) and
// clears the log.
func (l *CallLog[C]) Init(limit int) {
	if limit <= 0 {
		limit = DefaultCallLogLimit
	}
	l.limit = limit
	l.reset()
}

// Reset clears the log and the counters.
func (l *CallLog[C]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reset()
}

func (l *CallLog[C]) reset() {
	l.log = nil
	l.requests, l.maxIn, l.throttle, l.server, l.dropped = 0, 0, 0, 0, 0
	l.calls = make(map[string]int)
	l.codes = make(map[string]int)
	l.all = window{}
	l.byName = make(map[string]*window)
}

// Arrive counts a request on arrival, with n requests now in flight. The
// time is read under the lock, so that windows see times in order.
func (l *CallLog[C]) Arrive(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	l.maxIn = max(l.maxIn, int(n))
	l.all.add(time.Now())
}

// ArriveName counts a request for a known name in that name's window.
func (l *CallLog[C]) ArriveName(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.byName[name]
	if w == nil {
		w = &window{}
		l.byName[name] = w
	}
	w.add(time.Now())
}

// Record adds an answered call to the log and its outcome to the counters.
func (l *CallLog[C]) Record(c C, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[o.Name]++
	if o.Code != "" {
		l.codes[o.Code]++
	}
	if o.Throttled {
		l.throttle++
	}
	if o.Status >= 500 {
		l.server++
	}
	if o.Dropped {
		l.dropped++
	}
	if len(l.log) >= l.limit {
		// Forget the oldest half at once, so that trimming costs O(1)
		// per call on average.
		l.log = append(l.log[:0], l.log[len(l.log)-l.limit/2:]...)
	}
	l.log = append(l.log, c)
}

// Calls returns a copy of the log, oldest first.
func (l *CallLog[C]) Calls() []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

// Counts returns a snapshot of the counters.
func (l *CallLog[C]) Counts() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := Counts{
		Requests:    l.requests,
		Calls:       maps.Clone(l.calls),
		Codes:       maps.Clone(l.codes),
		MaxInFlight: l.maxIn,
		Throttled:   l.throttle,
		ServerError: l.server,
		Dropped:     l.dropped,
		PeakRate:    l.all.peak,
		PeakRateBy:  make(map[string]int, len(l.byName)),
	}
	for n, w := range l.byName {
		out.PeakRateBy[n] = w.peak
	}
	return out
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
