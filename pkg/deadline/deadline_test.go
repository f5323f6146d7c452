package deadline_test

import (
	"context"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
)

var d0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // the invocation's deadline

func TestBudgetRules(t *testing.T) {
	tests := []struct {
		name                      string
		apiTimeout                time.Duration
		reserve                   time.Duration
		startBy, cutOff, answerBy time.Time
	}{
		// R is T up to a second: the default API_TIMEOUT, 5 s.
		{"default API timeout", 5 * time.Second, time.Second,
			d0.Add(-6 * time.Second), d0.Add(-time.Second), d0.Add(-500 * time.Millisecond)},
		// A short API timeout keeps a short reserve.
		{"short API timeout", 500 * time.Millisecond, 500 * time.Millisecond,
			d0.Add(-time.Second), d0.Add(-500 * time.Millisecond), d0.Add(-250 * time.Millisecond)},
		{"API timeout of a minute", time.Minute, time.Second,
			d0.Add(-61 * time.Second), d0.Add(-time.Second), d0.Add(-500 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := deadline.New(d0, tt.apiTimeout)
			if got := b.Reserve(); got != tt.reserve {
				t.Errorf("Reserve = %v, want %v", got, tt.reserve)
			}
			if got, ok := b.StartBy(); !ok || !got.Equal(tt.startBy) {
				t.Errorf("StartBy = %v %v, want %v", got, ok, tt.startBy)
			}
			if got, ok := b.CutOff(); !ok || !got.Equal(tt.cutOff) {
				t.Errorf("CutOff = %v %v, want %v", got, ok, tt.cutOff)
			}
			if got, ok := b.AnswerBy(); !ok || !got.Equal(tt.answerBy) {
				t.Errorf("AnswerBy = %v %v, want %v", got, ok, tt.answerBy)
			}
			// An attempt may start at StartBy, not a nanosecond later, and
			// one started then ends by its timeout at the cut-off.
			if !b.CanStart(tt.startBy) || b.CanStart(tt.startBy.Add(time.Nanosecond)) {
				t.Errorf("CanStart around StartBy %v: want true at it, false after", tt.startBy)
			}
			if end := tt.startBy.Add(tt.apiTimeout); end.After(tt.cutOff) {
				t.Errorf("an attempt started at StartBy ends at %v, after the cut-off %v", end, tt.cutOff)
			}
			if got := b.Grace(); !tt.cutOff.Add(got).Equal(tt.answerBy) {
				t.Errorf("cut-off + Grace = %v, want AnswerBy %v", tt.cutOff.Add(got), tt.answerBy)
			}
		})
	}
}

func TestBudgetWithoutADeadlineNeverStops(t *testing.T) {
	b := deadline.For(context.Background(), 5*time.Second)
	if _, ok := b.Deadline(); ok {
		t.Error("Deadline reported for a context without one")
	}
	if !b.CanStart(time.Now().Add(24 * time.Hour)) {
		t.Error("CanStart = false without a deadline")
	}
	for name, f := range map[string]func() (time.Time, bool){"StartBy": b.StartBy, "CutOff": b.CutOff, "AnswerBy": b.AnswerBy} {
		if _, ok := f(); ok {
			t.Errorf("%s reported a time without a deadline", name)
		}
	}
}

func TestBudgetTravelsInTheContext(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), d0)
	defer cancel()
	b := deadline.For(ctx, 2*time.Second)
	if dl, ok := b.Deadline(); !ok || !dl.Equal(d0) {
		t.Fatalf("For: deadline %v %v, want the context's %v", dl, ok, d0)
	}
	if _, ok := deadline.FromContext(ctx); ok {
		t.Error("FromContext found a Budget in a context without one")
	}
	// The calls' context outlives an interruption and has the cut-off as
	// its deadline; it still carries the invocation's Budget.
	calls, cancelCalls := context.WithDeadline(context.WithoutCancel(deadline.NewContext(ctx, b)), d0.Add(-time.Second))
	defer cancelCalls()
	if got, ok := deadline.FromContext(calls); !ok || got != b {
		t.Errorf("FromContext = %+v %v, want %+v", got, ok, b)
	}
}

func TestBudgetWithoutAnAPITimeoutTakesTheDefault(t *testing.T) {
	for name, b := range map[string]deadline.Budget{
		"zero Budget":      {},
		"New with zero":    deadline.New(d0, 0),
		"New with minus 1": deadline.New(d0, -time.Second),
		"For with zero":    deadline.For(context.Background(), 0),
	} {
		if got := b.APITimeout(); got != deadline.DefaultAPITimeout {
			t.Errorf("%s: APITimeout = %v, want DefaultAPITimeout %v", name, got, deadline.DefaultAPITimeout)
		}
	}
	// The rules go by the default too: an attempt started at StartBy ends
	// by the cut-off.
	b := deadline.New(d0, 0)
	by, _ := b.StartBy()
	cut, _ := b.CutOff()
	if end := by.Add(b.APITimeout()); end.After(cut) {
		t.Errorf("an attempt started at StartBy ends at %v, after the cut-off %v", end, cut)
	}
}

func TestOfReadsTheBudgetInTheContextElseTheDefault(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), d0)
	defer cancel()
	if got, want := deadline.Of(ctx), deadline.New(d0, deadline.DefaultAPITimeout); got != want {
		t.Errorf("Of a context without a Budget = %+v, want %+v", got, want)
	}
	b := deadline.New(d0.Add(-time.Minute), 2*time.Second)
	if got := deadline.Of(deadline.NewContext(ctx, b)); got != b {
		t.Errorf("Of = %+v, want the Budget the context carries, %+v", got, b)
	}
}
