// Package testbin builds Go programs for this machine and keeps what they
// write, for the emulators that run function binaries in tests and
// benchmarks (internal/fcruntime, internal/lambdarie).
package testbin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildTimeout bounds a go build made for a test. It is a bound against a
// hung toolchain, not a speed target: on a cold build cache, with every
// package's tests compiling at once on two cores, building the Runtime
// Interface Emulator alone was seen to take over 3 minutes.
const BuildTimeout = 8 * time.Minute

// Build runs "go build flags... -o out pkg" in dir (empty: the current
// directory) for this machine's GOOS/GOARCH with CGO_ENABLED=0. The error
// holds the go command's output.
func Build(ctx context.Context, dir, out, pkg string, flags ...string) error {
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, bytes.TrimSpace(msg))
	}
	return nil
}

// BuildT calls build with the path name in the test's temporary directory
// and a context bounded by BuildTimeout, and returns that path; it fails the
// test on error.
func BuildT(t testing.TB, name string, build func(ctx context.Context, out string) error) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	if err := build(ctx, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Once is a program built at most once per test process, for the tests of
// a package to share: a link costs seconds on a loaded machine. It is built
// into a temporary directory that Remove deletes; call Remove from TestMain
// after m.Run.
type Once struct {
	Name  string                                      // the file name
	Build func(ctx context.Context, out string) error // builds the file out

	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds the program on the first call and returns its path; it fails
// the test when the build failed.
func (o *Once) Path(t testing.TB) string {
	t.Helper()
	o.once.Do(func() {
		o.dir, o.err = os.MkdirTemp("", "testbin-")
		if o.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
		defer cancel()
		o.path = filepath.Join(o.dir, o.Name)
		o.err = o.Build(ctx, o.path)
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.path
}

// Remove deletes what Path built, if anything.
func (o *Once) Remove() {
	if o.dir != "" {
		os.RemoveAll(o.dir)
	}
}

// MaxCapture bounds the output a Buffer keeps, so that a chatty function
// under a long benchmark cannot grow the test process without limit.
const MaxCapture = 8 << 20

// Buffer is a goroutine-safe buffer that keeps the first MaxCapture bytes
// written to it and counts the rest.
type Buffer struct {
	owner   string // names the buffer in the note on dropped bytes
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
}

// NewBuffer returns an empty Buffer; owner (a package name) prefixes the
// note String adds when bytes were dropped.
func NewBuffer(owner string) *Buffer { return &Buffer{owner: owner} }

// Write keeps what fits and never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := MaxCapture - b.buf.Len()
	if room < len(p) {
		b.dropped += int64(len(p) - max(room, 0))
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

// String returns what was kept, followed by a note when bytes were dropped.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[%s: %d more bytes dropped]\n", b.owner, b.dropped)
	}
	return b.buf.String()
}

// CompleteLines returns the complete lines of s, a process's output read
// while the process may still be writing: what follows the last newline is
// part of a line still on its way through the pipe, left for a later read.
func CompleteLines(s string) []string {
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		return nil
	}
	return strings.Split(s[:i], "\n")
}

// Tail keeps the end of a log, where the failure usually is.
func Tail(s string) string {
	const n = 16 << 10
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// WaitFor polls cond every 10 ms until it holds (true) or ctx is done
// (false).
func WaitFor(ctx context.Context, cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// ModuleRoot is the nearest directory at or above the working directory
// that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory; run inside the module")
		}
		dir = parent
	}
}
