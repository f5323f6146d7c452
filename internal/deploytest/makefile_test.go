package deploytest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// makeCmd returns `make args...` run at the module root, or skips the test
// when make is not installed. The environment of an enclosing `make test`
// (MAKEFLAGS, MAKELEVEL) is dropped so that the child behaves as if run by
// hand.
func makeCmd(t *testing.T, ctx context.Context, dir string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not on PATH: the Makefile checks need GNU make")
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MAKELEVEL" && k != "MFLAGS" && k != "AWS_ARCH" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// makeDryRun returns the commands `make -n target vars...` would run.
func makeDryRun(t *testing.T, target string, vars ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := makeCmd(t, ctx, moduleRoot(t), append([]string{"-n", target}, vars...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	return string(out)
}
