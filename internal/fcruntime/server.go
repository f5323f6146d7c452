// Package fcruntime is a test implementation of the runtime API that Alibaba
// Cloud Function Compute offers a Go function built with
// github.com/aliyun/fc-runtime-go-sdk (v0.3.1), so that a real function binary
// can be run, invoked and timed on this machine with no account.
//
// The SDK's fc.Start reads FC_RUNTIME_API (host:port, no scheme) and then
// loops: GET /2020-11-11/runtime/invocation/next, which blocks until there is
// work; the handler runs in its own goroutine (the SDK asks for the next
// invocation at once, so several may be in flight); the result is POSTed to
// /2020-11-11/runtime/invocation/{request-id}/response, or a JSON
// {"errorMessage","errorType"[,"stackTrace"]} to .../{request-id}/error when
// the handler returns an error or panics (a panic does not end the process).
// Everything the function knows about an invocation comes from the headers of
// the GET next answer; see Server.Invoke for the ones sent.
//
// A Server is an httptest server on 127.0.0.1. Start a function with
// StartProcess (or StartT in tests) pointing at it, then call Invoke.
//
// Cold start: with a fresh Server and process, Process.Started (just before
// fork/exec) to Server.FirstNext (the first GET next: initialisation done,
// asking for an event) is the init time, and Process.Started to the first
// Response.Responded is the time to the first response (Invoke may be called
// right after StartProcess: it waits for the function to ask). Both are
// measured on this side of loopback HTTP, at the resolution of time.Now.
//
// SDK quirks worth knowing: without x-fc-function-timeout (or with an
// unparsable deadline) the SDK logs "failed to parse contents of header" and
// never answers; a failed GET next is retried at once, with no pause, so stop
// the process before the server; there is no init-error call; a []byte
// output is sent as a base64 JSON string.
package fcruntime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// APIVersion is the path prefix of the runtime API the SDK speaks.
const APIVersion = "2020-11-11"

// Header names the SDK reads from the answer to GET next.
const (
	HeaderRequestID       = "x-fc-request-id"
	HeaderDeadline        = "x-fc-function-deadline" // Unix milliseconds
	HeaderFunctionTimeout = "x-fc-function-timeout"  // whole seconds; without it the SDK never answers
	HeaderAccessKeyID     = "x-fc-access-key-id"
	HeaderAccessKeySecret = "x-fc-access-key-secret"
	HeaderSecurityToken   = "x-fc-security-token"
	HeaderFunctionType    = "x-fc-function-type"
	HeaderFunctionName    = "x-fc-function-name"
	HeaderFunctionHandler = "x-fc-function-handler"
	HeaderFunctionMemory  = "x-fc-function-memory"
	HeaderRegion          = "x-fc-region"
	HeaderAccountID       = "x-fc-account-id"
	HeaderQualifier       = "x-fc-qualifier"
	HeaderVersionID       = "x-fc-version-id"
	HeaderRetryCount      = "x-fc-retry-count"
)

// FunctionType is the kind of call an invocation is (x-fc-function-type).
type FunctionType int

// The kinds the SDK knows. Lifecycle calls run the hooks registered with
// fc.RegisterInitializerFunction, fc.RegisterPreStopFunction and
// fc.RegisterPreFreezeFunction; calling one that is not registered makes the
// SDK report a panic ("no initializer handler registered"). FC 3.0 no longer
// calls PreFreeze.
const (
	TypeHandler     FunctionType = 0
	TypeInitializer FunctionType = 1
	TypePreStop     FunctionType = 2
	TypePreFreeze   FunctionType = 3
)

// Defaults of Options.
const (
	DefaultFunctionName = "handshake-janitor"
	DefaultHandler      = "main"
	DefaultMemoryMB     = 128
	DefaultRegion       = "cn-hangzhou"
	DefaultAccountID    = "1234567890123456"
	DefaultTimeout      = 30 * time.Second
)

