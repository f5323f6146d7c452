package resourcemanager

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Options configure a Client. Zero values take the documented defaults.
type Options struct {
	Endpoint    string              // host or URL (see ParseEndpoint); default https://resourcemanager.aliyuncs.com
	Credentials CredentialsProvider // required unless every call carries WithCredentials
	Timeout     time.Duration       // per attempt; default 5s
	QPS         float64             // client-side rate limit, requests/s; default 10
	MaxAttempts int                 // per call, first attempt included; default 5, at most 20
	HTTPClient  *http.Client        // default: one tuned client (connect, TLS and response-header timeouts set)
}

// Defaults of Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultQPS         = 10
	DefaultMaxAttempts = 5
	maxMaxAttempts     = 20

	// connectTimeout bounds the TCP connect and the TLS handshake (each),
	// within the per-attempt timeout.
	connectTimeout = 3 * time.Second
	// maxResponseBytes bounds what is read of an answer; a page of 100
	// invitations is about 50 KB.
	maxResponseBytes = 4 << 20

	pageSize = 100
	maxPages = 1000 // 100,000 invitations: far beyond any directory's
)

// The API actions.
const (
	actionCancel = "CancelHandshake"
	actionGet    = "GetHandshake"
	actionList   = "ListHandshakesForResourceDirectory"
)

const userAgent = "handshake-janitor (resourcemanager; Go)"

// Result is what one API call returned, on success or failure: on failure
// RequestID is the failing answer's (when there was one) and Attempts counts
// every request sent.
type Result struct {
	Handshake handshake.Handshake
	RequestID string
	Attempts  int
}

// Client calls the Resource Manager API. It is safe for concurrent use; its
// calls share one HTTP client and one adaptive rate limit.
type Client struct {
	base        string // scheme://host/?
	creds       CredentialsProvider
	hc          *http.Client
	timeout     time.Duration
	maxAttempts int
	limiter     *adaptiveLimiter
	backoff     backoff
	now         func() time.Time // x-acs-date
}

// New validates opts and returns a Client. A bad option is an error naming
// it, its value and what is accepted.
func New(opts Options) (*Client, error) {
	ep, err := ParseEndpoint(opts.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("resourcemanager: %w", err)
	}
	c := &Client{
		base:        ep.Scheme + "://" + ep.Host + "/?",
		creds:       opts.Credentials,
		timeout:     opts.Timeout,
		maxAttempts: opts.MaxAttempts,
		backoff:     backoff{base: defaultBackoffBase, cap: defaultBackoffCap},
		now:         time.Now,
	}
	switch {
	case c.timeout < 0:
		return nil, fmt.Errorf("resourcemanager: Timeout %v: want a positive duration (0 for %v)", c.timeout, DefaultTimeout)
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxAttempts < 0 || c.maxAttempts > maxMaxAttempts:
		return nil, fmt.Errorf("resourcemanager: MaxAttempts %d: want 1 to %d (0 for %d)", c.maxAttempts, maxMaxAttempts, DefaultMaxAttempts)
	case c.maxAttempts == 0:
		c.maxAttempts = DefaultMaxAttempts
	}
	qps := opts.QPS
	switch {
	case math.IsNaN(qps) || math.IsInf(qps, 0) || qps < 0:
		return nil, fmt.Errorf("resourcemanager: QPS %v: want a positive number of requests per second (0 for %d)", qps, DefaultQPS)
	case qps == 0:
		qps = DefaultQPS
	}
	c.limiter = newAdaptiveLimiter(qps, nil)
	if opts.HTTPClient != nil {
		if insecure(opts.HTTPClient) {
			return nil, errors.New("resourcemanager: HTTPClient: TLS certificate verification is disabled (InsecureSkipVerify); signed requests carry credentials, so it must stay on")
		}
		c.hc = opts.HTTPClient
	} else {
		c.hc = newHTTPClient(ep, c.timeout, http.ProxyFromEnvironment)
	}
	return c, nil
}

// insecure reports whether hc's transport, when it is an *http.Transport,
// skips certificate verification.
func insecure(hc *http.Client) bool {
	t, ok := hc.Transport.(*http.Transport)
	return ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify
}

