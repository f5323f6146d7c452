package organizations

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
)

// Codes of failures without an exception from the service.
const (
	CodeTimeout          = "Timeout"          // the attempt's timeout ended it
	CodeDeadlineExceeded = "DeadlineExceeded" // the invocation's deadline (or its budget) ended or prevented it
	CodeCanceled         = "Canceled"         // the caller's context was cancelled
	CodeNetworkError     = "NetworkError"     // no answer: connection refused, reset, ...
	CodeInvalidResponse  = "InvalidResponse"  // an answer that is not the API's
	CodeClientError      = "ClientError"      // anything else before an answer (credentials, signing, ...)
)

// The exceptions the classification knows.
const (
	excAlreadyInState    = "HandshakeAlreadyInStateException"
	excInvalidTransition = "InvalidHandshakeTransitionException"
	excNotFound          = "HandshakeNotFoundException"
	excTooManyRequests   = "TooManyRequestsException"
	excConcurrent        = "ConcurrentModificationException"
	excService           = "ServiceException"
)

// Error is the error of one failed call. Its text holds the operation, the
// handshake ID, the service's exception name and message (bounded, control
// characters dropped, scrubbed of the credentials that signed the request)
// and the request ID; never a secret. It unwraps to the SDK's error (for
// errors.As to the SDK's typed exceptions, whose own text is not scrubbed)
// and, when the deadline cut the call short, to ErrDeadline.
type Error struct {
	Op          string // the API operation, e.g. CancelHandshake
	HandshakeID string // the ID the call named, if any
	// Code is the service's exception name (HandshakeNotFoundException,
	// ...), or one of the Code* words when there was no exception.
	Code       string
	Message    string
	StatusCode int // HTTP status; 0 without an answer
	RequestID  string

	err error
}

// Error reads like "organizations: CancelHandshake h-abcdefgh: 404
// HandshakeNotFoundException: We can't find ... (RequestId 1b2c...)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("organizations: ")
	b.WriteString(e.Op)
	if e.HandshakeID != "" {
		b.WriteString(" ")
		b.WriteString(e.HandshakeID)
	}
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(" ")
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (RequestId ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the SDK's error, and ErrDeadline when the deadline ended
// the call.
func (e *Error) Unwrap() []error {
	if e.Code == CodeDeadlineExceeded {
		return []error{e.err, ErrDeadline}
	}
	return []error{e.err}
}

// wrap builds the Error of a failed call. ctx is the caller's context (its
// end is the caller's doing); the attempt's own timeout is what is left.
func (c *Client) wrap(ctx context.Context, op, id string, err error) *Error {
	e := &Error{Op: op, HandshakeID: clean(id, 40), err: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.StatusCode = re.HTTPStatusCode()
		e.RequestID = clean(re.ServiceRequestID(), 80)
	}
	var ae smithy.APIError
	var de *smithy.DeserializationError
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		e.Code = clean(ae.ErrorCode(), 80)
		e.Message = ae.ErrorMessage()
	case errors.Is(context.Cause(ctx), pacing.ErrAttemptTimeout):
		// The Pacer's attempt context: the attempt took the API timeout.
		e.Code = CodeTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		e.Code = CodeCanceled
	case ctx.Err() != nil:
		e.Code = CodeDeadlineExceeded
	case errors.Is(err, context.DeadlineExceeded):
		e.Code = CodeTimeout
	case errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF):
		// Also an answer cut off mid-body (the SDK reports it as a
		// deserialization error): the connection failed, not the API.
		e.Code = CodeNetworkError
		e.Message = err.Error()
		if ne != nil {
			e.Message = ne.Error()
		}
	case errors.As(err, &de):
		e.Code = CodeInvalidResponse
		e.Message = "the answer could not be read as the API's"
	default:
		e.Code = CodeClientError
		e.Message = err.Error()
	}
	e.Message = clean(c.scrub(ctx, e.Message), 300)
	e.Code = c.scrub(ctx, e.Code)
	e.RequestID = c.scrub(ctx, e.RequestID)
	return e
}

// scrub replaces the secret and the session token of the credentials that
// signed the request, wherever s holds them, so that an echoing server (or
// a proxy) cannot smuggle them into an error string.
func (c *Client) scrub(ctx context.Context, s string) string {
	if s == "" || c.creds == nil {
		return s
	}
	// The provider is the SDK's credentials cache: this is a cache hit,
	// as the request was signed with the same credentials.
	creds, err := c.creds.Retrieve(context.WithoutCancel(ctx))
	if err != nil {
		return s
	}
	return scrubWith(s, creds)
}

func scrubWith(s string, creds aws.Credentials) string {
	for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// clean cuts s to at most max bytes (on a rune boundary) and replaces
// control characters, so that a hostile or broken server cannot flood or
// forge log lines through an error string.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	return handshake.Quote(s, max)
}

// Verdict is what an answer means for the invitation a call named, in the
// janitor's neutral words.
type Verdict string

// The verdicts.
const (
	VerdictCancelled Verdict = "cancelled" // CancelHandshake succeeded
	VerdictSkipped   Verdict = "skipped"   // already finished: nothing to do
	VerdictNotFound  Verdict = "not_found" // no such handshake
	VerdictRetryable Verdict = "retryable" // transient: the same call may succeed later
	VerdictFailed    Verdict = "failed"    // definitive failure: retrying will not help
)

// Classification is a classified answer.
type Classification struct {
	Verdict Verdict
	// Code is the exception name (or a Code* word); "" on success.
	Code string
	// Throttled marks a retryable answer that asks the caller to slow
	// down (TooManyRequestsException, HTTP 429).
	Throttled bool
	// Message is the service's message, bounded and scrubbed.
	Message   string
	RequestID string
}

// Classify maps the error of a Cancel (nil: success) to its verdict:
//
//	nil                                          cancelled
//	HandshakeAlreadyInStateException,
//	InvalidHandshakeTransitionException          skipped (already finished)
//	HandshakeNotFoundException                   not_found
//	TooManyRequestsException (throttled),
//	ConcurrentModificationException,
//	ServiceException, another HTTP 5xx or 429,
//	Timeout, NetworkError, DeadlineExceeded      retryable
//	AccessDeniedException, anything else         failed
func Classify(err error) Classification {
	if err == nil {
		return Classification{Verdict: VerdictCancelled}
	}
	var e *Error
	isErr := errors.As(err, &e)
	switch {
	case errors.Is(err, ErrDeadline):
		// Out of time, perhaps after failed attempts: the deadline is
		// what ended the call.
		c := Classification{Verdict: VerdictRetryable, Code: CodeDeadlineExceeded}
		if isErr {
			c.RequestID = e.RequestID
		}
		return c
	case !isErr && errors.Is(err, context.Canceled):
		return Classification{Verdict: VerdictFailed, Code: CodeCanceled}
	case !isErr:
		return Classification{Verdict: VerdictFailed, Code: CodeClientError}
	}
	return Classification{
		Verdict:   verdictOf(e.Code, e.StatusCode),
		Code:      e.Code,
		Throttled: e.Code == excTooManyRequests || e.StatusCode == 429,
		Message:   e.Message,
		RequestID: e.RequestID,
	}
}

func verdictOf(code string, status int) Verdict {
	switch code {
	case excAlreadyInState, excInvalidTransition:
		return VerdictSkipped
	case excNotFound:
		return VerdictNotFound
	case excTooManyRequests, excConcurrent, excService, CodeTimeout, CodeNetworkError, CodeDeadlineExceeded:
		return VerdictRetryable
	}
	if status == 429 || status >= 500 {
		return VerdictRetryable
	}
	return VerdictFailed
}
