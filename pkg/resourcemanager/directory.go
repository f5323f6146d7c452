package resourcemanager

import (
	"context"
	"errors"
	"iter"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

var _ directory.Directory = (*Client)(nil)

// Kind returns directory.ResourceDirectory.
func (c *Client) Kind() directory.Kind { return directory.ResourceDirectory }

// ParseID validates s as handshake.ParseID does.
func (c *Client) ParseID(s string) (directory.ID, error) {
	id, err := handshake.ParseID(s)
	return directory.ID(id), err
}

// Invitation converts h to the engine's neutral words: its status is the
// API's word (Pending, ...), open when Pending; its age counts from
// CreateTime.
func Invitation(h handshake.Handshake) directory.Invitation {
	return directory.Invitation{
		ID: h.HandshakeID, Status: string(h.Status), Open: h.Status == handshake.StatusPending,
		TargetType: h.TargetType, Target: h.TargetEntity, Created: h.CreateTime,
	}
}

// Invitations iterates over Handshakes in the engine's neutral words.
func (c *Client) Invitations(ctx context.Context) iter.Seq2[directory.Invitation, error] {
	return func(yield func(directory.Invitation, error) bool) {
		for h, err := range c.Handshakes(ctx) {
			if !yield(Invitation(h), err) {
				return
			}
		}
	}
}

// CancelInvitation is CancelHandshake in the engine's neutral words. On
// success the answer's status is the API's, or Cancelled when it gave
// none.
func (c *Client) CancelInvitation(ctx context.Context, id directory.ID) (directory.Answer, error) {
	res, err := c.CancelHandshake(ctx, handshake.ID(id))
	ans := directory.Answer{Invitation: Invitation(res.Handshake), RequestID: res.RequestID, Attempts: res.Attempts}
	if err == nil && ans.Invitation.Status == "" {
		ans.Invitation.Status = string(handshake.StatusCancelled)
	}
	return ans, err
}

// Classify says what a call's error means: 409 HandshakeStatusMismatch is
// skipped (already final), 404 EntityNotExists.Handshake not_found, a
// refused ID invalid, a transient failure retryable (the client's retries
// ran out, or its time), anything else failed. Code is ErrorCode's.
func (c *Client) Classify(err error) directory.Classification {
	if err == nil {
		return directory.Classification{Verdict: directory.Cancelled}
	}
	var apiErr *APIError
	isAPI := errors.As(err, &apiErr)
	out := directory.Classification{Code: ErrorCode(err), Answered: isAPI}
	if isAPI {
		out.RequestID = apiErr.RequestID
		if apiErr.Message != "" && apiErr.Code == out.Code {
			out.Message = apiErr.Message
		}
	}
	switch {
	case IsStatusMismatch(err):
		out.Verdict = directory.Skipped
	case IsNotFound(err):
		out.Verdict = directory.NotFound
	case IsInvalidID(err):
		out.Verdict = directory.Invalid
	case IsRetryable(err):
		out.Verdict = directory.Retryable
	default:
		out.Verdict = directory.Failed
	}
	return out
}
