package resourcemanager

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// APIError is an error answer of the Resource Manager API.
type APIError struct {
	StatusCode int    // HTTP status
	Code       string // the API's error code, e.g. HandshakeStatusMismatch
	Message    string // the API's message, scrubbed of credentials
	RequestID  string // RequestId, for Alibaba Cloud support
	HostID     string // HostId: the endpoint that answered
	Recommend  string // the API's diagnosis link, when given
	Action     string // the API action that failed, e.g. CancelHandshake
}

// Error reads like "resourcemanager: CancelHandshake: 409
// HandshakeStatusMismatch: The invitation is invalid. (RequestId ...)".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("resourcemanager: ")
	if e.Action != "" {
		b.WriteString(e.Action)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(bounded(e.Message, 300))
	}
	if e.RequestID != "" {
		b.WriteString(" (RequestId ")
		b.WriteString(bounded(e.RequestID, 80))
		b.WriteString(")")
	}
	return b.String()
}

// bounded cuts s to at most max bytes (on a rune boundary) and drops control
// characters, so that a hostile or broken server cannot flood or forge log
// lines through an error string.
func bounded(s string, max int) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(clean) <= max {
		return clean
	}
	q := handshake.Quote(clean, max)
	return q
}

// The error codes the classifiers know.
const (
	codeStatusMismatch   = "HandshakeStatusMismatch"
	codeNotFound         = "EntityNotExists.Handshake"
	codeMissingID        = "MissingParameter.HandshakeId"
	codeInvalidID        = "InvalidParameter.HandshakeId"
	codeThrottling       = "Throttling"
	codeServiceUnavail   = "ServiceUnavailable"
	codeInternalError    = "InternalError"
	codeDeadlineExceeded = "DeadlineExceeded"
	codeTimeout          = "Timeout"
	codeNetworkError     = "NetworkError"
	codeCanceled         = "Canceled"
	codeTLSError         = "TLSError"
	codeNoCredentials    = "NoCredentials"
	codeInvalidResponse  = "InvalidResponse"
	codeClientError      = "ClientError"
)

// ErrDeadline is wrapped by the error of a call that ran out of time: the
// deadline budget (pkg/deadline) let no other attempt start (or none after
// the backoff before it), or the deadline came while an attempt was in flight.
// When an attempt had failed before, the error wraps that failure too.
var ErrDeadline = errors.New("resourcemanager: out of time before the context's deadline")

// transportError is an attempt that got no answer from the API.
type transportError struct {
	action string
	code   string // codeTimeout, codeNetworkError, codeTLSError, codeCanceled or codeDeadlineExceeded
	err    error
}

func (e *transportError) Error() string {
	return "resourcemanager: " + e.action + ": " + e.code + ": " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// responseError is a success status whose body could not be read as the
// API's answer.
type responseError struct {
	action string
	err    error
}

func (e *responseError) Error() string {
	return "resourcemanager: " + e.action + ": unreadable response: " + e.err.Error()
}

func (e *responseError) Unwrap() error { return e.err }

func apiCode(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// IsStatusMismatch reports whether err is the API's 409
// HandshakeStatusMismatch: the invitation is no longer Pending.
func IsStatusMismatch(err error) bool {
	e, ok := apiCode(err)
	return ok && e.Code == codeStatusMismatch
}

// IsNotFound reports whether err is the API's 404 EntityNotExists.Handshake.
func IsNotFound(err error) bool {
	e, ok := apiCode(err)
	return ok && e.Code == codeNotFound
}

// IsInvalidID reports whether the API refused the handshake ID (400
// MissingParameter.HandshakeId or InvalidParameter.HandshakeId).
func IsInvalidID(err error) bool {
	e, ok := apiCode(err)
	return ok && (e.Code == codeMissingID || e.Code == codeInvalidID)
}

// throttled reports whether e is a throttling answer: a Throttling or
// Throttling.* code, or HTTP 429.
func (e *APIError) throttled() bool {
	return e.Code == codeThrottling || strings.HasPrefix(e.Code, codeThrottling+".") || e.StatusCode == http.StatusTooManyRequests
}

// retryable reports whether e may pass: a throttle, ServiceUnavailable,
// InternalError or any 5xx.
func (e *APIError) retryable() bool {
	return e.throttled() || e.Code == codeServiceUnavail || e.Code == codeInternalError || e.StatusCode >= 500
}

// IsRetryable reports whether err is transient, so that the same request
// may succeed later: throttling, ServiceUnavailable, InternalError, any 5xx,
// network errors, timeouts, and running out of time before the deadline.
// Other 4xx answers and a canceled context are not.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := apiCode(err); ok && e.retryable() {
		return true
	}
	if errors.Is(err, ErrDeadline) {
		return true
	}
	var te *transportError
	if errors.As(err, &te) {
		return te.code != codeCanceled && te.code != codeTLSError
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// ErrorCode returns a short stable word for err: the API's error code
// ("HandshakeStatusMismatch", "Throttling.User", ...), "HTTP<status>" for an
// API answer without one, or for failures without an answer
// "DeadlineExceeded" (the context's deadline or its budget prevented an
// attempt, or cut one short), "Timeout" (an attempt timed out),
// "NetworkError", "TLSError" (the endpoint's certificate failed
// verification), "Canceled", "NoCredentials", "InvalidResponse",
// "ClientError" (anything else); "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrDeadline) {
		return codeDeadlineExceeded
	}
	if errors.Is(err, context.Canceled) {
		return codeCanceled
	}
	if e, ok := apiCode(err); ok {
		if e.Code != "" {
			return e.Code
		}
		return "HTTP" + strconv.Itoa(e.StatusCode)
	}
	var te *transportError
	if errors.As(err, &te) {
		return te.code
	}
	var re *responseError
	switch {
	case errors.As(err, &re):
		return codeInvalidResponse
	case errors.Is(err, ErrNoCredentials):
		return codeNoCredentials
	case errors.Is(err, context.DeadlineExceeded):
		return codeDeadlineExceeded
	}
	return codeClientError
}

