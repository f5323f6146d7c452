package pacing

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
)

var (
	errRejected    = errors.New("rejected")
	errUnavailable = errors.New("unavailable")
	errThrottled   = errors.New("throttled")
	errLost        = errors.New("lost")
)

func classify(err error) Outcome {
	switch {
	case errors.Is(err, errRejected):
		return Rejected
	case errors.Is(err, errUnavailable):
		return Unavailable
	case errors.Is(err, errThrottled):
		return Throttled
	case errors.Is(err, errLost):
		return NoAnswer
	}
	return Unusable
}

// answers returns an Attempt that fails with errs in turn, then succeeds.
func answers(errs ...error) (func(context.Context) error, *int) {
	n := new(int)
	return func(context.Context) error {
		*n++
		if *n <= len(errs) {
			return errs[*n-1]
		}
		return nil
	}, n
}

// fakePacer is a Pacer on a fake clock that starts now (so that a Budget's
// deadline is also a context's), at a rate high enough never to wait.
func fakePacer(t *testing.T, o Options) (*Pacer, *fakeClock) {
	t.Helper()
	if o.QPS == 0 {
		o.QPS = 1000
	}
	clk := &fakeClock{t: time.Now()}
	p, err := newPacer(o, clk)
	if err != nil {
		t.Fatal(err)
	}
	return p, clk
}

func TestDoRetriesWhatMayPassAndCountsEveryAttempt(t *testing.T) {
	p, clk := fakePacer(t, Options{BackoffBase: time.Second, BackoffCap: time.Second})
	var slept []time.Duration
	clk.duringSleep = func(d time.Duration) { slept = append(slept, d) }
	attempt, sent := answers(errUnavailable, errLost, errThrottled)
	n, err := p.Do(context.Background(), Call{Attempt: attempt, Classify: classify})
	if err != nil || n != 4 || *sent != 4 {
		t.Fatalf("Do = %d attempts, %v (%d sent); want the fourth to succeed", n, err, *sent)
	}
	if len(slept) != 3 {
		t.Fatalf("slept %d times (%v), want a backoff before each of the 3 retries", len(slept), slept)
	}
	for _, d := range slept {
		if d < 0 || d >= time.Second {
			t.Errorf("backoff %v outside [0, 1s)", d)
		}
	}
	if r := p.Rate(); r >= 1000 {
		t.Errorf("rate %v after a throttle, want it cut", r)
	}
}

func TestDoEndsAtAnAnswerThatWillNotChange(t *testing.T) {
	for _, final := range []error{errRejected, errors.New("certificate not trusted")} {
		p, _ := fakePacer(t, Options{})
		attempt, _ := answers(final, final)
		n, err := p.Do(context.Background(), Call{Attempt: attempt, Classify: classify})
		if n != 1 || !errors.Is(err, final) {
			t.Errorf("Do = %d attempts, %v; want 1 and %v", n, err, final)
		}
	}
}

func TestDoStopsAfterMaxAttempts(t *testing.T) {
	p, _ := fakePacer(t, Options{MaxAttempts: 3})
	attempt, sent := answers(errLost, errLost, errUnavailable, errLost)
	n, err := p.Do(context.Background(), Call{Attempt: attempt, Classify: classify})
	if n != 3 || *sent != 3 || !errors.Is(err, errUnavailable) {
		t.Fatalf("Do = %d attempts (%d sent), %v; want 3 and the last failure", n, *sent, err)
	}
}

func TestDoStartsNoAttemptWithLessThanTimeoutAndReserveLeft(t *testing.T) {
	p, clk := fakePacer(t, Options{})
	// T = 2s, R = 1s: with 2.9s left, no attempt starts.
	b := deadline.New(clk.now().Add(2900*time.Millisecond), 2*time.Second)
	attempt, sent := answers()
	n, err := p.Do(deadline.NewContext(context.Background(), b), Call{Attempt: attempt, Classify: classify})
	var se *StopError
	if n != 0 || *sent != 0 || !errors.As(err, &se) || !errors.Is(err, ErrOutOfTime) {
		t.Fatalf("Do = %d attempts (%d sent), %v; want none and ErrOutOfTime", n, *sent, err)
	}
	// With more than 3s left, one does.
	b = deadline.New(clk.now().Add(3500*time.Millisecond), 2*time.Second)
	if n, err := p.Do(deadline.NewContext(context.Background(), b), Call{Attempt: attempt, Classify: classify}); n != 1 || err != nil {
		t.Fatalf("Do = %d attempts, %v; want one that succeeds", n, err)
	}
}

func TestDoStopsWhenTheBackoffWouldPassTheStartBy(t *testing.T) {
	p, clk := fakePacer(t, Options{BackoffBase: 10 * time.Second, BackoffCap: 10 * time.Second})
	p.backoff.rand = func(n int64) int64 { return n - 1 } // the longest wait
	b := deadline.New(clk.now().Add(8*time.Second), 2*time.Second)
	attempt, _ := answers(errLost)
	n, err := p.Do(deadline.NewContext(context.Background(), b), Call{Attempt: attempt, Classify: classify})
	if n != 1 || !errors.Is(err, ErrOutOfTime) || !errors.Is(err, errLost) {
		t.Fatalf("Do = %d attempts, %v; want 1 and ErrOutOfTime with the attempt's failure", n, err)
	}
}

func TestDoBoundsEachAttemptByTheBudgetsAPITimeout(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := deadline.New(time.Time{}, 20*time.Millisecond)
	var cause error
	attempt := func(ctx context.Context) error {
		<-ctx.Done()
		cause = context.Cause(ctx)
		return errRejected
	}
	if _, err := p.Do(deadline.NewContext(context.Background(), b), Call{Attempt: attempt, Classify: classify}); !errors.Is(err, errRejected) {
		t.Fatalf("Do = %v", err)
	}
	if !errors.Is(cause, ErrAttemptTimeout) {
		t.Fatalf("the attempt's context ended with cause %v, want ErrAttemptTimeout", cause)
	}
}

func TestDoPrepareErrorEndsTheCallWithoutAnAttempt(t *testing.T) {
	p, _ := fakePacer(t, Options{})
	errNoCreds := errors.New("no credentials")
	attempt, sent := answers()
	n, err := p.Do(context.Background(), Call{
		Prepare:  func(context.Context) error { return errNoCreds },
		Attempt:  attempt,
		Classify: classify,
	})
	if n != 0 || *sent != 0 || err != errNoCreds {
		t.Fatalf("Do = %d attempts (%d sent), %v; want none and Prepare's error as it is", n, *sent, err)
	}
}

func TestDoCancelledBetweenAttemptsSaysSoWithTheLastFailure(t *testing.T) {
	p, clk := fakePacer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	clk.duringSleep = func(time.Duration) { cancel() }
	attempt, _ := answers(errLost)
	n, err := p.Do(ctx, Call{Attempt: attempt, Classify: classify})
	var se *StopError
	if n != 1 || !errors.As(err, &se) || !errors.Is(err, context.Canceled) || !errors.Is(err, errLost) {
		t.Fatalf("Do = %d attempts, %v; want a StopError with Canceled and the attempt's failure", n, err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{{QPS: -1}, {MaxAttempts: -1}, {MaxAttempts: MaxAttempts + 1}, {BackoffBase: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
