package lambdarie

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// RIEPackage is the emulator's main package, pinned as a tool in go.mod.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Build compiles the main package pkg into the file out for the host, with
// the flags the Makefile uses for dist/aws/bootstrap (-tags lambda.norpc,
// CGO_ENABLED=0, -trimpath, stripped) but GOOS/GOARCH of this machine, so it
// runs here under the emulator. pkg is resolved as the go command does in
// the current directory: in a test, "./testdata/echo" or a full import path.
func Build(ctx context.Context, pkg, out string) error {
	return goBuild(ctx, "", out, pkg, "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=")
}

func goBuild(ctx context.Context, dir, out, pkg string, flags ...string) error {
	if err := testbin.Build(ctx, dir, out, pkg, flags...); err != nil {
		return fmt.Errorf("lambdarie: %w", err)
	}
	return nil
}

// The emulator binary, once built or found by this process.
var rie struct {
	sync.Mutex
	path string
}

// BuildRIE returns the path of an aws-lambda-rie binary for this machine,
// built from the version go.mod pins. The binary is cached across runs under
// os.UserCacheDir()/handshake-janitor, named by a hash of go.mod, go.sum, the
// Go version and GOOS/GOARCH, so only a dependency change rebuilds it; within
// a process the path is remembered. Concurrent builds (parallel test
// packages) each write a temporary file and rename it into place.
func BuildRIE(ctx context.Context) (string, error) {
	rie.Lock()
	defer rie.Unlock()
	if rie.path != "" && isFile(rie.path) {
		return rie.path, nil
	}
	root, err := testbin.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("lambdarie: %w", err)
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	key := hex.EncodeToString(h.Sum(nil))[:16]

	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "aws-lambda-rie-"+key)
	if isFile(path) {
		rie.path = path
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, "aws-lambda-rie-*.tmp")
	if err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := goBuild(ctx, root, tmp.Name(), RIEPackage); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	rie.path = path
	return path, nil
}

func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "handshake-janitor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lambdarie: cache directory: %w", err)
	}
	return dir, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