// maxBody bounds what the server reads from the function (FC's own limit on a
// synchronous response is lower).
const maxBody = 32 << 20

// ErrClosed is returned by Invoke once the server is closed.
var ErrClosed = errors.New("fcruntime: server closed")

// Options describe the function the server stands in for. Zero fields take
// the Default values. They become both headers of every invocation and, in
// StartProcess, the FC_* environment FC gives an instance.
type Options struct {
	FunctionName string
	Handler      string
	MemoryMB     int
	Region       string
	AccountID    string
	Qualifier    string
	// Timeout is the function's timeout, the default of InvokeOptions.Timeout.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.FunctionName == "" {
		o.FunctionName = DefaultFunctionName
	}
	if o.Handler == "" {
		o.Handler = DefaultHandler
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = DefaultMemoryMB
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Qualifier == "" {
		o.Qualifier = "LATEST"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Credentials are the invocation's role credentials, sent in the
// x-fc-access-key-id, x-fc-access-key-secret and x-fc-security-token headers
// (each only when set) and read by the SDK into fccontext.Credentials.
type Credentials struct {
	KeyID  string
	Secret string
	Token  string
}

// InvokeOptions shape one invocation.
type InvokeOptions struct {
	// RequestID is x-fc-request-id; empty means a fresh "fc-test-N".
	RequestID string
	// Timeout of this invocation; zero means Options.Timeout. The deadline
	// header is the time the function receives the invocation plus Timeout,
	// to the millisecond; the timeout header is Timeout rounded up to whole
	// seconds (the SDK parses an integer). Invoke stops waiting at the
	// deadline and reports TimedOut, as FC does.
	Timeout time.Duration
	// Credentials of the invocation; all empty sends no credential header.
	Credentials Credentials
	// Type is x-fc-function-type; the zero value is a handler call and sends
	// no header.
	Type FunctionType
	// RetryCount is x-fc-retry-count when positive.
	RetryCount int
	// Header is applied last: each key replaces the header of that name, and
	// a key with no value or an empty value removes it (to test what the SDK
	// does without, say, x-fc-function-timeout).
	Header http.Header
}

// Response is what the function answered.
type Response struct {
	RequestID string
	// Body is what the function POSTed to .../response: its output marshalled
	// as JSON by the SDK (a []byte output arrives as a base64 JSON string;
	// use json.RawMessage to return raw JSON).
	Body []byte
	// Err is what the function POSTed to .../error, nil on success.
	Err *ErrorBody
	// TimedOut is set when the deadline passed with no answer; Body and Err
	// are then empty, and a late answer is refused with 404.
	TimedOut bool
	// Dispatched is when GET next handed the invocation to the function;
	// Responded is when its answer arrived (zero when TimedOut).
	Dispatched time.Time
	Responded  time.Time
	// Deadline is the deadline sent in x-fc-function-deadline.
	Deadline time.Time
}

// ErrorBody is the SDK's error payload (messages.InvokeResponse_Error). For
// an error the handler returns, Type is the error's Go type name (for
// errors.New: "errorString"); for a panic, Message is the panic value and
// StackTrace is set.
type ErrorBody struct {
	Message    string       `json:"errorMessage"`
	Type       string       `json:"errorType"`
	StackTrace []StackFrame `json:"stackTrace,omitempty"`
	// Raw is the payload as received.
	Raw []byte `json:"-"`
}

// StackFrame is one frame of a panic's stack trace.
type StackFrame struct {
	Path  string `json:"path"`
	Line  int32  `json:"line"`
	Label string `json:"label"`
}

func (e *ErrorBody) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Server implements the runtime API. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	srv     *httptest.Server
	queue   chan *call // unbuffered: a send is a handoff to a waiting GET next
	closing chan struct{}
	once    sync.Once
	seq     atomic.Uint64

	mu        sync.Mutex
	inflight  map[string]*call
	firstNext time.Time
	nexts     int
	nextSeen  chan struct{} // closed at the first GET next
}

type call struct {
	id         string
	payload    []byte
	header     http.Header // all but the deadline, set at dispatch
	override   http.Header // InvokeOptions.Header, applied after the deadline
	timeout    time.Duration
	dispatched chan time.Time // buffered 1
	done       chan Response  // buffered 1
}

// NewServer starts a runtime API server on 127.0.0.1. Close it when done,
// after stopping the function processes that use it (the SDK retries a
// failed GET next in a tight loop with no pause).
func NewServer(opts Options) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		queue:    make(chan *call),
		closing:  make(chan struct{}),
		inflight: make(map[string]*call),
		nextSeen: make(chan struct{}),
	}
	mux := http.NewServeMux()
	prefix := "/" + APIVersion + "/runtime/invocation/"
	mux.HandleFunc("GET "+prefix+"next", s.next)
	mux.HandleFunc("POST "+prefix+"{id}/response", s.answer(false))
	mux.HandleFunc("POST "+prefix+"{id}/error", s.answer(true))
	s.srv = httptest.NewServer(mux)
	return s
}

