package pacing

import (
	"context"
	"time"
)

// clock is the time a Pacer goes by: the moment now, and waiting. Every
// reading and every wait of a Pacer and its limiter goes through it, so that
// tests can drive them with a fake one.
type clock interface {
	now() time.Time
	// sleep waits d, or until ctx ends (it then returns ctx's error).
	sleep(ctx context.Context, d time.Duration) error
}

// realClock is the system's clock.
type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
