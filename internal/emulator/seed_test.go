package emulator

import (
	"bufio"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSharesAddUpAndFallBackToDefaults(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		weights  []float64
		defaults []float64
		want     []int
	}{
		{"exact", 10, []float64{6, 3, 1}, []float64{1}, []int{6, 3, 1}},
		{"largest remainder", 10, []float64{1, 1, 1}, nil, []int{4, 3, 3}},
		{"negative counts as 0", 4, []float64{-1, 1, 0}, nil, []int{0, 4, 0}},
		{"all zero takes defaults", 20, []float64{0, 0, 0, 0}, []float64{5, 3, 1, 1}, []int{10, 6, 2, 2}},
		{"zero count", 0, []float64{1, 2}, nil, []int{0, 0}},
	}
	for _, tt := range tests {
		if got := Shares(tt.n, tt.weights, tt.defaults); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Shares(%d) = %v, want %v", tt.name, tt.n, got, tt.want)
		}
	}
}

func TestParseAgeAcceptsDaysAndDurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"9d", 9 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"36h", 36 * time.Hour, true},
		{"3651d", 0, false},
		{"-1d", 0, false},
		{"xd", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseAge(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFirstByteSkipsWhiteSpaceAndStrictDecodeRefusesExtras(t *testing.T) {
	br := bufio.NewReader(strings.NewReader(" \n\t[1]"))
	b, err := firstByte(br)
	if err != nil || b != '[' {
		t.Fatalf("firstByte = %q, %v; want '['", b, err)
	}
	var v []int
	if err := StrictDecode(br, &v); err != nil || !slices.Equal(v, []int{1}) {
		t.Errorf("StrictDecode = %v, %v", v, err)
	}
	if _, err := firstByte(bufio.NewReader(strings.NewReader("  "))); err == nil {
		t.Error("firstByte of white space: no error")
	}
	var s struct{ A int }
	if err := StrictDecode(strings.NewReader(`{"A":1,"B":2}`), &s); err == nil {
		t.Error("StrictDecode accepted an unknown field")
	}
	if err := StrictDecode(strings.NewReader(`{"A":1} {}`), &s); err == nil {
		t.Error("StrictDecode accepted data after the value")
	}
}