// Addr is host:port of the server, the value of FC_RUNTIME_API.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Close releases every waiting GET next and Invoke and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// FirstNext reports when the first GET next arrived: for a fresh process,
// the moment its initialisation ended and it asked for its first event.
func (s *Server) FirstNext() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstNext, !s.firstNext.IsZero()
}

// WaitFirstNext waits until the first GET next has arrived, or ctx is done.
func (s *Server) WaitFirstNext(ctx context.Context) (time.Time, error) {
	select {
	case <-s.nextSeen:
		t, _ := s.FirstNext()
		return t, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("fcruntime: waiting for the function's first GET next: %w", context.Cause(ctx))
	case <-s.closing:
		return time.Time{}, ErrClosed
	}
}

// Nexts counts the GET next requests received so far.
func (s *Server) Nexts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nexts
}

// Invoke hands payload to the next GET next (waiting for one as long as ctx
// allows: a cold process asks only once initialised), then waits for the
// function's answer until the invocation's deadline or ctx is done. The
// error is non-nil only when there is no answer to report: ctx done, server
// closed, bad options. A function error is Response.Err; a timeout is
// Response.TimedOut.
//
// The GET next answer carries x-fc-request-id, x-fc-function-deadline,
// x-fc-function-timeout, the credential headers when set, and
// x-fc-function-name, -handler, -memory, x-fc-region, x-fc-account-id,
// x-fc-qualifier, x-fc-version-id from Options.
func (s *Server) Invoke(ctx context.Context, payload []byte, opts InvokeOptions) (Response, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = s.opts.Timeout
	}
	if timeout < 0 {
		return Response{}, fmt.Errorf("fcruntime: invoke timeout %v is negative", timeout)
	}
	id := opts.RequestID
	if id == "" {
		id = "fc-test-" + strconv.FormatUint(s.seq.Add(1), 10)
	}
	c := &call{
		id:         id,
		payload:    bytes.Clone(payload),
		header:     s.headers(id, timeout, opts),
		override:   opts.Header.Clone(),
		timeout:    timeout,
		dispatched: make(chan time.Time, 1),
		done:       make(chan Response, 1),
	}
	s.mu.Lock()
	_, dup := s.inflight[id]
	if !dup {
		s.inflight[id] = c
	}
	s.mu.Unlock()
	if dup {
		return Response{}, fmt.Errorf("fcruntime: request ID %q is already in flight", id)
	}
	defer s.forget(c)

	select {
	case s.queue <- c:
	case <-ctx.Done():
		return Response{}, fmt.Errorf("fcruntime: waiting for the function to ask for work: %w", context.Cause(ctx))
	case <-s.closing:
		return Response{}, ErrClosed
	}
	at := <-c.dispatched // sent by the GET next handler right after the handoff
	deadline := at.Add(timeout)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case r := <-c.done:
		r.Dispatched, r.Deadline = at, deadline
		return r, nil
	case <-timer.C:
		return Response{RequestID: id, TimedOut: true, Dispatched: at, Deadline: deadline}, nil
	case <-ctx.Done():
		return Response{}, fmt.Errorf("fcruntime: waiting for the answer to %s: %w", id, context.Cause(ctx))
	case <-s.closing:
		return Response{}, ErrClosed
	}
}

