package fcruntime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testbin"
)

type echoReply struct {
	Payload        string `json:"payload"`
	RequestID      string `json:"requestId"`
	HasKeyID       bool   `json:"hasKeyId"`
	HasSecret      bool   `json:"hasSecret"`
	HasToken       bool   `json:"hasToken"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	HasDeadline    bool   `json:"hasDeadline"`
	FunctionName   string `json:"functionName"`
	Memory         string `json:"memory"`
	Region         string `json:"region"`
	AccountID      string `json:"accountId"`
	RetryCount     int    `json:"retryCount"`
	Initialized    bool   `json:"initialized"`
	EnvRegion      string `json:"envRegion"`
}

// TestEchoFunctionUnderTheSDK runs a real fc.Start binary against the server.
func TestEchoFunctionUnderTheSDK(t *testing.T) {
	bin := echoBinary(t)
	srv := NewServerT(t, Options{FunctionName: "echo", MemoryMB: 512, Region: "cn-shanghai"})
	proc := StartT(t, bin, srv, ProcessOptions{})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	invoke := func(t *testing.T, payload string, opts InvokeOptions) Response {
		t.Helper()
		resp, err := srv.Invoke(ctx, []byte(payload), opts)
		if err != nil {
			t.Fatalf("Invoke(%q): %v", payload, err)
		}
		return resp
	}
	decode := func(t *testing.T, resp Response) echoReply {
		t.Helper()
		if resp.Err != nil || resp.TimedOut {
			t.Fatalf("response = %+v (Err %+v), want a success", resp, resp.Err)
		}
		var r echoReply
		if err := json.Unmarshal(resp.Body, &r); err != nil {
			t.Fatalf("body %q: %v", resp.Body, err)
		}
		return r
	}

	t.Run("first GET next comes after the process started", func(t *testing.T) {
		first, err := srv.WaitFirstNext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !first.After(proc.Started()) {
			t.Errorf("first GET next %v not after process start %v", first, proc.Started())
		}
	})

	t.Run("echoes the payload and the invocation context", func(t *testing.T) {
		resp := invoke(t, `{"handshakeIds":["h-0123456789abcdef"]}`, InvokeOptions{
			RequestID:   "req-echo",
			Timeout:     7 * time.Second,
			Credentials: Credentials{KeyID: "STS.key", Secret: "secret", Token: "token"},
			RetryCount:  1,
		})
		r := decode(t, resp)
		want := echoReply{
			Payload: `{"handshakeIds":["h-0123456789abcdef"]}`, RequestID: "req-echo",
			HasKeyID: true, HasSecret: true, HasToken: true, TimeoutSeconds: 7, HasDeadline: true,
			FunctionName: "echo", Memory: "512", Region: "cn-shanghai", AccountID: DefaultAccountID,
			RetryCount: 1, EnvRegion: "cn-shanghai",
		}
		if r != want {
			t.Errorf("reply\n got %+v\nwant %+v", r, want)
		}
		if resp.Responded.Before(resp.Dispatched) {
			t.Errorf("Responded %v before Dispatched %v", resp.Responded, resp.Dispatched)
		}
	})

	t.Run("credentials are per invocation", func(t *testing.T) {
		r := decode(t, invoke(t, "plain text", InvokeOptions{}))
		if r.HasKeyID || r.HasSecret || r.HasToken {
			t.Errorf("no credential headers sent, but the function saw %+v", r)
		}
		r = decode(t, invoke(t, "key only", InvokeOptions{Credentials: Credentials{KeyID: "k"}}))
		if !r.HasKeyID || r.HasSecret || r.HasToken {
			t.Errorf("only a key ID sent, but the function saw %+v", r)
		}
	})

	t.Run("handler error comes back on the error path", func(t *testing.T) {
		resp := invoke(t, "fail:no such handshake", InvokeOptions{})
		if resp.Err == nil || resp.Err.Message != "no such handshake" || resp.Err.Type != "errorString" || resp.Body != nil {
			t.Fatalf("response = %+v, Err = %+v; want errorString %q", resp, resp.Err, "no such handshake")
		}
	})

	t.Run("panic comes back with a stack and the process lives on", func(t *testing.T) {
		resp := invoke(t, "panic", InvokeOptions{})
		if resp.Err == nil || resp.Err.Message != "echo: asked to panic" || len(resp.Err.StackTrace) == 0 {
			t.Fatalf("Err = %+v, want the panic message and a stack trace", resp.Err)
		}
		if r := decode(t, invoke(t, "still alive", InvokeOptions{})); r.Payload != "still alive" {
			t.Errorf("after a panic the function answered %+v", r)
		}
	})

	t.Run("invocations run concurrently", func(t *testing.T) {
		var wg sync.WaitGroup
		slow := make(chan Response, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Invoke(ctx, []byte("sleep:300ms"), InvokeOptions{})
			if err != nil {
				t.Error(err)
			}
			slow <- resp
		}()
		fast := invoke(t, "fast", InvokeOptions{})
		wg.Wait()
		s := <-slow
		if decode(t, fast).Payload != "fast" || decode(t, s).Payload != "sleep:300ms" {
			t.Fatal("unexpected payloads")
		}
		if !fast.Responded.Before(s.Responded) {
			t.Errorf("fast answered at %v, not before the sleeping one at %v", fast.Responded, s.Responded)
		}
	})

	t.Run("a handler past its deadline times out", func(t *testing.T) {
		resp := invoke(t, "sleep:1s", InvokeOptions{Timeout: 200 * time.Millisecond})
		if !resp.TimedOut {
			t.Errorf("response = %+v, want TimedOut", resp)
		}
	})

	t.Run("without x-fc-function-timeout the SDK never answers", func(t *testing.T) {
		resp := invoke(t, "x", InvokeOptions{
			Timeout: 200 * time.Millisecond,
			Header:  http.Header{HeaderFunctionTimeout: nil},
		})
		if !resp.TimedOut {
			t.Errorf("response = %+v, want TimedOut", resp)
		}
		if !testbin.WaitFor(ctx, func() bool {
			return strings.Contains(proc.Stderr(), "failed to parse contents of header: x-fc-function-timeout")
		}) {
			t.Errorf("stderr lacks the SDK's complaint:\n%s", proc.Stderr())
		}
	})

	t.Run("initializer runs the registered hook", func(t *testing.T) {
		if r := decode(t, invoke(t, "before", InvokeOptions{})); r.Initialized {
			t.Fatal("initialized before the initializer call")
		}
		resp := invoke(t, "", InvokeOptions{Type: TypeInitializer})
		if resp.Err != nil || resp.TimedOut {
			t.Fatalf("initializer call: %+v (Err %+v)", resp, resp.Err)
		}
		if r := decode(t, invoke(t, "after", InvokeOptions{})); !r.Initialized {
			t.Error("not initialized after the initializer call")
		}
	})

	t.Run("an unregistered lifecycle hook is a panic", func(t *testing.T) {
		resp := invoke(t, "", InvokeOptions{Type: TypePreStop})
		if resp.Err == nil || !strings.Contains(resp.Err.Message, "no prestop handler registered") {
			t.Errorf("pre-stop call with no hook: %+v (Err %+v)", resp, resp.Err)
		}
	})

	t.Run("the SDK logs each invocation to stdout", func(t *testing.T) {
		if out := proc.Stdout(); !strings.Contains(out, "FC Invoke Start RequestId: req-echo") || !strings.Contains(out, "FC Invoke End RequestId: req-echo") {
			t.Errorf("stdout lacks the start/end lines of req-echo:\n%s", out)
		}
	})

	t.Run("close stops the process", func(t *testing.T) {
		if err := proc.Close(); err != nil {
			t.Fatal(err)
		}
		var exitErr *exec.ExitError
		if err := proc.Wait(ctx); !errors.As(err, &exitErr) {
			t.Errorf("Wait after Close: %v, want an exit error (killed by SIGTERM)", err)
		}
		if code, err := proc.ExitCode(); err != nil || code != -1 {
			t.Errorf("ExitCode = %d, %v; want -1 (signal)", code, err)
		}
	})
}

// TestFunctionWithoutRuntimeAPIExits shows what a misconfigured start looks
// like: fc.Start with no FC_RUNTIME_API exits 1 and says why.
func TestFunctionWithoutRuntimeAPIExits(t *testing.T) {
	bin := echoBinary(t)
	srv := NewServerT(t, Options{})
	p := StartT(t, bin, srv, ProcessOptions{Env: []string{"FC_RUNTIME_API="}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err == nil {
		t.Fatal("exited 0, want a failure")
	}
	if code, _ := p.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(p.Stderr(), "FC_RUNTIME_API") {
		t.Errorf("stderr does not name FC_RUNTIME_API:\n%s", p.Stderr())
	}
	if err := p.Close(); err != nil { // closing an exited process is fine
		t.Error(err)
	}
}

func TestBuildReportsACompileError(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := Build(ctx, "./testdata/no-such-package", filepath.Join(t.TempDir(), "x"))
	if err == nil || !strings.Contains(err.Error(), "no-such-package") {
		t.Errorf("Build of a missing package: %v, want an error naming it", err)
	}
}