// newHTTPClient returns the one client every call reuses: keep-alive
// connections, and a bound on every phase (connect, TLS handshake, the
// whole attempt by its context). Its transport is this package's own
// (transport.go), unless the environment names a proxy for the endpoint:
// then http.Transport, which speaks to proxies.
func newHTTPClient(ep *url.URL, timeout time.Duration, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	connect := min(connectTimeout, timeout)
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	// Redirects are not part of the API; a signed request is not replayed
	// elsewhere.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if p, err := proxy(&http.Request{URL: ep}); err == nil && p == nil {
		return &http.Client{Transport: newTransport(dialer, tlsConfig, connect), CheckRedirect: noRedirect}
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 proxy,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   connect,
			ResponseHeaderTimeout: timeout,
			ExpectContinueTimeout: time.Second,
			TLSClientConfig:       tlsConfig,
		},
		CheckRedirect: noRedirect,
	}
}

// Rate returns the client-side rate limit now in force, in requests per
// second: the configured QPS, or less after the service throttled.
func (c *Client) Rate() float64 { return c.limiter.rate() }

// handshakeResponse is the answer of CancelHandshake and GetHandshake.
type handshakeResponse struct {
	RequestID string              `json:"RequestId" xml:"RequestId"`
	Handshake handshake.Handshake `json:"Handshake" xml:"Handshake"`
}

// listResponse is the answer of ListHandshakesForResourceDirectory.
type listResponse struct {
	RequestID  string `json:"RequestId" xml:"RequestId"`
	PageNumber int    `json:"PageNumber" xml:"PageNumber"`
	PageSize   int    `json:"PageSize" xml:"PageSize"`
	TotalCount int    `json:"TotalCount" xml:"TotalCount"`
	Handshakes struct {
		Handshake []handshake.Handshake `json:"Handshake" xml:"Handshake"`
	} `json:"Handshakes" xml:"Handshakes"`

	// wire is decodeJSON's scratch list, kept with its capacity for the
	// next page.
	wire []handshake.Wire
}

// reset empties r for the next page, keeping the capacity of its lists:
// the invitations of a page are yielded by value, so its arrays can hold
// the next page's.
func (r *listResponse) reset() {
	// Zeroed: decoders fill elements in place, and what one leaves out
	// must not be the last page's.
	clear(r.Handshakes.Handshake[:cap(r.Handshakes.Handshake)])
	list, wire := r.Handshakes.Handshake[:0], r.wire[:0]
	*r = listResponse{wire: wire}
	r.Handshakes.Handshake = list
}

// CancelHandshake cancels one invitation. A 409 HandshakeStatusMismatch
// (IsStatusMismatch) means it is no longer Pending; after a retried attempt
// (Attempts > 1) that may be this call's own earlier attempt having
// succeeded without its answer arriving.
func (c *Client) CancelHandshake(ctx context.Context, id handshake.ID) (Result, error) {
	return c.handshakeCall(ctx, actionCancel, id)
}

// GetHandshake reads one invitation.
func (c *Client) GetHandshake(ctx context.Context, id handshake.ID) (Result, error) {
	return c.handshakeCall(ctx, actionGet, id)
}

func (c *Client) handshakeCall(ctx context.Context, action string, id handshake.ID) (Result, error) {
	// handshake.ID is validated by construction, except the zero value.
	if id == "" {
		return Result{}, fmt.Errorf("resourcemanager: %s: %w \"\": want \"h-\" followed by 16 letters or digits", action, handshake.ErrInvalidID)
	}
	var out handshakeResponse
	params := []param{{"Format", "JSON"}, {"HandshakeId", string(id)}}
	rid, attempts, err := c.call(ctx, action, params, &out)
	if err != nil {
		return Result{RequestID: rid, Attempts: attempts}, err
	}
	if out.RequestID != "" {
		rid = out.RequestID
	}
	return Result{Handshake: out.Handshake, RequestID: rid, Attempts: attempts}, nil
}

// Handshakes iterates over every invitation of the caller's resource
// directory, page by page (PageSize 100), holding one page in memory. It
// stops after a short page or once TotalCount invitations were read; an
// error ends the iteration after being yielded once.
func (c *Client) Handshakes(ctx context.Context) iter.Seq2[handshake.Handshake, error] {
	return func(yield func(handshake.Handshake, error) bool) {
		seen := 0
		var out listResponse
		for page := 1; page <= maxPages; page++ {
			out.reset()
			params := []param{{"Format", "JSON"}, {"PageNumber", strconv.Itoa(page)}, {"PageSize", strconv.Itoa(pageSize)}}
			if _, _, err := c.call(ctx, actionList, params, &out); err != nil {
				yield(handshake.Handshake{}, fmt.Errorf("listing handshakes, page %d: %w", page, err))
				return
			}
			list := out.Handshakes.Handshake
			for _, h := range list {
				if !yield(h, nil) {
					return
				}
			}
			seen += len(list)
			if len(list) < pageSize || seen >= out.TotalCount {
				return
			}
		}
		yield(handshake.Handshake{}, fmt.Errorf("resourcemanager: %s: more than %d pages of %d; stopped", actionList, maxPages, pageSize))
	}
}