func (s *Server) forget(c *call) {
	s.mu.Lock()
	if s.inflight[c.id] == c {
		delete(s.inflight, c.id)
	}
	s.mu.Unlock()
}

func (s *Server) headers(id string, timeout time.Duration, opts InvokeOptions) http.Header {
	h := http.Header{}
	h.Set(HeaderRequestID, id)
	h.Set(HeaderFunctionTimeout, strconv.Itoa(int(math.Ceil(timeout.Seconds()))))
	if opts.Credentials.KeyID != "" {
		h.Set(HeaderAccessKeyID, opts.Credentials.KeyID)
	}
	if opts.Credentials.Secret != "" {
		h.Set(HeaderAccessKeySecret, opts.Credentials.Secret)
	}
	if opts.Credentials.Token != "" {
		h.Set(HeaderSecurityToken, opts.Credentials.Token)
	}
	if opts.Type != TypeHandler {
		h.Set(HeaderFunctionType, strconv.Itoa(int(opts.Type)))
	}
	if opts.RetryCount > 0 {
		h.Set(HeaderRetryCount, strconv.Itoa(opts.RetryCount))
	}
	h.Set(HeaderFunctionName, s.opts.FunctionName)
	h.Set(HeaderFunctionHandler, s.opts.Handler)
	h.Set(HeaderFunctionMemory, strconv.Itoa(s.opts.MemoryMB))
	h.Set(HeaderRegion, s.opts.Region)
	h.Set(HeaderAccountID, s.opts.AccountID)
	h.Set(HeaderQualifier, s.opts.Qualifier)
	h.Set(HeaderVersionID, s.opts.Qualifier)
	h.Set("Content-Type", "application/octet-stream")
	return h
}

// next answers GET next once an invocation is handed over, and not before.
func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	s.nexts++
	if s.firstNext.IsZero() {
		s.firstNext = now
		close(s.nextSeen)
	}
	s.mu.Unlock()

	var c *call
	select {
	case c = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closing:
		http.Error(w, "runtime API closed", http.StatusServiceUnavailable)
		return
	}
	at := time.Now()
	c.dispatched <- at
	h := w.Header()
	for k, v := range c.header {
		h[k] = v
	}
	h.Set(HeaderDeadline, strconv.FormatInt(at.Add(c.timeout).UnixMilli(), 10))
	// Overrides last, so a test can also remove or garble the deadline.
	for k, v := range c.override {
		if len(v) == 0 || v[0] == "" {
			h.Del(k)
		} else {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.payload)
}

// answer handles POST .../{id}/response and .../{id}/error.
func (s *Server) answer(isErr bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > maxBody {
			http.Error(w, "body over "+strconv.Itoa(maxBody)+" bytes", http.StatusRequestEntityTooLarge)
			return
		}
		s.mu.Lock()
		c := s.inflight[id]
		if c != nil {
			delete(s.inflight, id)
		}
		s.mu.Unlock()
		if c == nil {
			http.Error(w, "no invocation in flight with this request ID", http.StatusNotFound)
			return
		}
		resp := Response{RequestID: id, Responded: time.Now()}
		if isErr {
			eb := &ErrorBody{Raw: body}
			if err := json.Unmarshal(body, eb); err != nil {
				eb.Message, eb.Type = string(body), "fcruntime.UnparsableError"
			}
			resp.Err = eb
		} else {
			resp.Body = body
		}
		c.done <- resp
		w.WriteHeader(http.StatusOK)
	}
}
