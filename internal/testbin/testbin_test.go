package testbin

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBufferKeepsTheFirstMaxCaptureBytesAndCountsTheRest(t *testing.T) {
	tests := []struct {
		name   string
		writes []int // sizes
		kept   int
		note   string // "" for none
	}{
		{"small", []int{10, 20}, 30, ""},
		{"exactly full", []int{MaxCapture}, MaxCapture, ""},
		{"one write too many", []int{MaxCapture - 1, 3}, MaxCapture, "\n[owner: 2 more bytes dropped]\n"},
		{"writes after full", []int{MaxCapture + 5, 7}, MaxCapture, "\n[owner: 12 more bytes dropped]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuffer("owner")
			for _, n := range tt.writes {
				if got, err := b.Write(make([]byte, n)); got != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v; want all taken", n, got, err)
				}
			}
			s := b.String()
			if kept := strings.TrimSuffix(s, tt.note); len(kept) != tt.kept || (tt.note != "" && kept == s) {
				t.Errorf("String: %d bytes kept then %q, want %d then %q", len(kept), s[len(kept):], tt.kept, tt.note)
			}
		})
	}
}

func TestTailKeepsTheEndOfALongLog(t *testing.T) {
	short := "a few lines\n"
	if got := Tail(short); got != short {
		t.Errorf("Tail(short) = %q, want it whole", got)
	}
	long := strings.Repeat("x", 20<<10) + "the failure"
	got := Tail(long)
	if !strings.HasPrefix(got, "...\n") || !strings.HasSuffix(got, "the failure") || len(got) != 4+16<<10 {
		t.Errorf("Tail(long): %d bytes starting %.8q, want \"...\\n\" and its last 16 KiB", len(got), got)
	}
}

func TestWaitForStopsWhenTheConditionHoldsOrTheContextEnds(t *testing.T) {
	n := 0
	if !WaitFor(context.Background(), func() bool { n++; return n == 3 }) {
		t.Error("WaitFor returned false for a condition that came true")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if WaitFor(ctx, func() bool { return false }) {
		t.Error("WaitFor returned true for a condition that never held")
	}
}

func TestModuleRootIsTheDirectoryAboveWithGoMod(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("ModuleRoot() = %q: %v", root, err)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(root, wd); err != nil || rel != filepath.Join("internal", "testbin") {
		t.Errorf("ModuleRoot() = %q, want two levels above %s", root, wd)
	}
}

func TestCompleteLinesLeavesALineStillBeingWritten(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{`{"a":1`, nil},
		{"{\"a\":1}\n", []string{`{"a":1}`}},
		{"{\"a\":1}\n{\"b\":", []string{`{"a":1}`}},
		{"one\n\ntwo\nthr", []string{"one", "", "two"}},
	}
	for _, tt := range tests {
		if got := CompleteLines(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("CompleteLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