// call sends one API call, retrying what is retryable, and decodes the
// answer into out. It returns the answer's request ID (the error's, on an
// API error) and the number of requests sent.
func (c *Client) call(ctx context.Context, action string, params []param, out any) (requestID string, attempts int, err error) {
	c.limiter.enter()
	defer c.limiter.leave()
	target := c.base + encodeQuery(params)
	var last error
	for attempts < c.maxAttempts {
		if attempts > 0 {
			d := c.backoff.delay(attempts)
			if !c.enoughTime(ctx, d) {
				return requestID, attempts, deadlineError(action, last)
			}
			if err := sleep(ctx, d); err != nil {
				return requestID, attempts, stopped(ctx, action, last)
			}
		}
		if ctx.Err() != nil {
			return requestID, attempts, stopped(ctx, action, last)
		}
		if !c.enoughTime(ctx, 0) {
			return requestID, attempts, deadlineError(action, last)
		}
		epoch, err := c.waitTurn(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return requestID, attempts, stopped(ctx, action, last)
			}
			// The limiter could not admit the request in time.
			return requestID, attempts, deadlineError(action, last)
		}
		creds, err := c.credentialsFor(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return requestID, attempts, stopped(ctx, action, last)
			}
			return requestID, attempts, fmt.Errorf("resourcemanager: %s: %w", action, err)
		}
		attempts++
		rid, err := c.attempt(ctx, action, target, creds, out)
		requestID = rid
		if err == nil {
			c.limiter.onSuccess()
			return requestID, attempts, nil
		}
		prev := last
		last = err
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			if apiErr.throttled() {
				c.limiter.onThrottle(epoch)
			} else {
				c.limiter.onSuccess() // the service answered without pushing back
			}
			if !apiErr.retryable() {
				return requestID, attempts, err
			}
		} else if !retryableTransport(err) {
			var te *transportError
			if errors.As(err, &te) && te.code == codeDeadlineExceeded {
				// Cut off by the caller's deadline: report the deadline,
				// with the previous attempt's failure when there was one.
				if prev != nil {
					return requestID, attempts, deadlineError(action, prev)
				}
				return requestID, attempts, deadlineError(action, err)
			}
			return requestID, attempts, err
		}
	}
	return requestID, attempts, last
}

// waitTurn waits for the rate limiter, at most until the last moment the
// deadline budget lets an attempt start.
func (c *Client) waitTurn(ctx context.Context) (uint64, error) {
	if by, ok := c.budget(ctx).StartBy(); ok {
		wctx, cancel := context.WithDeadline(ctx, by)
		defer cancel()
		return c.limiter.wait(wctx)
	}
	return c.limiter.wait(ctx)
}

// enoughTime reports whether the deadline budget lets an attempt start
// after waiting d.
func (c *Client) enoughTime(ctx context.Context, d time.Duration) bool {
	return c.budget(ctx).CanStart(time.Now().Add(d))
}

// budget is the invocation's deadline.Budget that ctx carries, or else one
// built from ctx's deadline and the client's Timeout.
func (c *Client) budget(ctx context.Context) deadline.Budget {
	if b, ok := deadline.FromContext(ctx); ok {
		return b
	}
	return deadline.For(ctx, c.timeout)
}

// stopped is the error of a call whose context ended between attempts.
func stopped(ctx context.Context, action string, last error) error {
	err := context.Cause(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return deadlineError(action, last)
	}
	if last != nil {
		return fmt.Errorf("resourcemanager: %s: %w; last attempt: %w", action, err, last)
	}
	return fmt.Errorf("resourcemanager: %s: %w", action, err)
}

