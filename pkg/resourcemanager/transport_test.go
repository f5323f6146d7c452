package resourcemanager

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The package's own HTTP/1.1 transport (transport.go): connections kept and
// reused only when that is safe, requests never silently sent twice.

// connCounter serves okBody and counts the connections the client opened.
type connCounter struct {
	s     *httptest.Server
	conns atomic.Int64
	reqs  atomic.Int64
}

func newConnCounter(t *testing.T, h http.HandlerFunc) *connCounter {
	t.Helper()
	cc := &connCounter{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, okBody)
		}
	}
	cc.s = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cc.reqs.Add(1)
		h(w, r)
	}))
	cc.s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			cc.conns.Add(1)
		}
	}
	cc.s.Start()
	t.Cleanup(cc.s.Close)
	return cc
}

func defaultTransport(t *testing.T, c *Client) *transport {
	t.Helper()
	tr, ok := c.hc.Transport.(*transport)
	if !ok {
		t.Fatalf("transport %T, want the package's own", c.hc.Transport)
	}
	return tr
}

func TestTransportReusesOneConnectionForSequentialCalls(t *testing.T) {
	cc := newConnCounter(t, nil)
	c := fastClient(t, cc.s.URL, Options{})
	for range 20 {
		if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.conns.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential calls, want 1", n)
	}
	if n := defaultTransport(t, c).idleCount(); n != 1 {
		t.Fatalf("%d idle connections kept, want 1", n)
	}
}

func TestTransportReplacesAConnectionTheServerClosedWhileIdle(t *testing.T) {
	cc := newConnCounter(t, nil)
	c := fastClient(t, cc.s.URL, Options{})
	for i := range 3 {
		res, err := c.CancelHandshake(context.Background(), testID)
		if err != nil || res.Attempts != 1 {
			t.Fatalf("call %d: %v after %d attempts, want success at the first", i, err, res.Attempts)
		}
		// The server drops every connection between calls, as a load
		// balancer's idle timeout would.
		cc.s.CloseClientConnections()
		deadline := time.Now().Add(2 * time.Second)
		for alive(firstIdle(t, defaultTransport(t, c))) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if n, r := cc.conns.Load(), cc.reqs.Load(); n != 3 || r != 3 {
		t.Fatalf("%d connections and %d requests, want 3 of each (no request sent twice)", n, r)
	}
}

// firstIdle returns a kept connection without taking it out of the pool.
func firstIdle(t *testing.T, tr *transport) net.Conn {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, list := range tr.idle {
		if len(list) > 0 {
			return list[0].raw
		}
	}
	t.Fatal("no idle connection kept")
	return nil
}

func TestTransportDoesNotResendARequestWhoseAnswerNeverCame(t *testing.T) {
	var n atomic.Int64
	cc := newConnCounter(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			// Read, then gone without a word: the service may have acted.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, okBody)
	})
	c := fastClient(t, cc.s.URL, Options{})
	if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
		t.Fatal(err)
	}
	// The second call goes over the kept connection, which is dropped
	// after the request was read: the client's retry, not the transport,
	// sends it again, and counts it.
	res, err := c.CancelHandshake(context.Background(), testID)
	if err != nil || res.Attempts != 2 {
		t.Fatalf("%v after %d attempts, want success at the second attempt", err, res.Attempts)
	}
	if r := cc.reqs.Load(); r != 3 {
		t.Fatalf("%d requests, want 3", r)
	}
}

func TestTransportKeepsAConnectionOnlyWhenItsAnswerWasReadToTheEnd(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		read    func(io.Reader)
		keep    bool
	}{
		{"read to the end", nil, func(r io.Reader) { io.Copy(io.Discard, r) }, true},
		{"chunked, read to the end", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, okBody[:10])
			w.(http.Flusher).Flush()
			io.WriteString(w, okBody[10:])
		}, func(r io.Reader) { io.Copy(io.Discard, r) }, true},
		{"read in part", nil, func(r io.Reader) { r.Read(make([]byte, 5)) }, false},
		{"not read", nil, func(io.Reader) {}, false},
		{"Connection: close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, okBody)
		}, func(r io.Reader) { io.Copy(io.Discard, r) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := newConnCounter(t, tt.handler)
			tr := newTransport(&net.Dialer{Timeout: time.Second}, &tls.Config{}, time.Second)
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, cc.s.URL+"/?a=b", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			tt.read(resp.Body)
			resp.Body.Close()
			if kept := tr.idleCount() == 1; kept != tt.keep {
				t.Fatalf("connection kept: %v, want %v", kept, tt.keep)
			}
			if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
				t.Fatal("read after Close succeeded")
			}
		})
	}
}

