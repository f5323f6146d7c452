package lambdarie

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds a go build in BuildT and StartT (a cold build cache
// needs more than a warm one).
const buildTimeout = 3 * time.Minute

// BuildT builds the main package pkg (see Build) into the test's temporary
// directory as "bootstrap" and returns its path; it fails the test on error.
func BuildT(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if err := Build(ctx, pkg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// StartT starts the emulator with bootstrap (see Start) and closes it when
// the test ends; when the test has failed, the function's output and the
// emulator's log are logged.
func StartT(t testing.TB, bootstrap string, opts Options) *Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	e, err := Start(ctx, bootstrap, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("emulator stdout (function output):\n%s\nemulator log:\n%s", tail(e.Output()), tail(e.Log()))
		}
	})
	return e
}
