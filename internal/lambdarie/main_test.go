package lambdarie

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The echo function, built once for the package's tests: a link costs
// seconds on a loaded machine.
var echo struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdarie-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echo.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// echoBinary returns the path of testdata/echo built for the host.
func echoBinary(t *testing.T) string {
	t.Helper()
	echo.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		echo.path = filepath.Join(echo.dir, "bootstrap")
		echo.err = Build(ctx, "./testdata/echo", echo.path)
	})
	if echo.err != nil {
		t.Fatal(echo.err)
	}
	return echo.path
}
