package pacing

import (
	"testing"
	"time"
)

func TestBackoffCeilingDoublesToCap(t *testing.T) {
	b := backoff{base: 100 * time.Millisecond, cap: 5 * time.Second}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if got := b.ceiling(i + 1); got != w*time.Millisecond {
			t.Errorf("ceiling(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := b.ceiling(1000); got != 5*time.Second {
		t.Errorf("ceiling(1000) = %v, want the cap", got)
	}
}

func TestBackoffFullJitterBounds(t *testing.T) {
	// The jitter source is asked for [0, ceiling): its extremes map to 0
	// and just under the ceiling.
	lowest := backoff{base: 100 * time.Millisecond, cap: 5 * time.Second, rand: func(int64) int64 { return 0 }}
	highest := backoff{base: 100 * time.Millisecond, cap: 5 * time.Second, rand: func(n int64) int64 { return n - 1 }}
	for n := 1; n <= 10; n++ {
		if d := lowest.delay(n); d != 0 {
			t.Errorf("lowest delay(%d) = %v, want 0", n, d)
		}
		if d := highest.delay(n); d != highest.ceiling(n)-1 {
			t.Errorf("highest delay(%d) = %v, want just under %v", n, d, highest.ceiling(n))
		}
	}
	// The default source stays within bounds.
	b := backoff{base: 100 * time.Millisecond, cap: 5 * time.Second}
	for n := 1; n <= 8; n++ {
		for range 200 {
			if d := b.delay(n); d < 0 || d >= b.ceiling(n) {
				t.Fatalf("delay(%d) = %v, outside [0, %v)", n, d, b.ceiling(n))
			}
		}
	}
}
