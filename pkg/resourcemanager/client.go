package resourcemanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
)

// Options configure a Client. Zero values take the documented defaults.
//
// A Client has no timeout of its own: each attempt takes at most the API
// timeout of the deadline.Budget its call's context carries
// (deadline.DefaultAPITimeout without one), so that an attempt that starts
// in time ends before the cut-off.
type Options struct {
	Endpoint    string              // host or URL (ParseEndpoint); default DefaultEndpoint
	Credentials CredentialsProvider // required unless every call carries WithCredentials
	QPS         float64             // client-side rate limit, requests/s; default pacing.DefaultQPS
	MaxAttempts int                 // per call, first attempt included; default pacing.DefaultMaxAttempts, at most pacing.MaxAttempts
	// HTTPClient sends the requests; default: one tuned client
	// (newHTTPClient); one per process. Its Transport must be an
	// *http.Transport (nil: http.DefaultTransport) that verifies
	// certificates: see New for what the Client guarantees.
	HTTPClient *http.Client
}

const (
	// connectTimeout bounds the TCP connect and the TLS handshake (each);
	// the attempt's own timeout bounds them too.
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
// calls share one HTTP client and one pacing.Pacer: the rate limit, retries
// and deadline rules of every call are the Pacer's.
type Client struct {
	base     string // scheme://host/?
	creds    CredentialsProvider
	hc       *http.Client
	pacer    *pacing.Pacer
	maxPages int              // bound on a listing's pages
	now      func() time.Time // x-acs-date
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
	pacer, err := pacing.New(pacing.Options{QPS: opts.QPS, MaxAttempts: opts.MaxAttempts})
	if err != nil {
		return nil, fmt.Errorf("resourcemanager: %w", err)
	}
	c := &Client{
		base:     ep.Scheme + "://" + ep.Host + "/?",
		creds:    opts.Credentials,
		pacer:    pacer,
		maxPages: maxPages,
		now:      time.Now,
	}
	if opts.HTTPClient != nil {
		if c.hc, err = verifyingClient(opts.HTTPClient); err != nil {
			return nil, fmt.Errorf("resourcemanager: HTTPClient: %w", err)
		}
	} else {
		c.hc = newHTTPClient(http.ProxyFromEnvironment)
	}
	return c, nil
}

// newHTTPClient returns the client every call of a Client reuses, over one
// http.Transport whatever the route (direct, or through the proxy that
// proxy names: in production, the environment's): keep-alive connections
// enough for every call in flight, a bound on every phase (connect, TLS
// handshake, and the whole attempt, waiting for the answer included, by its
// context), a bound on the header's size, TLS 1.2 at least with the
// certificate verified, and no redirects: they are not part of the API,
// and a signed request is not replayed elsewhere.
func newHTTPClient(proxy func(*http.Request) (*url.URL, error)) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  proxy,
			DialContext:            (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           maxIdleConnsPerHost,
			MaxIdleConnsPerHost:    maxIdleConnsPerHost,
			IdleConnTimeout:        idleConnTimeout,
			TLSHandshakeTimeout:    connectTimeout,
			MaxResponseHeaderBytes: maxResponseHeaderBytes,
			TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Rate returns the client-side rate limit now in force, in requests per
// second: the configured QPS, or less after the service throttled.
func (c *Client) Rate() float64 { return c.pacer.Rate() }

// handshakeResponse is the answer of CancelHandshake.
type handshakeResponse struct {
	RequestID string
	Handshake handshake.Handshake
}

// listResponse is the answer of ListHandshakesForResourceDirectory.
type listResponse struct {
	RequestID  string
	Handshakes []handshake.Handshake
	// Malformed are the page's records that could not be read; they count
	// towards the page's length.
	Malformed []*handshake.RecordError
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
// iteration after being yielded once, except a *handshake.RecordError: a
// record of the page that could not be read (its HandshakeID set in the
// Handshake yielded with it), after which the listing goes on.
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
			for _, bad := range out.Malformed {
				if !yield(handshake.Handshake{HandshakeID: bad.HandshakeID}, bad) {
					return
				}
			}
			if len(out.Handshakes)+len(out.Malformed) < pageSize {
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

// call sends one API call through the Pacer, retrying what is retryable,
// and decodes the answer into out. It returns the answer's request ID (the
// error's, on an API error) and the number of requests sent.
func (c *Client) call(ctx context.Context, action string, params []param, out jsonDecoder) (requestID string, attempts int, err error) {
	target := c.base + encodeQuery(params)
	var used Credentials // what signed the last attempt
	requestID, attempts, err = c.pace(ctx, action, target, out, &used)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.credentialsRejected() {
		// Rotated credentials: re-read them once, and send the call again
		// when they changed.
		again, rerr := c.refreshCredentials(ctx, used)
		if rerr != nil {
			return requestID, attempts, fmt.Errorf("%w; %w", err, rerr)
		}
		if again {
			rid, more, err := c.pace(ctx, action, target, out, &used)
			return rid, attempts + more, err
		}
	}
	return requestID, attempts, err
}

// pace runs one call's attempts through the Pacer; *used is left holding
// the credentials of the last attempt.
func (c *Client) pace(ctx context.Context, action, target string, out jsonDecoder, used *Credentials) (requestID string, attempts int, err error) {
	var creds Credentials
	defer func() { *used = creds }()
	attempts, err = c.pacer.Do(ctx, pacing.Call{
		Prepare: func(ctx context.Context) (err error) {
			creds, err = c.credentialsFor(ctx)
			if err != nil {
				return fmt.Errorf("resourcemanager: %s: %w", action, err)
			}
			return nil
		},
		Attempt: func(actx context.Context) (err error) {
			requestID, err = c.attempt(actx, action, target, creds, out)
			return err
		},
		Classify: classify,
	})
	return requestID, attempts, callError(action, err)
}

// callError is the error of a call that ended with err: a
// *pacing.StopError becomes an error wrapping ErrDeadline (out of time) or
// the cause of the context's end, with the last attempt's failure; any
// other err is returned as it is.
func callError(action string, err error) error {
	stop, ok := err.(*pacing.StopError)
	switch {
	case !ok:
		return err
	case errors.Is(stop.Err, pacing.ErrOutOfTime):
		return deadlineError(action, stop.Last)
	case stop.Last != nil:
		return fmt.Errorf("resourcemanager: %s: %w; last attempt: %w", action, stop.Err, stop.Last)
	}
	return fmt.Errorf("resourcemanager: %s: %w", action, stop.Err)
}

// classify tells the Pacer what a failed attempt got.
func classify(err error) pacing.Outcome {
	var apiErr *APIError
	var te *transportError
	switch {
	case errors.As(err, &apiErr) && apiErr.throttled():
		return pacing.Throttled
	case errors.As(err, &apiErr) && apiErr.retryable():
		return pacing.Unavailable
	case errors.As(err, &apiErr):
		return pacing.Rejected
	case errors.As(err, &te) && (te.code == codeTimeout || te.code == codeNetworkError):
		return pacing.NoAnswer
	}
	return pacing.Unusable
}

// attempt sends one signed request and reads its answer. Its context
// actx is the attempt's (pacing.Call.Attempt). It returns the answer's
// request ID when known.
func (c *Client) attempt(actx context.Context, action, target string, creds Credentials, out jsonDecoder) (string, error) {
	req, err := newRequest(actx, target, action)
	if err != nil {
		return "", err
	}
	if err := sign(req, creds, formatDate(c.now()), newNonce()); err != nil {
		return "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", transportFailure(actx, action, err)
	}
	// Closed before its end (an answer over the limit), the body's
	// connection is closed (under HTTP/2, its stream reset), not drained
	// for reuse.
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	rid := resp.Header.Get("X-Acs-Request-Id")
	if err != nil {
		return rid, transportFailure(actx, action, err)
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

// transportFailure classifies an attempt that got no answer: the call's
// context ended (Canceled, DeadlineExceeded), the attempt timed out
// (Timeout: its context's cause is pacing.ErrAttemptTimeout), the
// endpoint's certificate failed verification (TLSError), or the network
// failed (NetworkError).
func transportFailure(actx context.Context, action string, err error) error {
	code := codeNetworkError
	var ne net.Error
	var cv *tls.CertificateVerificationError
	attemptTimedOut := errors.Is(context.Cause(actx), pacing.ErrAttemptTimeout)
	switch {
	case errors.Is(actx.Err(), context.Canceled):
		code = codeCanceled
	case actx.Err() != nil && !attemptTimedOut:
		code = codeDeadlineExceeded
	case attemptTimedOut || errors.As(err, &ne) && ne.Timeout():
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
