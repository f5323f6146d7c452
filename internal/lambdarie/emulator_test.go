package lambdarie

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

type echoReply struct {
	Echo        string `json:"echo"`
	RequestID   string `json:"requestId"`
	HasDeadline bool   `json:"hasDeadline"`
	Env         string `json:"env"`
}

// TestEchoUnderTheEmulator runs a real lambda.StartWithOptions binary under
// aws-lambda-rie and checks the three answers a function can give.
func TestEchoUnderTheEmulator(t *testing.T) {
	t.Setenv("LAMBDARIE_TEST_LEAK", "from the test process")
	bin := echoBinary(t)
	emu := StartT(t, bin, Options{
		FunctionName: "echo-fn",
		Timeout:      time.Second,
		Env:          []string{"ECHO_SETTING=configured"},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	invoke := func(t *testing.T, id, payload string) []byte {
		t.Helper()
		status, body, err := emu.InvokeWithID(ctx, id, []byte(payload))
		if err != nil {
			t.Fatalf("invoke %s: %v", payload, err)
		}
		if status != http.StatusOK {
			t.Fatalf("invoke %s: status %d, body %s; want 200", payload, status, body)
		}
		return body
	}
	decode := func(t *testing.T, body []byte) echoReply {
		t.Helper()
		var r echoReply
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		return r
	}

	if len(emu.Inits()) != 0 {
		t.Fatalf("inits before the first invocation: %v; the emulator starts the function lazily", emu.Inits())
	}

	t.Run("echoes, with the request ID and a deadline", func(t *testing.T) {
		r := decode(t, invoke(t, "req-1", `{"echo":"hello"}`))
		want := echoReply{Echo: "hello", RequestID: "req-1", HasDeadline: true}
		if r != want {
			t.Errorf("reply %+v, want %+v", r, want)
		}
	})

	t.Run("the first invocation was the cold start", func(t *testing.T) {
		d, err := emu.InitDuration(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 {
			t.Errorf("init duration %v, want positive", d)
		}
		if !emu.Ready().After(emu.Started()) {
			t.Errorf("Ready %v not after Started %v", emu.Ready(), emu.Started())
		}
	})

	t.Run("function environment", func(t *testing.T) {
		for name, want := range map[string]string{
			"ECHO_SETTING":                    "configured",
			"AWS_LAMBDA_FUNCTION_NAME":        "echo-fn",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
			"AWS_REGION":                      DefaultRegion,
			"LAMBDARIE_TEST_LEAK":             "", // the test's environment is not inherited
		} {
			if got := decode(t, invoke(t, "", `{"env":"`+name+`"}`)).Env; got != want {
				t.Errorf("function sees %s=%q, want %q", name, got, want)
			}
		}
	})

	t.Run("handler error is 200 with errorMessage", func(t *testing.T) {
		body := invoke(t, "", `{"fail":"no such handshake"}`)
		fe, ok := ParseError(body)
		if !ok || fe.Message != "no such handshake" || fe.Type != "errorString" {
			t.Errorf("body %s parsed as %+v, %v; want errorString %q", body, fe, ok, "no such handshake")
		}
		if IsTimeout(body) {
			t.Error("an error body taken for a timeout")
		}
	})

	t.Run("timeout is 200 with Task timed out", func(t *testing.T) {
		body := invoke(t, "", `{"sleep":"5s"}`)
		if !IsTimeout(body) || string(body) != "Task timed out after 1.00 seconds" {
			t.Errorf("body %q, want Task timed out after 1.00 seconds", body)
		}
		if _, ok := ParseError(body); ok {
			t.Error("a timeout taken for a function error")
		}
	})

	t.Run("after a timeout the next invocation starts a fresh function", func(t *testing.T) {
		if r := decode(t, invoke(t, "req-after", `{"echo":"again"}`)); r.Echo != "again" {
			t.Errorf("reply %+v after the timeout", r)
		}
		if _, err := emu.InitDuration(ctx, 1); err != nil {
			t.Errorf("second init: %v", err)
		}
	})

	t.Run("function lines exclude the emulator's", func(t *testing.T) {
		lines := emu.FunctionLines()
		if !slices.Contains(lines, `{"msg":"echo","request_id":"req-1"}`) {
			t.Errorf("function lines lack the echo log line of req-1: %q", lines)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "START RequestId:") || strings.HasPrefix(l, "REPORT RequestId:") {
				t.Errorf("emulator line among function lines: %q", l)
			}
		}
		if !strings.Contains(emu.Output(), "START RequestId: req-1") {
			t.Errorf("output lacks the emulator's START line:\n%s", emu.Output())
		}
	})

	t.Run("concurrent invocations take turns", func(t *testing.T) {
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				status, body, err := emu.Invoke(ctx, []byte(`{"echo":"x"}`))
				if err == nil && (status != 200 || !strings.Contains(string(body), `"echo":"x"`)) {
					err = &unexpected{status, body}
				}
				errs <- err
			}()
		}
		for range 3 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("close stops the emulator and the function", func(t *testing.T) {
		kids := children(emu.cmd.Process.Pid)
		if len(kids) == 0 {
			t.Fatal("no function process under the emulator")
		}
		if err := emu.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-emu.Exited():
		default:
			t.Fatal("emulator still running after Close")
		}
		for _, k := range kids {
			if !testbin.WaitFor(ctx, func() bool { return gone(k) }) {
				t.Errorf("function pid %d still exists after Close", k)
			}
		}
		if !strings.Contains(emu.Output(), `{"msg":"echo: SIGTERM"}`) {
			t.Error("the function did not get SIGTERM on Close")
		}
		if _, _, err := emu.Invoke(ctx, []byte(`{}`)); err == nil {
			t.Error("Invoke after Close succeeded")
		}
	})
}

func TestKillStopsEverythingAtOnce(t *testing.T) {
	bin := echoBinary(t)
	emu := StartT(t, bin, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if status, _, err := emu.Invoke(ctx, []byte(`{"echo":"x"}`)); err != nil || status != http.StatusOK {
		t.Fatalf("invoke: %d, %v", status, err)
	}
	kids := children(emu.cmd.Process.Pid)
	if len(kids) == 0 {
		t.Fatal("no function process under the emulator")
	}
	if err := emu.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		if !testbin.WaitFor(ctx, func() bool { return gone(k) }) {
			t.Errorf("function pid %d still running after Kill", k)
		}
	}
	if strings.Contains(emu.Output(), "echo: SIGTERM") {
		t.Error("the function got SIGTERM from Kill; want no shutdown phase")
	}
	if err := emu.Close(); err != nil { // after Kill, a no-op
		t.Error(err)
	}
}

// gone reports whether pid no longer runs: no such process, or a zombie
// left for an init that does not reap (as in some containers).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}

type unexpected struct {
	status int
	body   []byte
}

func (u *unexpected) Error() string {
	return "status " + http.StatusText(u.status) + ", body " + string(u.body)
}

func TestStartRefusesOptionsTheEmulatorCannotTake(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(bin, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"fractional timeout", Options{Timeout: 1500 * time.Millisecond}, "whole seconds"},
		{"sub-second timeout", Options{Timeout: 500 * time.Millisecond}, "whole seconds"},
		{"timeout in Env not a number", Options{Env: []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=3s"}}, "AWS_LAMBDA_FUNCTION_TIMEOUT"},
		{"managed instances mode", Options{Env: []string{"AWS_LAMBDA_MAX_CONCURRENCY=4"}}, "AWS_LAMBDA_MAX_CONCURRENCY"},
		{"malformed Env entry", Options{Env: []string{"NOEQUALS"}}, "KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Start(t.Context(), bin, tc.opts)
			if err == nil {
				e.Close()
				t.Fatal("started, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	t.Run("missing bootstrap", func(t *testing.T) {
		if _, err := Start(t.Context(), filepath.Join(t.TempDir(), "nope"), Options{}); err == nil || !strings.Contains(err.Error(), "not a file") {
			t.Errorf("Start with a missing bootstrap: %v", err)
		}
	})
}

func TestBuildRIEIsCached(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	first, err := BuildRIE(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !isFile(first) {
		t.Fatalf("BuildRIE returned %s, not a file", first)
	}
	rie.Lock()
	rie.path = "" // forget the in-process memo: the on-disk cache must answer
	rie.Unlock()
	second, err := BuildRIE(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Errorf("second BuildRIE %s, want the cached %s", second, first)
	}
}

func TestInitLogParsesInitReports(t *testing.T) {
	l := newInitLog()
	// Split mid-line, as a pipe may deliver it.
	for _, chunk := range []string{
		"27 Nov 2026 01:47:50,217 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n27 Nov 2026 01:47:50,221 [INFO] (rapid) INIT REP",
		"ORT(durationMs: 4.361000)\n",
		"27 Nov 2026 01:47:52,367 [INFO] (rapid) INIT REPORT(durationMs: 12.5)\n",
		"27 Nov 2026 01:47:52,367 [INFO] (rapid) INIT REPORT(durationMs: garbage)\n",
		"27 Nov 2026 01:47:52,368 [INFO] (rapid) INIT REPORT(durationMs: 1.0)", // no newline yet
	} {
		if _, err := l.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{4361 * time.Microsecond, 12500 * time.Microsecond}
	if got := l.all(); !slices.Equal(got, want) {
		t.Errorf("inits %v, want %v", got, want)
	}
	if !strings.Contains(l.String(), "INIT START") {
		t.Error("log not captured")
	}
}

func TestParseErrorAndIsTimeout(t *testing.T) {
	for _, tc := range []struct {
		body      string
		isErr     bool
		isTimeout bool
	}{
		{`{"errorMessage":"boom","errorType":"errorString"}`, true, false},
		{`{"errorType":"Runtime.ExitError"}`, true, false},
		{`{"echo":"x"}`, false, false},
		{`"a string"`, false, false},
		{`Task timed out after 3.00 seconds`, false, true},
		{``, false, false},
	} {
		_, isErr := ParseError([]byte(tc.body))
		if isErr != tc.isErr || IsTimeout([]byte(tc.body)) != tc.isTimeout {
			t.Errorf("%q: ParseError %v, IsTimeout %v; want %v, %v", tc.body, isErr, IsTimeout([]byte(tc.body)), tc.isErr, tc.isTimeout)
		}
	}
}
