package fcruntime

import (
	"context"
	"os"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

// The echo function, built once for the package's tests.
var echo = testbin.Once{
	Name:  "main",
	Build: func(ctx context.Context, out string) error { return Build(ctx, "./testdata/echo", out) },
}

func TestMain(m *testing.M) {
	code := m.Run()
	echo.Remove()
	os.Exit(code)
}

// echoBinary returns the path of testdata/echo built for the host.
func echoBinary(t *testing.T) string {
	t.Helper()
	return echo.Path(t)
}
