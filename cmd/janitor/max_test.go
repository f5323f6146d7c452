package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// -max 0 allows no real cancellation (as MAX_CANCELLATIONS=0 does): a real
// sweep that selects an invitation is refused and a dry run still reports;
// a negative -max is a usage error, as MAX_CANCELLATIONS=-1 is a
// configuration error, before any API call.
func TestSweepMaxZeroCancelsNothingAndANegativeMaxIsAUsageError(t *testing.T) {
	emu, getenv := emulatorEnv(t, pending("h-Stale00000000001", 9*24*time.Hour))
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sweep", "-max", "0"}, &stdout, &stderr, getenv); code == 0 {
		t.Fatalf("-max 0: exit 0, want a refusal; stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "MAX_CANCELLATIONS") {
		t.Errorf("-max 0: the refusal does not name the limit:\n%s", stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"sweep", "-max", "0", "-dry-run"}, &stdout, &stderr, getenv); code != 0 {
		t.Errorf("-max 0 -dry-run: exit %d, want 0 (a dry run still reports); stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "1 dry run") {
		t.Errorf("-max 0 -dry-run: no dry run reported:\n%s", stdout.String())
	}
	for _, v := range []string{"-1", "-100", "ten"} {
		stderr.Reset()
		if code := run(context.Background(), []string{"sweep", "-max", v}, &stdout, &stderr, getenv); code != 2 {
			t.Errorf("-max %s: exit %d, want 2 (usage)", v, code)
		}
		if !strings.Contains(stderr.String(), "0 or more") {
			t.Errorf("-max %s: stderr does not say what is accepted:\n%s", v, stderr.String())
		}
	}
	if n := emu.Stats().Calls["CancelHandshake"]; n != 0 {
		t.Errorf("%d CancelHandshake calls, want 0", n)
	}
	if emu.Status("h-Stale00000000001") != handshake.StatusPending {
		t.Error("the invitation was cancelled")
	}
}