// wireError is the API's error body, in JSON and XML (<Error>...</Error>).
type wireError struct {
	RequestID string `json:"RequestId" xml:"RequestId"`
	HostID    string `json:"HostId" xml:"HostId"`
	Code      string `json:"Code" xml:"Code"`
	Message   string `json:"Message" xml:"Message"`
	Recommend string `json:"Recommend" xml:"Recommend"`
}

// parseAPIError builds the APIError of a non-2xx answer. body is read as
// XML when contentType says so, else as JSON; a body that is neither still
// gives an APIError with the status (the classifiers then go by status).
//
// XML is read for errors only. Every request asks for JSON, and successful
// answers follow; but an error the API gateway raises before it has read
// the request's Format (a malformed request, flow control, a signature it
// refuses) comes in the gateway's default format, XML, and its code is
// what classifies it (Throttling.User, SignatureDoesNotMatch, ...).
func parseAPIError(action string, status int, contentType string, header http.Header, body []byte) *APIError {
	var w wireError
	if isXML(contentType) {
		_ = xml.Unmarshal(body, &w)
	} else {
		_ = json.Unmarshal(body, &w)
	}
	e := &APIError{
		StatusCode: status,
		Code:       w.Code,
		Message:    w.Message,
		RequestID:  w.RequestID,
		HostID:     w.HostID,
		Recommend:  w.Recommend,
		Action:     action,
	}
	if e.RequestID == "" {
		e.RequestID = header.Get("X-Acs-Request-Id")
	}
	if e.Code == "" && e.Message == "" && len(body) > 0 {
		// Not the API's error shape (a proxy's page, say): keep a bounded
		// hint of it.
		e.Message = bounded(string(body), 120)
	}
	return e
}

func isXML(contentType string) bool {
	return strings.Contains(strings.ToLower(contentType), "xml")
}

// scrub replaces every occurrence of the credentials' secret and token in
// the server-supplied text of e, so that an echoing server (or a proxy)
// cannot smuggle them into an error string.
func (e *APIError) scrub(c Credentials) {
	for _, s := range []string{c.AccessKeySecret, c.SecurityToken} {
		if len(s) < 4 {
			continue
		}
		e.Message = strings.ReplaceAll(e.Message, s, "[redacted]")
		e.Recommend = strings.ReplaceAll(e.Recommend, s, "[redacted]")
		e.HostID = strings.ReplaceAll(e.HostID, s, "[redacted]")
		e.Code = strings.ReplaceAll(e.Code, s, "[redacted]")
		e.RequestID = strings.ReplaceAll(e.RequestID, s, "[redacted]")
	}
}

// deadlineError is returned when the deadline stops the retry loop; last is
// the failure of the previous attempt, if any.
func deadlineError(action string, last error) error {
	if last == nil {
		return fmt.Errorf("%w (%s)", ErrDeadline, action)
	}
	return fmt.Errorf("%w (%s); last attempt: %w", ErrDeadline, action, last)
}
