package janitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// classify turns one call's answer into a Result, by the directory's
// classification cls of err: cancelled on success, skipped when the
// invitation is already finished, not_found, invalid when the service
// rejects the ID, failed otherwise (the package comment's Outcomes).
func classify(r Result, ans directory.Answer, err error, cls directory.Classification) Result {
	r.APIRequestID = ans.RequestID
	r.Attempts = ans.Attempts
	if r.APIRequestID == "" {
		r.APIRequestID = cls.RequestID
	}
	if err == nil {
		r.Outcome = handshake.OutcomeCancelled
		r.ErrorCode, r.Error = "", ""
		r.Status = handshake.Status(ans.Invitation.Status)
		return r
	}
	r.ErrorCode = cls.Code
	r.Error = shortError(err, cls)
	if ans.Invitation.Status != "" {
		r.Status = handshake.Status(ans.Invitation.Status)
	}
	switch cls.Verdict {
	case directory.Skipped:
		// Already finished; which way the answer may not say, and a
		// status a sweep listed is stale.
		r.Outcome = handshake.OutcomeSkipped
		r.Status = handshake.Status(ans.Invitation.Status)
	case directory.NotFound:
		r.Outcome = handshake.OutcomeNotFound
		r.Status = ""
	case directory.Invalid:
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
func blameCutOff(r Result, err error, cls directory.Classification, code string) Result {
	if r.Outcome != handshake.OutcomeFailed || err == nil || cls.Answered && cls.Verdict != directory.Retryable {
		return r
	}
	r.ErrorCode = code
	r.Error = handshake.Cut(fmt.Sprintf("%s: %v", cutOffWhy(code), err), 200)
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
// service's own code and message when it answered, else the client's
// error text (which never holds credentials).
func shortError(err error, cls directory.Classification) string {
	s := err.Error()
	if cls.Message != "" {
		s = cls.Code + ": " + cls.Message
	}
	return handshake.Cut(s, 200)
}
