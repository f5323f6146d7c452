package fcruntime

import (
	"context"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// BuildT builds the main package pkg (see Build) into the test's temporary
// directory and returns the binary's path; it fails the test on error.
func BuildT(t testing.TB, pkg string) string {
	t.Helper()
	return testbin.BuildT(t, "main", func(ctx context.Context, out string) error { return Build(ctx, pkg, out) })
}

// NewServerT starts a Server closed when the test ends.
func NewServerT(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// StartT starts bin against srv (see StartProcess) and stops it when the
// test ends, before a server made earlier with NewServerT is closed (cleanups
// run last-in first-out). When the test has failed, the process's output is
// logged.
func StartT(t testing.TB, bin string, srv *Server, opts ProcessOptions) *Process {
	t.Helper()
	p, err := StartProcess(bin, srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("function stdout:\n%s\nfunction stderr:\n%s", testbin.Tail(p.Stdout()), testbin.Tail(p.Stderr()))
		}
	})
	return p
}
