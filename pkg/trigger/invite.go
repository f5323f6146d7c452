package trigger

import (
	"encoding/json"
	"fmt"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// What identifies an AWS Organizations invite event.
const (
	inviteSource     = "aws.organizations"
	inviteDetailType = "AWS API Call via CloudTrail"
	inviteEventSrc   = "organizations.amazonaws.com"
	inviteEventName  = "InviteAccountToOrganization"
)

// inviteDetail is the part of a CloudTrail record the decoder reads.
type inviteDetail struct {
	EventSource      string `json:"eventSource"`
	EventName        string `json:"eventName"`
	ErrorCode        string `json:"errorCode"`
	ResponseElements *struct {
		Handshake *struct {
			ID *string `json:"id"`
		} `json:"handshake"`
	} `json:"responseElements"`
}

// isInviteEvent reports whether top is an EventBridge event of AWS
// Organizations through CloudTrail, which inviteEvent decodes (or refuses).
func isInviteEvent(top map[string]json.RawMessage) bool {
	var src, dt string
	_ = json.Unmarshal(top["source"], &src)
	_ = json.Unmarshal(top["detail-type"], &dt)
	return src == inviteSource && dt == inviteDetailType
}

// inviteEvent decodes an InviteAccountToOrganization event into a checking
// Job naming its handshake.
func inviteEvent(top map[string]json.RawMessage) (Decoded, error) {
	key := InviteEvent
	var id string
	if json.Unmarshal(top["id"], &id) == nil && id != "" {
		key = id
	}
	var d inviteDetail
	if err := json.Unmarshal(top["detail"], &d); err != nil {
		return Decoded{}, fmt.Errorf(`%w: the CloudTrail event's "detail" is not an object (%s): want a CloudTrail record of %s`, ErrUnsupportedEvent, jsonError(err), inviteEventName)
	}
	if d.EventSource != inviteEventSrc || d.EventName != inviteEventName {
		return Decoded{}, fmt.Errorf(`%w: a CloudTrail event of %s %s: want eventSource %q and eventName %q`,
			ErrUnsupportedEvent, handshake.Quote(d.EventSource, quoteMax), handshake.Quote(d.EventName, quoteMax), inviteEventSrc, inviteEventName)
	}
	if d.ErrorCode != "" {
		// The call failed: no invitation was sent.
		return Decoded{Job: janitor.Job{Check: true, Warnings: []string{
			fmt.Sprintf("ignored: the %s call the event %s records failed (errorCode %s), so it sent no invitation",
				inviteEventName, handshake.Show(key, quoteMax), handshake.Show(d.ErrorCode, quoteMax)),
		}}}, nil
	}
	if d.ResponseElements == nil || d.ResponseElements.Handshake == nil || d.ResponseElements.Handshake.ID == nil {
		return Decoded{}, fmt.Errorf(`%w: the CloudTrail record has no "responseElements.handshake.id": want the handshake %s returned`, ErrInvalidPayload, inviteEventName)
	}
	// The ID goes to the engine as written: it validates it.
	return Decoded{Job: janitor.Job{Check: true, Items: []janitor.Item{{Key: key, IDs: []string{*d.ResponseElements.Handshake.ID}}}}}, nil
}
