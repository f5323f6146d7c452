package fcruntime

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds a go build in BuildT (a cold build cache needs more
// than a warm one).
const buildTimeout = 3 * time.Minute

// BuildT builds the main package pkg (see Build) into the test's temporary
// directory and returns the binary's path; it fails the test on error.
func BuildT(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "main")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if err := Build(ctx, pkg, out); err != nil {
		t.Fatal(err)
	}
	return out
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
			t.Logf("function stdout:\n%s\nfunction stderr:\n%s", tail(p.Stdout()), tail(p.Stderr()))
		}
	})
	return p
}

// tail keeps the end of a log, where the failure usually is.
func tail(s string) string {
	const n = 16 << 10
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