func TestTransportDropsConnectionsIdleTooLong(t *testing.T) {
	cc := newConnCounter(t, nil)
	c := fastClient(t, cc.s.URL, Options{})
	defaultTransport(t, c).idleFor = time.Millisecond
	for range 2 {
		if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := cc.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: one kept longer than idleFor must not be reused", n)
	}
}

func TestTransportSkipsInformationalAnswers(t *testing.T) {
	cc := newConnCounter(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</x>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, okBody)
	})
	c := fastClient(t, cc.s.URL, Options{})
	res, err := c.CancelHandshake(context.Background(), testID)
	if err != nil || res.RequestID != "R-OK" {
		t.Fatalf("%+v, %v: want the final answer", res, err)
	}
}

func TestTransportRefusesHeadersThatWouldSplitTheRequest(t *testing.T) {
	cc := newConnCounter(t, nil)
	c := fastClient(t, cc.s.URL, Options{Credentials: StaticCredentials(Credentials{
		AccessKeyID: "STS.key", AccessKeySecret: "secret", SecurityToken: "token\r\nX-Injected: 1",
	})})
	if _, err := c.CancelHandshake(context.Background(), testID); err == nil {
		t.Fatal("a security token holding CR LF was sent")
	}
	if r := cc.reqs.Load(); r != 0 {
		t.Fatalf("%d requests reached the server, want none", r)
	}
}

func TestWriteRequestWritesAnHTTP11RequestWithoutBody(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8088/?Format=JSON&HandshakeId=h-abcdEFGH12345678", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Acs-Action", "CancelHandshake")
	var b strings.Builder
	w := bufio.NewWriter(&b)
	if err := writeRequest(w, req); err != nil {
		t.Fatal(err)
	}
	got, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		t.Fatalf("%v in %q", err, b.String())
	}
	if got.Method != http.MethodPost || got.RequestURI != "/?Format=JSON&HandshakeId=h-abcdEFGH12345678" ||
		got.Host != "127.0.0.1:8088" || got.ContentLength != 0 || got.Header.Get("X-Acs-Action") != "CancelHandshake" {
		t.Fatalf("request read back as %s %s host %s length %d header %v", got.Method, got.RequestURI, got.Host, got.ContentLength, got.Header)
	}
}

func TestTransportOverTLS(t *testing.T) {
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) }))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	c := fastClient(t, s.URL, Options{})
	defaultTransport(t, c).tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	for range 3 {
		if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d TLS connections for 3 calls, want 1", n)
	}
}

func TestTransportCallerCancelEndsAHangingAnswer(t *testing.T) {
	release := make(chan struct{})
	cc := newConnCounter(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := newTransport(&net.Dialer{Timeout: time.Second}, &tls.Config{}, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cc.s.URL+"/", nil)
	time.AfterFunc(20*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		done <- err
	}()
	select {
	case err := <-done:
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err %v, want the connection's deadline cut short", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RoundTrip still waiting 5s after its context was cancelled")
	}
	if tr.idleCount() != 0 {
		t.Fatal("a connection cut off mid-answer was kept")
	}
}

func TestTransportConnKeyPerEndpoint(t *testing.T) {
	tr := newTransport(&net.Dialer{}, &tls.Config{}, time.Second)
	tests := []struct {
		url, key, addr string
		ok             bool
	}{
		{"http://127.0.0.1:8088/?a=b", "http://127.0.0.1:8088", "127.0.0.1:8088", true},
		{"https://resourcemanager.aliyuncs.com/?a=b", "https://resourcemanager.aliyuncs.com:443", "resourcemanager.aliyuncs.com:443", true},
		{"http://localhost/", "http://localhost:80", "localhost:80", true},
		{"http://[::1]:9000/", "http://[::1]:9000", "[::1]:9000", true},
		{"http://127.0.0.1:8088/", "http://127.0.0.1:8088", "127.0.0.1:8088", true}, // back to the first
		{"ftp://127.0.0.1/", "", "", false},
		{"http:///x", "", "", false},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPost, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		key, addr, err := tr.connKey(req)
		if (err == nil) != tt.ok || key != tt.key || addr != tt.addr {
			t.Errorf("connKey(%s) = %q, %q, %v; want %q, %q, ok %v", tt.url, key, addr, err, tt.key, tt.addr, tt.ok)
		}
	}
}
