package resourcemanager

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
)

// callUntilStopped runs c.CancelHandshake on ctx in the background,
// interrupts inv once started says the call got where the test wants it, and
// returns the call's answer; a call still running 20 s after the
// interruption fails the test (the waits below are 100 s long).
func callUntilStopped(t *testing.T, c *Client, ctx context.Context, interrupt context.CancelFunc, started <-chan struct{}) (Result, error) {
	t.Helper()
	type answer struct {
		res Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.CancelHandshake(ctx, testID)
		done <- answer{res, err}
	}()
	<-started
	interrupt()
	select {
	case a := <-done:
		return a.res, a.err
	case <-time.After(20 * time.Second):
		t.Fatal("the call still waits 20 s after the interruption")
		return Result{}, nil
	}
}

func TestAnInterruptedCallStopsWaitingForItsTurn(t *testing.T) {
	var requests atomic.Int32
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, okBody)
	})
	// One call per 100 s: the first goes at once, the second waits.
	c := fastClient(t, s.URL, Options{QPS: 0.01})
	if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
		t.Fatal(err)
	}
	inv, interrupt := context.WithCancel(context.Background())
	started := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(started) }) // by then the call waits for its turn
	res, err := callUntilStopped(t, c, deadline.WithInterrupt(context.Background(), inv), interrupt, started)
	if ErrorCode(err) != "Canceled" || res.Attempts != 0 {
		t.Errorf("%v (code %s) after %d attempts; want Canceled before any attempt", err, ErrorCode(err), res.Attempts)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want only the first call's", n)
	}
}

func TestAnInterruptedCallLetsItsAttemptInFlightFinish(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, okBody)
	})
	c := fastClient(t, s.URL, Options{})
	inv, interrupt := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		<-arrived
		close(started)
		// The interruption lands while the request is at the server.
		time.AfterFunc(50*time.Millisecond, func() { close(release) })
	}()
	res, err := callUntilStopped(t, c, deadline.WithInterrupt(context.Background(), inv), interrupt, started)
	if err != nil || res.Attempts != 1 || res.Handshake.Status != "Cancelled" {
		t.Errorf("%v after %d attempts (%+v); want the attempt in flight answered", err, res.Attempts, res.Handshake)
	}
}
