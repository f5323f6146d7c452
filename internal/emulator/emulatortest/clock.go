// Package emulatortest holds what the emulators' tests share: a service
// clock that a test moves by hand.
package emulatortest

import (
	"sync"
	"time"
)

// Clock is a service clock a test moves by hand; it is safe for concurrent
// use. Pass its Now as an emulator's clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
