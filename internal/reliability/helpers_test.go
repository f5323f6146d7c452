package reliability

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// emulator serves an rmemu Server over HTTP on 127.0.0.1, seeded with hs.
func emulator(t *testing.T, opts rmemu.Options, hs ...handshake.Handshake) (*rmemu.Server, *httptest.Server) {
	t.Helper()
	emu := rmemu.New(opts)
	if err := emu.Seed(hs...); err != nil {
		t.Fatalf("seed: %v", err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv
}

// testCredentials are the emulator's well-known long-term key.
var testCredentials = resourcemanager.StaticCredentials(resourcemanager.Credentials{
	AccessKeyID:     rmemu.TestAccessKeyID,
	AccessKeySecret: rmemu.TestAccessKeySecret,
})

// newClient is a real client for the emulator at endpoint.
func newClient(t *testing.T, endpoint string, o resourcemanager.Options) *resourcemanager.Client {
	t.Helper()
	o.Endpoint = endpoint
	if o.Credentials == nil {
		o.Credentials = testCredentials
	}
	c, err := resourcemanager.New(o)
	if err != nil {
		t.Fatalf("resourcemanager.New: %v", err)
	}
	return c
}

// newHandler builds the function's handler exactly as functions/aws and
// functions/fc do (handler.New from a Config loaded from the environment),
// against the emulator at endpoint, logging to a buffer.
func newHandler(t *testing.T, platform, endpoint string, env map[string]string, creds resourcemanager.CredentialsProvider) (*handler.Handler, *testkit.LogBuffer) {
	t.Helper()
	vars := map[string]string{
		config.EnvEndpoint:       endpoint,
		config.EnvAPIQPS:         "1000",
		config.EnvAPIConcurrency: "16",
		config.EnvAPITimeout:     "2s",
		config.EnvLogLevel:       "trace",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	logs := &testkit.LogBuffer{}
	h, err := handler.New(platform, cfg, logging.New(logs, cfg.LogLevel), creds)
	if err != nil {
		t.Fatalf("handler.New: %v", err)
	}
	return h, logs
}

// idAlphabet is what the 16 characters of an ID are drawn from.
const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomID returns a valid ID drawn from rng.
func randomID(rng *rand.Rand) string {
	b := []byte("h-................")
	for i := 2; i < len(b); i++ {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

// pending is a Pending invitation created an hour ago: named explicitly,
// it is cancelled; it expires in two weeks, long after any test.
func pending(id string) handshake.Handshake {
	return handshake.Handshake{HandshakeID: id, Status: handshake.StatusPending, CreateTime: time.Now().Add(-time.Hour), TargetEntity: "1000000000000001"}
}

// final is an invitation already in status s.
func final(id string, s handshake.Status) handshake.Handshake {
	h := pending(id)
	h.Status = s
	return h
}

// resultLine is the part of a per-result log line these tests read.
type resultLine struct {
	ID      string
	Outcome handshake.Outcome
	Code    string
}

// results returns the per-result lines written so far, in order.
func results(t *testing.T, b *testkit.LogBuffer) []resultLine {
	t.Helper()
	var out []resultLine
	for _, m := range b.Lines(t) {
		id, ok := m[logging.FieldHandshakeID].(string)
		if !ok {
			continue
		}
		o, _ := m[logging.FieldOutcome].(string)
		c, _ := m[logging.FieldErrorCode].(string)
		out = append(out, resultLine{ID: id, Outcome: handshake.Outcome(o), Code: c})
	}
	return out
}

// cancelCalls returns the emulator's CancelHandshake calls, once every
// request it is serving has been logged (it logs a call after answering,
// so a client may see the answer first; the wait is bounded).
func cancelCalls(emu *rmemu.Server) []rmemu.Call {
	for range 400 {
		if emu.Stats().InFlight == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var out []rmemu.Call
	for _, c := range emu.Calls() {
		if c.Action == "CancelHandshake" {
			out = append(out, c)
		}
	}
	return out
}

// applied counts, per ID, the CancelHandshake calls that cancelled the
// invitation: answered 200, or dropped after the cancel was applied.
func applied(calls []rmemu.Call) map[string]int {
	n := make(map[string]int)
	for _, c := range calls {
		if c.Status == 200 {
			n[c.HandshakeID]++
		}
	}
	return n
}

// moduleRoot is the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}

// percent formats n of total.
func percent(n, total int) string {
	if total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// apiRequest is one request as it reached the API, before the emulator
// parsed it.
type apiRequest struct {
	Method   string
	Path     string
	RawQuery string
	Action   string // the x-acs-action header
	Body     []byte
}

// recorder sits in front of the emulator and keeps every request as sent,
// so that a test can check what crossed the wire, not what the emulator
// made of it.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []apiRequest
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, apiRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Action: r.Header.Get("x-acs-action"), Body: body})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests() []apiRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// recordedEmulator serves emu behind a recorder on 127.0.0.1.
func recordedEmulator(t *testing.T, emu *rmemu.Server) (*recorder, *httptest.Server) {
	t.Helper()
	rec := &recorder{next: emu}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

// apiParams are the only query parameters the client may send.
var apiParams = map[string]bool{"Format": true, "HandshakeId": true, "PageNumber": true, "PageSize": true}

// apiActions are the only actions the function may call.
var apiActions = map[string]bool{"CancelHandshake": true, "GetHandshake": true, "ListHandshakesForResourceDirectory": true}

// checkWire asserts that every request carried only known parameters, a
// known action, and, as HandshakeId, only an ID that passes
// handshake.ParseID; it returns the IDs sent.
func checkWire(t *testing.T, reqs []apiRequest) []string {
	t.Helper()
	var ids []string
	for _, r := range reqs {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			t.Errorf("request with a malformed query %.200q: %v", r.RawQuery, err)
			continue
		}
		if r.Path != "/" || len(r.Body) != 0 || !apiActions[r.Action] {
			t.Errorf("request %s %s action %q with a %d-byte body: want POST / with a known action and no body", r.Method, r.Path, r.Action, len(r.Body))
		}
		for k, vs := range q {
			if !apiParams[k] || len(vs) != 1 {
				t.Errorf("request carries parameter %q = %q: want only Format, HandshakeId, PageNumber, PageSize, once each", k, vs)
			}
		}
		if id := q.Get("HandshakeId"); id != "" || q.Has("HandshakeId") {
			if _, err := handshake.ParseID(id); err != nil {
				t.Errorf("request carries HandshakeId %q, which is not a valid ID", id)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// summaryTotal is the number of Results s counts.
func summaryTotal(s janitor.Summary) int {
	total := 0
	for _, n := range s {
		total += n
	}
	return total
}
