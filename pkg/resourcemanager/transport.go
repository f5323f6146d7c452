package resourcemanager

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// transport is the client's default http.RoundTripper: HTTP/1.1 over
// keep-alive connections, each request written and its answer read in the
// calling goroutine.
//
// Why not http.Transport: it runs a reader and a writer goroutine per
// connection and passes every request and answer between them and the
// caller over channels. For a client that sends small requests and waits
// for small answers, those hand-offs cost more than the request itself:
// each wakes a goroutine, often on another thread (a futex call, which in a
// Lambda or FC microVM is a VM exit), and each allocates. Here a request
// costs its writes, the reads of its answer and one wait in the network
// poller (README.md, "Performance" has the figures).
//
// The scope is what this package needs, no more: requests without a body
// (every call of this package puts its parameters in the query), answers
// read to the end (attempt reads them whole), one request at a time per
// connection, http and https. newHTTPClient keeps http.Transport when the
// environment names a proxy for the endpoint.
type transport struct {
	dialer    *net.Dialer
	tlsConfig *tls.Config // cloned per connection, ServerName set
	tlsWait   time.Duration
	maxIdle   int           // per scheme://host:port
	idleFor   time.Duration // an idle connection older than this is not reused

	lastKey atomic.Pointer[endpointKey]

	mu   sync.Mutex
	idle map[string][]*persistConn // most recently used last
}

func newTransport(dialer *net.Dialer, tlsConfig *tls.Config, tlsWait time.Duration) *transport {
	return &transport{
		dialer:    dialer,
		tlsConfig: tlsConfig,
		tlsWait:   tlsWait,
		maxIdle:   64,
		idleFor:   idleConnTimeout,
		idle:      make(map[string][]*persistConn),
	}
}

// idleConnTimeout is how long an unused connection is kept. Short: servers
// and load balancers close idle connections on their own schedule (often
// within a minute), and a function sandbox may be frozen between
// invocations for much longer. One older than this is closed rather than
// checked.
const idleConnTimeout = 15 * time.Second

// persistConn is one connection with its buffers.
type persistConn struct {
	conn    net.Conn // raw, or TLS over raw
	raw     net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	idledAt time.Time
}

// errNotSent marks a request whose write failed: nothing of it reached the
// server, so it may be sent again.
var errNotSent = errors.New("request not sent")

// RoundTrip sends req and reads the answer's header; the caller reads the
// body and closes it, which gives the connection back for another request
// once the body was read to its end.
//
// A kept connection the server closed while it was idle is found out
// before use (alive) and replaced. Should the server close it just after
// that check, the write fails and the request goes once more on a new
// connection: nothing of it was sent. A request written whose answer never
// comes is not sent again here; it is the caller's error to retry (and to
// count), as with http.Transport.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body.Close()
		return nil, errors.New("resourcemanager: transport: requests carry no body")
	}
	key, addr, err := t.connKey(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	for fresh := false; ; fresh = true {
		var pc *persistConn
		if !fresh {
			pc = t.get(key)
		}
		reused := pc != nil
		if pc == nil {
			if pc, err = t.dial(ctx, req.URL.Scheme, addr); err != nil {
				return nil, err
			}
		}
		resp, err := t.exchange(ctx, pc, req)
		if err == nil {
			b := resp.Body.(*body)
			b.t, b.key = t, key
			return resp, nil
		}
		pc.conn.Close()
		if reused && errors.Is(err, errNotSent) && ctx.Err() == nil {
			continue
		}
		return nil, err
	}
}

// exchange writes req on pc and reads the answer's header. Until the body
// is closed, ctx ending (or its deadline) interrupts the connection's reads
// and writes.
func (t *transport) exchange(ctx context.Context, pc *persistConn, req *http.Request) (*http.Response, error) {
	dl, _ := ctx.Deadline() // zero: none
	if err := pc.conn.SetDeadline(dl); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(aLongTimeAgo) })
	resp, err := roundTrip(pc, req)
	if err != nil {
		stop()
		return nil, err
	}
	resp.Body = &body{rc: resp.Body, pc: pc, stop: stop, keep: !resp.Close && !req.Close}
	return resp, nil
}

var aLongTimeAgo = time.Unix(1, 0)

// maxInformational bounds the 1xx answers skipped before the final one.
const maxInformational = 5

