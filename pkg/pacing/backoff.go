package pacing

import (
	"math/rand/v2"
	"time"
)

// Backoff defaults: the first retry waits up to 100ms, each further one up to
// twice as long, never more than 5s.
const (
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffCap  = 5 * time.Second
)

// backoff is exponential backoff with full jitter: before retry n (n >= 1,
// the retry after attempt n) it waits a uniformly random duration in
// [0, min(cap, base*2^(n-1))). Full jitter spreads the retries of many
// clients throttled at the same moment, which is what lets a throttled
// service recover.
type backoff struct {
	base, cap time.Duration
	rand      func(n int64) int64 // [0, n); math/rand/v2's Int64N by default
}

// ceiling is the upper bound of the wait before retry n.
func (b backoff) ceiling(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.base
	for i := 1; i < n && d < b.cap; i++ {
		d *= 2
	}
	return min(d, b.cap)
}

// delay draws the wait before retry n.
func (b backoff) delay(n int) time.Duration {
	c := b.ceiling(n)
	if c <= 0 {
		return 0
	}
	r := b.rand
	if r == nil {
		r = rand.Int64N
	}
	return time.Duration(r(int64(c)))
}
