package janitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// classify turns one CancelHandshake answer into a Result: cancelled on
// success, skipped on 409 HandshakeStatusMismatch, not_found on 404, invalid
// when the service rejects the ID, failed otherwise (the package comment's
// Outcomes).
func classify(r Result, res resourcemanager.Result, err error) Result {
	r.APIRequestID = res.RequestID
	r.Attempts = res.Attempts
	var apiErr *resourcemanager.APIError
	isAPI := errors.As(err, &apiErr)
	if r.APIRequestID == "" && isAPI {
		r.APIRequestID = apiErr.RequestID
	}
	if err == nil {
		r.Outcome = handshake.OutcomeCancelled
		r.ErrorCode, r.Error = "", ""
		if res.Handshake.Status != "" {
			r.Status = res.Handshake.Status
		} else {
			r.Status = handshake.StatusCancelled
		}
		return r
	}
	r.ErrorCode = resourcemanager.ErrorCode(err)
	r.Error = shortError(err, apiErr)
	if res.Handshake.Status != "" {
		r.Status = res.Handshake.Status
	}
	switch {
	case resourcemanager.IsStatusMismatch(err):
		// Already final (Cancelled, Accepted, Declined or Expired); which
		// one the 409 does not say, and a status a sweep listed is stale.
		r.Outcome = handshake.OutcomeSkipped
		r.Status = res.Handshake.Status
	case resourcemanager.IsNotFound(err):
		r.Outcome = handshake.OutcomeNotFound
		r.Status = ""
	case resourcemanager.IsInvalidID(err):
		// The service rejects an ID the local check let through: retrying
		// cannot help, and invalid sends the record to the dead-letter queue.
		r.Outcome = handshake.OutcomeInvalid
		r.Status = ""
	default:
		r.Outcome = handshake.OutcomeFailed
		if r.ErrorCode == "" {
			r.ErrorCode = "Unknown"
		}
	}
	return r
}

// blameCutOff is the Result of a call that failed after the calls were cut
// off: it reports code (the deadline's, or the interruption's), not
// whatever transient error the call was retrying. A definitive API answer
// (such as a permission error) keeps its own code.
func blameCutOff(r Result, err error, code string) Result {
	var apiErr *resourcemanager.APIError
	if r.Outcome != handshake.OutcomeFailed || errors.As(err, &apiErr) && !resourcemanager.IsRetryable(err) {
		return r
	}
	r.ErrorCode = code
	r.Error = shortError(fmt.Errorf("%s: %w", cutOffWhy(code), err), nil)
	return r
}

// cutOffWhy says why calls were cut off, for code (ctxCode's).
func cutOffWhy(code string) string {
	if code == CodeCanceled {
		return "cut off: the invocation was interrupted"
	}
	return "cut off by the invocation deadline"
}

// tooLate reports why no new call may start, if that is the case.
func tooLate(ctx, callCtx context.Context, b deadline.Budget) (code, why string) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return CodeCanceled, "not attempted: the invocation was interrupted"
	}
	if callCtx.Err() != nil {
		return ctxCode(ctx), "not attempted: the invocation deadline was reached"
	}
	if now := time.Now(); !b.CanStart(now) {
		dl, _ := b.Deadline()
		return CodeDeadlineExceeded, fmt.Sprintf("not attempted: %s left before the invocation deadline, less than the API timeout %s and the reserve %s",
			dl.Sub(now).Round(time.Millisecond), b.APITimeout(), b.Reserve())
	}
	return "", ""
}

// ctxCode names why the invocation's time is up.
func ctxCode(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return CodeCanceled
	}
	return CodeDeadlineExceeded
}

func notFinished(r Result, code, why string) Result {
	r.Outcome = handshake.OutcomeFailed
	r.ErrorCode = code
	r.Error = why
	return r
}

// shortError is a bounded, secret-free description of err for a Result: the
// API's own code and message when the service answered, else the client's
// error text (which never holds credentials).
func shortError(err error, apiErr *resourcemanager.APIError) string {
	s := err.Error()
	if apiErr != nil && apiErr.Message != "" && apiErr.Code == resourcemanager.ErrorCode(err) {
		s = apiErr.Code + ": " + apiErr.Message
	}
	return handshake.Cut(s, 200)
}
