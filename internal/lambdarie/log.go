package lambdarie

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// initLog captures the emulator's log and picks the init durations out of
// lines like
//
//	27 Nov 2026 01:47:50,221 [INFO] (rapid) INIT REPORT(durationMs: 4.361000)
type initLog struct {
	log *testbin.Buffer

	mu      sync.Mutex
	partial []byte          // an unfinished last line
	inits   []time.Duration // guarded by mu
	changed chan struct{}   // closed and replaced when inits grows
}

func newInitLog() *initLog {
	return &initLog{log: testbin.NewBuffer("lambdarie"), changed: make(chan struct{})}
}

var initReport = []byte("INIT REPORT(durationMs: ")

func (l *initLog) Write(p []byte) (int, error) {
	l.log.Write(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 64<<10 { // no line of interest is this long
		l.partial = nil
	}
	return len(p), nil
}

// String returns the log so far.
func (l *initLog) String() string { return l.log.String() }

func (l *initLog) line(line []byte) {
	_, rest, ok := bytes.Cut(line, initReport)
	if !ok {
		return
	}
	num, _, ok := bytes.Cut(rest, []byte(")"))
	if !ok {
		return
	}
	ms, err := strconv.ParseFloat(string(num), 64)
	if err != nil || ms < 0 {
		return
	}
	l.inits = append(l.inits, time.Duration(ms*float64(time.Millisecond)))
	close(l.changed)
	l.changed = make(chan struct{})
}

// init returns the i-th init, whether it is known, and a channel closed when
// another is recorded.
func (l *initLog) init(i int) (time.Duration, bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= 0 && i < len(l.inits) {
		return l.inits[i], true, l.changed
	}
	return 0, false, l.changed
}

func (l *initLog) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.inits...)
}
