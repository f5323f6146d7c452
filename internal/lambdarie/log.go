package lambdarie

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// maxCapture bounds the output kept per stream, so a chatty function under a
// long benchmark cannot grow the test process without limit.
const maxCapture = 8 << 20

// capBuffer is a goroutine-safe buffer that keeps the first maxCapture bytes.
type capBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.write(p)
	return len(p), nil
}

func (b *capBuffer) write(p []byte) {
	room := maxCapture - b.buf.Len()
	if room < len(p) {
		b.dropped += int64(len(p) - max(room, 0))
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return
	}
	b.buf.Write(p)
}

func (b *capBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.string()
}

func (b *capBuffer) string() string {
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[lambdarie: %d more bytes dropped]\n", b.dropped)
	}
	return b.buf.String()
}

// initLog captures the emulator's log and picks the init durations out of
// lines like
//
//	27 Nov 2026 01:47:50,221 [INFO] (rapid) INIT REPORT(durationMs: 4.361000)
type initLog struct {
	capBuffer
	partial []byte          // an unfinished last line
	inits   []time.Duration // guarded by capBuffer.mu
	changed chan struct{}   // closed and replaced when inits grows
}

func newInitLog() *initLog { return &initLog{changed: make(chan struct{})} }

var initReport = []byte("INIT REPORT(durationMs: ")

func (l *initLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.write(p)
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
