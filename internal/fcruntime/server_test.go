package fcruntime

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeFunction plays the SDK's part with plain HTTP: one GET next, then
// answer with body on path suffix ("response" or "error").
func fakeFunction(t *testing.T, ctx context.Context, srv *Server, suffix, body string) (http.Header, []byte, int) {
	t.Helper()
	base := "http://" + srv.Addr() + "/" + APIVersion + "/runtime/invocation/"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET next: %v", err)
		return nil, nil, 0
	}
	payload, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get(HeaderRequestID)
	post, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+id+"/"+suffix, strings.NewReader(body))
	presp, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Errorf("POST %s: %v", suffix, err)
		return resp.Header, payload, 0
	}
	presp.Body.Close()
	return resp.Header, payload, presp.StatusCode
}

func TestInvokeSendsTheHeadersTheSDKReads(t *testing.T) {
	srv := NewServerT(t, Options{Region: "ap-southeast-1"})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	type seen struct {
		h       http.Header
		payload []byte
		status  int
	}
	got := make(chan seen, 1)
	before := time.Now()
	go func() {
		h, p, st := fakeFunction(t, ctx, srv, "response", `{"ok":true}`)
		got <- seen{h, p, st}
	}()
	resp, err := srv.Invoke(ctx, []byte("hello"), InvokeOptions{
		RequestID:   "req-1",
		Timeout:     1500 * time.Millisecond,
		Credentials: Credentials{KeyID: "AKID", Secret: "SECRET", Token: "TOKEN"},
		RetryCount:  2,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if string(s.payload) != "hello" || s.status != http.StatusOK {
		t.Errorf("function got payload %q, answer status %d; want hello, 200", s.payload, s.status)
	}
	for name, want := range map[string]string{
		HeaderRequestID:       "req-1",
		HeaderFunctionTimeout: "2", // 1.5 s rounded up to whole seconds
		HeaderAccessKeyID:     "AKID",
		HeaderAccessKeySecret: "SECRET",
		HeaderSecurityToken:   "TOKEN",
		HeaderRetryCount:      "2",
		HeaderRegion:          "ap-southeast-1",
		HeaderFunctionName:    DefaultFunctionName,
		HeaderFunctionMemory:  strconv.Itoa(DefaultMemoryMB),
		HeaderAccountID:       DefaultAccountID,
		HeaderFunctionType:    "", // a handler call sends none
	} {
		if v := s.h.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	ms, err := strconv.ParseInt(s.h.Get(HeaderDeadline), 10, 64)
	if err != nil {
		t.Fatalf("deadline header %q: %v", s.h.Get(HeaderDeadline), err)
	}
	if ms != resp.Deadline.UnixMilli() {
		t.Errorf("deadline header %d ms, Response.Deadline %d ms", ms, resp.Deadline.UnixMilli())
	}
	if resp.Deadline.Sub(resp.Dispatched) != 1500*time.Millisecond {
		t.Errorf("deadline - dispatch = %v, want the invocation timeout 1.5s", resp.Deadline.Sub(resp.Dispatched))
	}
	if string(resp.Body) != `{"ok":true}` || resp.Err != nil || resp.TimedOut {
		t.Errorf("response = %+v, want body {\"ok\":true}", resp)
	}
	if first, ok := srv.FirstNext(); !ok || first.Before(before) || srv.Nexts() != 1 {
		t.Errorf("FirstNext = %v, %v; Nexts = %d; want one GET next after %v", first, ok, srv.Nexts(), before)
	}
}

func TestInvokeReportsTheFunctionErrorPayload(t *testing.T) {
	srv := NewServerT(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		_, _, st := fakeFunction(t, ctx, srv, "error", `{"errorMessage":"boom","errorType":"errorString"}`)
		done <- st
	}()
	resp, err := srv.Invoke(ctx, nil, InvokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := <-done; st != http.StatusOK {
		t.Errorf("POST error answered %d, want 200", st)
	}
	if resp.Err == nil || resp.Err.Message != "boom" || resp.Err.Type != "errorString" || resp.Body != nil {
		t.Errorf("response = %+v, Err = %+v; want errorString boom", resp, resp.Err)
	}
	if !strings.HasPrefix(resp.RequestID, "fc-test-") {
		t.Errorf("generated request ID %q, want fc-test-N", resp.RequestID)
	}
}

func TestHeaderOverrideRemovesAHeader(t *testing.T) {
	srv := NewServerT(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	got := make(chan http.Header, 1)
	go func() {
		h, _, _ := fakeFunction(t, ctx, srv, "response", "null")
		got <- h
	}()
	if _, err := srv.Invoke(ctx, nil, InvokeOptions{Header: http.Header{
		HeaderFunctionTimeout: nil,
		HeaderRegion:          {"eu-central-1"},
	}}); err != nil {
		t.Fatal(err)
	}
	h := <-got
	if _, ok := h[http.CanonicalHeaderKey(HeaderFunctionTimeout)]; ok {
		t.Errorf("x-fc-function-timeout sent as %q, want it removed", h.Get(HeaderFunctionTimeout))
	}
	if h.Get(HeaderRegion) != "eu-central-1" {
		t.Errorf("region %q, want the override eu-central-1", h.Get(HeaderRegion))
	}
}

func TestInvokeWithNoFunctionWaitsUntilContextDone(t *testing.T) {
	srv := NewServerT(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := srv.Invoke(ctx, []byte("x"), InvokeOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke with nobody asking for work: %v, want context.DeadlineExceeded", err)
	}
	if _, ok := srv.FirstNext(); ok {
		t.Error("FirstNext reported with no GET next")
	}
}

func TestUnansweredInvocationTimesOutAtItsDeadline(t *testing.T) {
	srv := NewServerT(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	base := "http://" + srv.Addr() + "/" + APIVersion + "/runtime/invocation/"
	ids := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("GET next: %v", err)
			ids <- ""
			return
		}
		resp.Body.Close()
		ids <- resp.Header.Get(HeaderRequestID)
	}()
	resp, err := srv.Invoke(ctx, nil, InvokeOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.TimedOut || resp.Body != nil || resp.Err != nil {
		t.Errorf("response = %+v, want TimedOut", resp)
	}
	// A late answer finds nobody waiting.
	late, err := http.Post(base+<-ids+"/response", "application/json", strings.NewReader("1"))
	if err != nil {
		t.Fatal(err)
	}
	late.Body.Close()
	if late.StatusCode != http.StatusNotFound {
		t.Errorf("late answer status %d, want 404", late.StatusCode)
	}
}

func TestDuplicateRequestIDInFlightIsRefused(t *testing.T) {
	srv := NewServerT(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := srv.Invoke(ctx, nil, InvokeOptions{RequestID: "same"})
		first <- err
	}()
	// Take the first invocation, so it is certainly in flight.
	base := "http://" + srv.Addr() + "/" + APIVersion + "/runtime/invocation/"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if _, err := srv.Invoke(ctx, nil, InvokeOptions{RequestID: "same"}); err == nil || !strings.Contains(err.Error(), "already in flight") {
		t.Errorf("second Invoke with the same ID: %v, want already in flight", err)
	}
	answer, err := http.Post(base+"same/response", "application/json", strings.NewReader("null"))
	if err != nil {
		t.Fatal(err)
	}
	answer.Body.Close()
	if err := <-first; err != nil {
		t.Errorf("first Invoke: %v", err)
	}
}

func TestCloseReleasesWaiters(t *testing.T) {
	srv := NewServer(Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	nextStatus := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.Addr()+"/"+APIVersion+"/runtime/invocation/next", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			nextStatus <- 0
			return
		}
		resp.Body.Close()
		nextStatus <- resp.StatusCode
	}()
	if _, err := srv.WaitFirstNext(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Close() // must not hang on the blocked GET next
	if st := <-nextStatus; st != http.StatusServiceUnavailable && st != 0 {
		t.Errorf("blocked GET next answered %d at close, want 503 or a closed connection", st)
	}
	if _, err := srv.Invoke(ctx, nil, InvokeOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
	srv.Close() // idempotent
}

func TestNegativeTimeoutIsRefused(t *testing.T) {
	srv := NewServerT(t, Options{})
	if _, err := srv.Invoke(t.Context(), nil, InvokeOptions{Timeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("Invoke with a negative timeout: %v, want an error saying so", err)
	}
}
