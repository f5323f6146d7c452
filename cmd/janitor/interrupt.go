package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// errInterrupted is why an interrupted run stopped. It wraps
// context.Canceled, so that what it stops reads Canceled.
var errInterrupted = fmt.Errorf("interrupted: %w", context.Canceled)

// interruptContext returns a context that the first of sigs cancels: no new
// cancellation starts, calls waiting for their turn stop at once, and the
// calls in flight finish (for up to API_TIMEOUT). The second closes its
// deadline.Stop channel: the calls in flight are cut off and reported failed
// now. A third gets the signal's default action. stop releases the signals.
func interruptContext(parent context.Context, sigs ...os.Signal) (ctx context.Context, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	ctx, cancel := context.WithCancelCause(parent)
	stopNow := make(chan struct{})
	ctx = deadline.WithStop(ctx, stopNow)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
		case <-done:
			return
		}
		cancel(errInterrupted)
		select {
		case <-ch:
		case <-done:
			return
		}
		close(stopNow)
		signal.Reset(sigs...)
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedError is the error of a run that ctx's interruption cut short,
// or nil: when the interruption came after every invitation was finished
// (or no interruption came), the run ends as its Report says.
func interruptedError(ctx context.Context, r *janitor.Report) error {
	if ctx.Err() == nil {
		return nil
	}
	n := 0
	for _, res := range r.Results {
		if res.ErrorCode == janitor.CodeCanceled {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	how := "the calls in flight finished"
	select {
	case <-deadline.Stop(ctx):
		how = "interrupted again: the calls in flight were stopped"
	default:
	}
	return &exitError{exitInterrupted, fmt.Errorf("interrupted: %s; %d invitation(s) not finished are reported failed (Canceled): run again to retry them", how, n)}
}

// interruptedListing is the error of a sweep interrupted while it listed
// the directory: nothing was cancelled.
func interruptedListing(ctx context.Context, runErr error) error {
	if ctx.Err() != nil && errors.Is(runErr, janitor.ErrListing) {
		return &exitError{exitInterrupted, errors.New("interrupted while listing the invitations: none was cancelled")}
	}
	return nil
}
