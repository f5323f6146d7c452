package resourcemanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Options configure a Client. Zero values take the documented defaults.
type Options struct {
	Endpoint    string              // host or URL (see ParseEndpoint); default https://resourcemanager.aliyuncs.com
	Credentials CredentialsProvider // required unless every call carries WithCredentials
	Timeout     time.Duration       // per attempt; default 5s. Keep it the budget's API timeout (pkg/deadline): longer, an attempt can outlive the cut-off
	QPS         float64             // client-side rate limit, requests/s; default 10
	MaxAttempts int                 // per call, first attempt included; default 5, at most 20
	// HTTPClient sends the requests; default: one tuned client (see
	// newHTTPClient); one per process. Its Transport must be an
	// *http.Transport (nil: http.DefaultTransport) that verifies
	// certificates: see New for what the Client guarantees.
	HTTPClient *http.Client
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
	// maxResponseHeaderBytes bounds an answer's header; the API's are
	// well under a kilobyte.
	maxResponseHeaderBytes = 64 << 10
	// maxIdleConnsPerHost is the connections kept open for reuse: at
	// least as many as calls run at once (API_CONCURRENCY, at most
	// config.MaxAPIConcurrency, checked by a test), so that a steady
	// sweep never opens a connection per call.
	maxIdleConnsPerHost = 64
	// idleConnTimeout: servers and load balancers close idle connections
	// on their own schedule, and a function instance may be frozen
	// between invocations for longer; an older one is not reused.
	idleConnTimeout = 30 * time.Second

	pageSize = 100
	// maxPages bounds a listing (1,000,000 invitations, far beyond any
	// directory's): past it, the listing fails rather than stopping
	// quietly with part of the directory.
	maxPages = 10000
)

// The API actions.
const (
	actionCancel = "CancelHandshake"
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
	maxPages    int              // bound on a listing's pages
	now         func() time.Time // x-acs-date
}

// New validates opts and returns a Client. A bad option is an error naming
// it, its value and what is accepted.
//
// Every request the Client sends over https goes on a connection whose
// server certificate was verified (chain and host name, against the system
// roots or the transport's RootCAs) with TLS 1.2 or later, and no redirect
// is followed. New refuses an Options.HTTPClient that could not keep this:
// a Transport other than an *http.Transport (a custom RoundTripper's
// connections cannot be inspected), one that skips verification
// (InsecureSkipVerify), allows TLS below 1.2, or dials TLS itself (DialTLS,
// DialTLSContext). The Client keeps its own copy of the client and of the
// transport, so changing them after New changes nothing.
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
		maxPages:    maxPages,
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
		if c.hc, err = verifyingClient(opts.HTTPClient); err != nil {
			return nil, fmt.Errorf("resourcemanager: HTTPClient: %w", err)
		}
	} else {
		c.hc = newHTTPClient(c.timeout, http.ProxyFromEnvironment)
	}
	return c, nil
}