func retryableTransport(err error) bool {
	var te *transportError
	return errors.As(err, &te) && (te.code == codeTimeout || te.code == codeNetworkError)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends one signed request and reads its answer. It returns the
// answer's request ID when known.
func (c *Client) attempt(ctx context.Context, action, target string, creds Credentials, out any) (string, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := newRequest(actx, target, action)
	if err != nil {
		return "", err
	}
	if err := sign(req, creds, formatDate(c.now()), newNonce()); err != nil {
		return "", err
	}
	resp, err := c.send(req)
	if err != nil {
		return "", transportFailure(ctx, actx, action, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body, resp.ContentLength)
	// Decoding copies what it keeps: the buffer can serve the next answer.
	defer releaseBody(body)
	rid := resp.Header.Get("X-Acs-Request-Id")
	if err != nil {
		return rid, transportFailure(ctx, actx, action, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseAPIError(action, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header, body)
		e.scrub(creds)
		return e.RequestID, e
	}
	if len(body) > maxResponseBytes {
		return rid, &responseError{action: action, err: fmt.Errorf("answer larger than %d bytes", maxResponseBytes)}
	}
	if isXML(resp.Header.Get("Content-Type")) {
		err = xml.Unmarshal(body, out)
	} else if d, ok := out.(jsonDecoder); ok {
		err = d.decodeJSON(body)
	} else {
		err = json.Unmarshal(body, out)
	}
	if err != nil {
		return rid, &responseError{action: action, err: err}
	}
	return rid, nil
}

// send sends one request. Through the package's own transport it goes
// straight to it: http.Client would add nothing but a copy of the headers
// (kept for redirects, which are not followed anyway).
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if t, ok := c.hc.Transport.(*transport); ok && c.hc.Jar == nil && c.hc.Timeout == 0 {
		return t.RoundTrip(req)
	}
	return c.hc.Do(req)
}

// readBody reads an answer's body, at most maxResponseBytes+1 bytes (one
// more than allowed, so that an oversized answer is told from one of the
// limit's size). When the length is announced, the buffer is sized for it
// at once rather than grown by io.ReadAll.
func readBody(r io.Reader, length int64) ([]byte, error) {
	size := int64(512)
	if length >= 0 && length <= maxResponseBytes {
		size = length + 1 // room to see the end without growing
	}
	var b []byte
	if size > minPooledBody {
		if p, ok := bodyPool.Get().(*[]byte); ok {
			if int64(cap(*p)) >= size {
				b = (*p)[:0]
			} else {
				bodyPool.Put(p)
			}
		}
	}
	if b == nil {
		b = make([]byte, 0, size)
	}
	for empty := 0; int64(len(b)) <= maxResponseBytes; {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), maxResponseBytes+1)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if empty = empty + 1; n > 0 {
			empty = 0
		} else if empty >= 100 {
			return b, io.ErrNoProgress
		}
	}
	return b, nil
}

// Large answers (pages of a listing, some 50 KB each) are read into
// buffers kept for the next page: a sweep over a large directory would
// otherwise allocate, and leave to the collector, one such buffer per page.
var bodyPool sync.Pool // of *[]byte

// Sizes of the buffers bodyPool keeps.
const (
	minPooledBody = 8 << 10
	maxPooledBody = 256 << 10
)

// releaseBody gives a buffer from readBody back, once nothing refers to it.
func releaseBody(b []byte) {
	if c := cap(b); c > minPooledBody && c <= maxPooledBody {
		bodyPool.Put(&b)
	}
}

// newRequest builds the unsigned request of one attempt: POST to target
// (the endpoint with the canonical query), with the action and API version
// in x-acs-* headers.
func newRequest(ctx context.Context, target, action string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return nil, fmt.Errorf("resourcemanager: %s: %w", action, err)
	}
	h := make(http.Header, 12)
	v := []string{"application/json", userAgent, action, apiVersion}
	h["Accept"] = v[0:1:1]
	h["User-Agent"] = v[1:2:2]
	h[hdrAction] = v[2:3:3]
	h[hdrVersion] = v[3:4:4]
	req.Header = h
	return req, nil
}

// transportFailure classifies an attempt that got no answer: the caller's
// context ended (Canceled, DeadlineExceeded), the attempt timed out
// (Timeout), the endpoint's certificate failed verification (TLSError), or
// the network failed (NetworkError).
func transportFailure(ctx, actx context.Context, action string, err error) error {
	code := codeNetworkError
	var ne net.Error
	var cv *tls.CertificateVerificationError
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		code = codeCanceled
	case ctx.Err() != nil:
		code = codeDeadlineExceeded
	case actx.Err() != nil || errors.As(err, &ne) && ne.Timeout():
		code = codeTimeout
	case errors.As(err, &cv):
		// The endpoint's certificate is not trusted: trying again will
		// not change that.
		code = codeTLSError
	}
	// url.Error names the method and URL (parameters only, never a
	// credential: those travel in headers).
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transportError{action: action, code: code, err: err}
}
