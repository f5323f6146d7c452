package organizations

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
)

var _ directory.Describer = (*Client)(nil)

// Kind returns directory.AWSOrganizations.
func (c *Client) Kind() directory.Kind { return directory.AWSOrganizations }

// ParseID validates s as ParseID does.
func (c *Client) ParseID(s string) (directory.ID, error) {
	id, err := ParseID(s)
	return directory.ID(id), err
}

// Neutral converts h to the engine's neutral words: its state is the
// API's word (OPEN, ...), its age counts from RequestedTimestamp.
func (h Handshake) Neutral() directory.Invitation {
	return directory.Invitation{
		ID: h.ID, Status: h.State, Open: h.Open(),
		TargetType: h.TargetType, Target: h.Target, Created: h.RequestedAt,
	}
}

// Invitations iterates over every open invitation of the organization (an
// INVITE handshake, OPEN or REQUESTED), page by page (ListPage, each page a
// paced call), following NextToken, holding one page in memory. A page
// that fails ends the iteration with its error; so does a listing longer
// than MaxPages pages.
func (c *Client) Invitations(ctx context.Context) iter.Seq2[directory.Invitation, error] {
	return func(yield func(directory.Invitation, error) bool) {
		token := ""
		for page := 1; page <= c.maxPages; page++ {
			var p Page
			_, err := c.paced(ctx, opList, func(actx context.Context) (err error) {
				p, err = c.ListPage(actx, token)
				return err
			})
			if err != nil {
				yield(directory.Invitation{}, fmt.Errorf("listing handshakes, page %d: %w", page, err))
				return
			}
			for _, h := range p.Invitations {
				if !yield(h.Neutral(), nil) {
					return
				}
			}
			if p.NextToken == "" {
				return
			}
			token = p.NextToken
		}
		yield(directory.Invitation{}, fmt.Errorf("organizations: %s: %w: more than %d pages", opList, ErrListingTooLong, c.maxPages))
	}
}

// CancelInvitation cancels one invitation (Cancel, paced and retried).
// After a retried attempt (Attempts > 1), HandshakeAlreadyInStateException
// may be this call's own earlier attempt having succeeded without its
// answer arriving.
func (c *Client) CancelInvitation(ctx context.Context, id directory.ID) (directory.Answer, error) {
	return c.pacedOne(ctx, opCancel, id, c.Cancel)
}

// DescribeInvitation reads one invitation's current record (Describe,
// paced and retried).
func (c *Client) DescribeInvitation(ctx context.Context, id directory.ID) (directory.Answer, error) {
	return c.pacedOne(ctx, opDescribe, id, c.Describe)
}

func (c *Client) pacedOne(ctx context.Context, op string, id directory.ID, one func(context.Context, ID) (Result, error)) (directory.Answer, error) {
	var r Result
	attempts, err := c.paced(ctx, op, func(actx context.Context) (err error) {
		r, err = one(actx, ID(id))
		return err
	})
	ans := directory.Answer{RequestID: r.RequestID, Attempts: attempts}
	if err == nil {
		ans.Invitation = r.Handshake.Neutral()
	} else if e, ok := errors.AsType[*Error](err); ok && ans.RequestID == "" {
		ans.RequestID = e.RequestID
	}
	return ans, err
}

// paced runs one call through the Pacer: attempts at the rate limit's
// turns, retried as the package comment says, within the deadline.Budget
// of ctx.
func (c *Client) paced(ctx context.Context, op string, attempt func(context.Context) error) (int, error) {
	// The attempts read the same Budget as the Pacer, through their context.
	ctx = deadline.NewContext(ctx, deadline.Of(ctx))
	attempts, err := c.pacer.Do(ctx, pacing.Call{Attempt: attempt, Classify: pacingOutcome})
	var stop *pacing.StopError
	if !errors.As(err, &stop) {
		return attempts, err
	}
	if errors.Is(stop.Err, pacing.ErrOutOfTime) {
		if stop.Last != nil {
			return attempts, fmt.Errorf("%w (%s); last attempt: %w", ErrDeadline, op, stop.Last)
		}
		return attempts, fmt.Errorf("%w (%s)", ErrDeadline, op)
	}
	if stop.Last != nil {
		return attempts, fmt.Errorf("organizations: %s: %w; last attempt: %w", op, stop.Err, stop.Last)
	}
	return attempts, fmt.Errorf("organizations: %s: %w", op, stop.Err)
}

// pacingOutcome tells the Pacer what a failed attempt got.
func pacingOutcome(err error) pacing.Outcome {
	cls := Classify(err)
	e, answered := errors.AsType[*Error](err)
	answered = answered && e.StatusCode != 0
	switch {
	case cls.Throttled:
		return pacing.Throttled
	case cls.Verdict == VerdictRetryable && answered:
		return pacing.Unavailable
	case cls.Verdict == VerdictRetryable:
		return pacing.NoAnswer
	case answered:
		return pacing.Rejected
	}
	return pacing.Unusable
}

// Classify says what a call's error means, in the directory's neutral
// words (the package function Classify's verdicts).
func (c *Client) Classify(err error) directory.Classification {
	cls := Classify(err)
	e, answered := errors.AsType[*Error](err)
	out := directory.Classification{Code: cls.Code, RequestID: cls.RequestID,
		Answered: answered && e.StatusCode != 0 && cls.Code != CodeDeadlineExceeded}
	if out.Answered && cls.Message != "" {
		out.Message = cls.Message
	}
	switch cls.Verdict {
	case VerdictCancelled:
		out.Verdict = directory.Cancelled
	case VerdictSkipped:
		out.Verdict = directory.Skipped
	case VerdictNotFound:
		out.Verdict = directory.NotFound
	case VerdictRetryable:
		out.Verdict = directory.Retryable
	default:
		out.Verdict = directory.Failed
	}
	return out
}
