package lambdarie

import (
	"context"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// BuildT builds the main package pkg (see Build) into the test's temporary
// directory as "bootstrap" and returns its path; it fails the test on error.
func BuildT(t testing.TB, pkg string) string {
	t.Helper()
	return testbin.BuildT(t, "bootstrap", func(ctx context.Context, out string) error { return Build(ctx, pkg, out) })
}

// StartT starts the emulator with bootstrap (see Start) and closes it when
// the test ends; when the test has failed, the function's output and the
// emulator's log are logged. The start, which may build the emulator (see
// BuildRIE), is bounded by testbin.BuildTimeout.
func StartT(t testing.TB, bootstrap string, opts Options) *Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testbin.BuildTimeout)
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
			t.Logf("emulator stdout (function output):\n%s\nemulator log:\n%s", testbin.Tail(e.Output()), testbin.Tail(e.Log()))
		}
	})
	return e
}
