package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestHelpExitsZeroAndPrintsToStdout(t *testing.T) {
	for _, args := range [][]string{
		{"help"}, {"--help"}, {"-h"},
		{"sweep", "-h"}, {"sweep", "--help"}, {"cancel", "--help"}, {"invoke", "-help"},
		{"emulator", "--help"}, {"demo", "-h"},
		{"sweep", "--dry-run", "--help"}, // after other flags too
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
			if code != exitOK || stderr.Len() != 0 {
				t.Errorf("exit %d, stderr %q; want 0 and nothing on stderr", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "sage") {
				t.Errorf("stdout %q holds no usage", stdout.String())
			}
		})
	}
}

// noCredentials empties every source of the credentials-go default chain
// for the test: the environment and the profile files under HOME.
func noCredentials(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
		"ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_ECS_METADATA", "ALIBABA_CLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_CLI_PROFILE_DISABLED"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	// The chain's last link asks the ECS metadata service, an address off
	// this machine: tests talk to 127.0.0.1 only.
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
}

func TestUsageAndConfigurationErrorsExitTwoBeforeAnyAPICall(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxEventBytes+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		noCred bool
		says   []string
	}{
		{"unknown flag", []string{"sweep", "--nope"}, nil, false, []string{"-nope"}},
		{"bad --target-entity glob", []string{"sweep", "--target-entity", "[a-"}, nil, false, []string{"-target-entity", `"[a-"`, "glob"}},
		{"negative --max", []string{"sweep", "--max", "-1"}, nil, false, []string{"-max", "0 or more"}},
		{"--max not a number", []string{"sweep", "--max", "ten"}, nil, false, []string{"-max"}},
		{"empty --max", []string{"sweep", "--max", ""}, nil, false, []string{"-max"}},
		{"bad variable", []string{"cancel", "h-Pending000000001"}, map[string]string{"MAX_CANCELLATIONS": "-1"}, false, []string{`MAX_CANCELLATIONS="-1"`}},
		{"no credentials: cancel", []string{"cancel", "h-Pending000000001"}, nil, true, []string{"no Alibaba Cloud credentials", "ALIBABA_CLOUD_ACCESS_KEY_ID"}},
		{"no credentials: sweep", []string{"sweep", "--dry-run"}, nil, true, []string{"no Alibaba Cloud credentials"}},
		{"no credentials: invoke", []string{"invoke", "-event", "../../events/direct.json"}, nil, true, []string{"no Alibaba Cloud credentials"}},
		{"event from /dev/zero", []string{"invoke", "-event", "/dev/zero"}, nil, false, []string{"larger than 16 MiB"}},
		{"event over the limit", []string{"invoke", "-event", big}, nil, false, []string{"larger than 16 MiB"}},
		{"event file missing", []string{"invoke", "-event", filepath.Join(t.TempDir(), "none.json")}, nil, false, []string{"none.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, getenv := emulatorEnv(t, pending("h-Pending000000001", 9*24*time.Hour))
			if tt.noCred {
				noCredentials(t)
			}
			env := func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return getenv(k)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, env)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
			}
			for _, s := range tt.says {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not say %q:\n%s", s, stderr.String())
				}
			}
			if n := emu.Stats().Requests; n != 0 {
				t.Errorf("%d API requests, want none", n)
			}
			if strings.Count(stderr.String(), "janitor: janitor:") != 0 {
				t.Errorf("doubled prefix:\n%s", stderr.String())
			}
		})
	}
}

