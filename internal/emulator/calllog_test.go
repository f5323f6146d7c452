package emulator

import (
	"testing"
	"time"
)

func TestWindowFindsTheBusiestSecond(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, base.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name  string
		times []time.Time
		peak  int
	}{
		{"none", nil, 0},
		{"one", at(0), 1},
		{"spread a second apart", at(0, 1000, 2000, 3000), 1},
		{"burst in the middle", at(0, 1500, 1600, 1700, 1800, 2499, 4000), 5},
		{"just under a second", at(0, 999), 2},
		{"100 per second", func() []time.Time {
			var ms []int
			for i := range 500 {
				ms = append(ms, i*10)
			}
			return at(ms...)
		}(), 100},
	}
	for _, tt := range tests {
		var w window
		for _, ts := range tt.times {
			w.add(ts)
		}
		if w.peak != tt.peak {
			t.Errorf("%s: peak %d, want %d", tt.name, w.peak, tt.peak)
		}
		if len(w.times)-w.head > 100 {
			t.Errorf("%s: window keeps %d times", tt.name, len(w.times)-w.head)
		}
	}
}