func roundTrip(pc *persistConn, req *http.Request) (*http.Response, error) {
	if err := writeRequest(pc.bw, req); err != nil {
		if isConnClosed(err) {
			return nil, fmt.Errorf("%w: %w", errNotSent, err)
		}
		return nil, err
	}
	for range maxInformational {
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		// 1xx: informational; the real answer follows.
	}
	return nil, errors.New("resourcemanager: transport: too many informational answers")
}

// isConnClosed reports whether a write error says the peer had closed the
// connection.
func isConnClosed(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// writeRequest writes req's request line and header, and flushes. Header
// values come from this package (action, version, signature, date, nonce)
// and from credentials; a value that could split the header is refused.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if !validToken(req.Method) || !validTarget(path) || !validTarget(req.URL.RawQuery) || !validValue(host) {
		return errors.New("resourcemanager: transport: invalid request line")
	}
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(path)
	if req.URL.RawQuery != "" || req.URL.ForceQuery {
		w.WriteByte('?')
		w.WriteString(req.URL.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vs := range req.Header {
		if !validToken(k) {
			return fmt.Errorf("resourcemanager: transport: invalid header name %q", k)
		}
		if k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" {
			continue
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("resourcemanager: transport: invalid value of header %s", k)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
	return w.Flush()
}

// validToken reports whether s is a non-empty HTTP token (a method or a
// header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == '<' || c == '>' || c == '@' ||
			c == ',' || c == ';' || c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' ||
			c == '=' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// validValue reports whether s can be a header value: no control
// character but tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget reports whether s can be part of a request target: no space
// and no control character.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// body is an answer's body. Read to its end and closed, it gives its
// connection back to the pool; otherwise the connection is closed, since
// what is left of the answer would be read as the next one.
type body struct {
	rc   io.ReadCloser
	pc   *persistConn
	stop func() bool // ends the context watch; false if it had fired
	t    *transport  // the pool to give pc back to, under key
	key  string
	keep bool
	eof  bool
	done bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.rc.Close()
	watching := b.stop()
	if b.keep && b.eof && watching && err == nil && b.pc.br.Buffered() == 0 && b.t != nil {
		b.t.put(b.key, b.pc)
		return nil
	}
	b.pc.conn.Close()
	return err
}

// connKey returns the pool key (scheme://host:port) and the address to
// dial. A client talks to one endpoint: the last answer is kept.
func (t *transport) connKey(req *http.Request) (key, addr string, err error) {
	u := req.URL
	if k := t.lastKey.Load(); k != nil && k.scheme == u.Scheme && k.host == u.Host {
		return k.key, k.addr, nil
	}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		return "", "", fmt.Errorf("resourcemanager: transport: scheme %q: want http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", "", errors.New("resourcemanager: transport: no host")
	}
	addr = net.JoinHostPort(u.Hostname(), port)
	key = u.Scheme + "://" + addr
	t.lastKey.Store(&endpointKey{scheme: u.Scheme, host: u.Host, key: key, addr: addr})
	return key, addr, nil
}

// endpointKey is connKey's answer for one scheme and host.
type endpointKey struct{ scheme, host, key, addr string }

func (t *transport) dial(ctx context.Context, scheme, addr string) (*persistConn, error) {
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	raw := conn
	if scheme == "https" {
		cfg := t.tlsConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, t.tlsWait)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return &persistConn{conn: conn, raw: raw, br: bufio.NewReaderSize(conn, 8<<10), bw: bufio.NewWriterSize(conn, 2<<10)}, nil
}

// get takes the most recently used idle connection to key, if a fresh
// enough one is kept.
func (t *transport) get(key string) *persistConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.idle[key]
	for len(list) > 0 {
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		t.idle[key] = list
		if time.Since(pc.idledAt) < t.idleFor && alive(pc.raw) {
			return pc
		}
		pc.conn.Close()
	}
	return nil
}

// put keeps pc for another request, unless enough are kept.
func (t *transport) put(key string, pc *persistConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle[key]) >= t.maxIdle {
		pc.conn.Close()
		return
	}
	pc.idledAt = time.Now()
	t.idle[key] = append(t.idle[key], pc)
}

// CloseIdleConnections closes the kept connections (http.Client's method
// of that name calls it).
func (t *transport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, list := range t.idle {
		for _, pc := range list {
			pc.conn.Close()
		}
		delete(t.idle, k)
	}
}

// idleCount is the number of kept connections, for tests.
func (t *transport) idleCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, list := range t.idle {
		n += len(list)
	}
	return n
}