func TestFailuresExitOneWithOnePrefix(t *testing.T) {
	const failing, good = "h-Failing000000001", "h-Good000000000001"
	tests := []struct {
		name string
		args []string
		says []string
	}{
		{"a failed invitation", []string{"cancel", failing}, []string{"janitor: 1 invitation(s) failed"}},
		{"invoke: a failed direct invocation", []string{"invoke", "-event", "-"}, nil},
		{"invoke: an SQS record to redeliver", []string{"invoke", "-event", "sqs"}, []string{"janitor: 1 SQS record(s) to redeliver"}},
		{"the guard refuses", []string{"sweep", "--max", "1"}, []string{"janitor: refused: the sweep selected 2 invitations, more than the limit of 1", "--max", "--dry-run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, getenv := emulatorEnv(t, pending(failing, 9*24*time.Hour), pending(good, 9*24*time.Hour))
			emu.FailAlways(failing)
			args := tt.args
			switch args[len(args)-1] {
			case "-": // a direct invocation on standard input
				args = []string{"invoke", "-event", writeEvent(t, `{"handshakeIds":["`+failing+`","`+good+`"]}`)}
			case "sqs":
				args = []string{"invoke", "-event", writeEvent(t, `{"Records":[{"messageId":"m-good","eventSource":"aws:sqs","body":"{\"handshakeId\":\"`+good+`\"}"},{"messageId":"m-failing","eventSource":"aws:sqs","body":"{\"handshakeId\":\"`+failing+`\"}"}]}`)}
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr, getenv)
			if code != exitFailed {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
			}
			for _, s := range tt.says {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not say %q:\n%s", s, stderr.String())
				}
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if last := lines[len(lines)-1]; strings.Contains(stderr.String(), "janitor: janitor:") || strings.Contains(last, "MAX_CANCELLATIONS); none") {
				t.Errorf("doubled prefix, or the function's wording of the guard:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("an uninterrupted run says interrupted:\n%s", stderr.String())
			}
		})
	}
}

func writeEvent(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAListingErrorPrintsOnePrefix(t *testing.T) {
	emu, getenv := emulatorEnv(t, pending("h-Pending000000001", 9*24*time.Hour))
	emu.SetFaults(rmemu.Faults{ErrorRate: 1})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sweep"}, &stdout, &stderr, getenv); code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	if !strings.HasPrefix(stderr.String(), "janitor: sweep:") && !strings.Contains(stderr.String(), "\njanitor: sweep:") {
		t.Errorf("stderr has no line starting \"janitor: sweep:\":\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "janitor: janitor:") {
		t.Errorf("doubled prefix:\n%s", stderr.String())
	}
}

func TestTheInterruptedMessageOnlyWhenSomeWereCutShort(t *testing.T) {
	canceled := janitor.Result{HandshakeID: "h-Cut0000000000001", Outcome: handshake.OutcomeFailed, ErrorCode: janitor.CodeCanceled}
	done := janitor.Result{HandshakeID: "h-Done000000000001", Outcome: handshake.OutcomeCancelled}
	throttled := janitor.Result{HandshakeID: "h-Fail000000000001", Outcome: handshake.OutcomeFailed, ErrorCode: "Throttling.User"}
	interrupted, interrupt := context.WithCancelCause(context.Background())
	interrupt(errInterrupted)
	stopNow := make(chan struct{})
	close(stopNow)
	tests := []struct {
		name    string
		ctx     context.Context
		results []janitor.Result
		want    string // "" for no error
	}{
		{"not interrupted", context.Background(), []janitor.Result{done, throttled}, ""},
		{"interrupted after everything finished", interrupted, []janitor.Result{done}, ""},
		{"interrupted, a failure of its own", interrupted, []janitor.Result{done, throttled}, ""},
		{"interrupted once, some cut short", interrupted, []janitor.Result{done, canceled}, "interrupted: the calls in flight finished; 1 invitation(s) not finished are reported failed (Canceled)"},
		{"interrupted twice", deadline.WithStop(interrupted, stopNow), []janitor.Result{canceled, canceled}, "interrupted again: the calls in flight were stopped; 2 invitation(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := interruptedError(tt.ctx, &janitor.Report{Results: tt.results})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			ee, ok := err.(*exitError)
			if !ok || ee.code != exitInterrupted || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want exit %d saying %q", err, exitInterrupted, tt.want)
			}
		})
	}
}