// newHTTPClient returns the client every call of a Client reuses, over one
// http.Transport whatever the route (direct, or through the proxy that
// proxy names: in production, the environment's): keep-alive connections
// enough for every call in flight, a bound on every phase (connect, TLS
// handshake, waiting for the answer's header, and the whole attempt by its
// context), a bound on the header's size, TLS 1.2 at least with the
// certificate verified, and no redirects: they are not part of the API,
// and a signed request is not replayed elsewhere.
func newHTTPClient(timeout time.Duration, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	connect := min(connectTimeout, timeout)
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  proxy,
			DialContext:            (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           maxIdleConnsPerHost,
			MaxIdleConnsPerHost:    maxIdleConnsPerHost,
			IdleConnTimeout:        idleConnTimeout,
			TLSHandshakeTimeout:    connect,
			ResponseHeaderTimeout:  timeout,
			MaxResponseHeaderBytes: maxResponseHeaderBytes,
			TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Rate returns the client-side rate limit now in force, in requests per
// second: the configured QPS, or less after the service throttled.
func (c *Client) Rate() float64 { return c.limiter.rate() }

// handshakeResponse is the answer of CancelHandshake.
type handshakeResponse struct {
	RequestID string
	Handshake handshake.Handshake
}

// listResponse is the answer of ListHandshakesForResourceDirectory.
type listResponse struct {
	RequestID  string
	Handshakes []handshake.Handshake
}

// CancelHandshake cancels one invitation. A 409 HandshakeStatusMismatch
// (IsStatusMismatch) means it is no longer Pending; after a retried attempt
// (Attempts > 1) that may be this call's own earlier attempt having
// succeeded without its answer arriving.
func (c *Client) CancelHandshake(ctx context.Context, id handshake.ID) (Result, error) {
	// handshake.ID is validated by construction, except the zero value.
	if id == "" {
		return Result{}, fmt.Errorf("resourcemanager: %s: %w \"\": want \"h-\" followed by 16 letters or digits", actionCancel, handshake.ErrInvalidID)
	}
	var out handshakeResponse
	params := []param{{"Format", "JSON"}, {"HandshakeId", string(id)}}
	rid, attempts, err := c.call(ctx, actionCancel, params, &out)
	if err != nil {
		return Result{RequestID: rid, Attempts: attempts}, err
	}
	if out.RequestID != "" {
		rid = out.RequestID
	}
	return Result{Handshake: out.Handshake, RequestID: rid, Attempts: attempts}, nil
}

// Handshakes iterates over every invitation of the caller's resource
// directory, page by page (PageSize 100), holding one page in memory.
//
// It stops after a short or empty page. TotalCount is not trusted to end a
// listing (an answer may leave it out, or count fewer than there are): a
// full page is followed by the next one whatever it says. A listing longer
// than maxPages pages fails rather than being cut short. An error ends the
// iteration after being yielded once.
func (c *Client) Handshakes(ctx context.Context) iter.Seq2[handshake.Handshake, error] {
	return func(yield func(handshake.Handshake, error) bool) {
		for page := 1; page <= c.maxPages; page++ {
			var out listResponse
			params := []param{{"Format", "JSON"}, {"PageNumber", strconv.Itoa(page)}, {"PageSize", strconv.Itoa(pageSize)}}
			if _, _, err := c.call(ctx, actionList, params, &out); err != nil {
				yield(handshake.Handshake{}, fmt.Errorf("listing handshakes, page %d: %w", page, err))
				return
			}
			for _, h := range out.Handshakes {
				if !yield(h, nil) {
					return
				}
			}
			if len(out.Handshakes) < pageSize {
				return
			}
		}
		yield(handshake.Handshake{}, fmt.Errorf("resourcemanager: %s: %w: more than %d pages of %d", actionList, ErrListingTooLong, c.maxPages, pageSize))
	}
}

// ErrListingTooLong is wrapped by the error ending a listing that went on
// past its bound on pages (a service that keeps answering full pages): the
// listing fails rather than acting on part of the directory.
var ErrListingTooLong = errors.New("listing too long")

// call sends one API call, retrying what is retryable, and decodes the
// answer into out. It returns the answer's request ID (the error's, on an
// API error) and the number of requests sent.
func (c *Client) call(ctx context.Context, action string, params []param, out jsonDecoder) (requestID string, attempts int, err error) {
	target := c.base + encodeQuery(params)
	// A wait (for a turn, or a backoff) also ends when the invocation is
	// interrupted: nothing is in flight then (pkg/deadline).
	wctx, endWait := waitContext(ctx)
	defer endWait()
	var last error
	limit, refreshed, retryNow := c.maxAttempts, false, false
	for attempts < limit {
		if attempts > 0 && !retryNow {
			d := c.backoff.delay(attempts)
			if !c.enoughTime(ctx, d) {
				return requestID, attempts, deadlineError(action, last)
			}
			if err := sleep(wctx, d); err != nil {
				e := ended(ctx)
				if e == nil {
					e = wctx
				}
				return requestID, attempts, stopped(e, action, last)
			}
		}
		retryNow = false
		if e := ended(ctx); e != nil {
			return requestID, attempts, stopped(e, action, last)
		}
		if !c.enoughTime(ctx, 0) {
			return requestID, attempts, deadlineError(action, last)
		}
		epoch, err := c.waitTurn(wctx)
		if err != nil {
			if e := ended(ctx); e != nil {
				return requestID, attempts, stopped(e, action, last)
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
		// Waiting for a turn and fetching credentials take time too: the
		// budget's rule holds when the request leaves, not when it queued.
		if !c.enoughTime(ctx, 0) {
			return requestID, attempts, deadlineError(action, last)
		}
		if e := ended(ctx); e != nil {
			return requestID, attempts, stopped(e, action, last)
		}
		attempts++
		rid, err := c.attempt(ctx, action, target, creds, out)
		requestID = rid
		if err == nil {
			c.limiter.onSuccess(epoch)
			return requestID, attempts, nil
		}
		prev := last
		last = err
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			if apiErr.throttled() {
				c.limiter.onThrottle(epoch)
			} else {
				c.limiter.onSuccess(epoch) // the service answered without pushing back
			}
			if apiErr.credentialsRejected() && !refreshed {
				// Rotated credentials: re-read them once, and send the
				// call again at once when they changed.
				refreshed = true
				again, rerr := c.refreshCredentials(ctx, creds)
				if rerr != nil {
					return requestID, attempts, fmt.Errorf("%w; %w", err, rerr)
				}
				if again {
					limit, retryNow = max(limit, attempts+1), true
					continue
				}
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
func (c *Client) attempt(ctx context.Context, action, target string, creds Credentials, out jsonDecoder) (string, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := newRequest(actx, target, action)
	if err != nil {
		return "", err
	}
	if err := sign(req, creds, formatDate(c.now()), newNonce()); err != nil {
		return "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", transportFailure(ctx, actx, action, err)
	}
	// Closed before its end (an answer over the limit), the body's
	// connection is closed (under HTTP/2, its stream reset), not drained
	// for reuse.
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	rid := resp.Header.Get("X-Acs-Request-Id")
	if err != nil {
		return rid, transportFailure(ctx, actx, action, err)
	}
	tooLarge := len(body) > maxResponseBytes
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The status classifies the answer even when its body is cut.
		e := parseAPIError(action, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header, body[:min(len(body), maxResponseBytes)])
		e.scrub(creds)
		return e.RequestID, e
	}
	if tooLarge {
		return rid, &responseError{action: action, err: fmt.Errorf("answer larger than %d bytes", maxResponseBytes)}
	}
	// Every request asks for JSON (Format=JSON, Accept: application/json);
	// only error answers may come as XML (errors.go).
	if err := out.decodeJSON(body); err != nil {
		return rid, &responseError{action: action, err: err}
	}
	return rid, nil
}

// newRequest builds the unsigned request of one attempt: POST to target
// (the endpoint with the canonical query), with the action and API version
// in x-acs-* headers.
func newRequest(ctx context.Context, target, action string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return nil, fmt.Errorf("resourcemanager: %s: %w", action, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(hdrAction, action)
	req.Header.Set(hdrVersion, apiVersion)
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
