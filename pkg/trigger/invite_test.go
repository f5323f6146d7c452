package trigger

import (
	"strings"
	"testing"
)

// invite builds an EventBridge event of a CloudTrail record of AWS
// Organizations; detail is the record's JSON.
func invite(detail string) string {
	return `{"version":"0","id":"ev-invite","detail-type":"AWS API Call via CloudTrail","source":"aws.organizations",` +
		`"account":"123456789012","time":"2026-07-26T03:00:00Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

const inviteOK = `{"eventSource":"organizations.amazonaws.com","eventName":"InviteAccountToOrganization",` +
	`"responseElements":{"handshake":{"id":"h-invited000001","state":"OPEN","requestedTimestamp":"Jan 18, 2017 9:41:16 PM","expirationTimestamp":"Feb 2, 2017 9:41:16 PM"}}}`

func TestAWSInviteEvent(t *testing.T) {
	runDecodeCases(t, AWS, []decodeCase{
		{name: "an invitation, CloudTrail's timestamps not read", in: invite(inviteOK), trigger: InviteEvent,
			want: job{check: true, items: []item{{key: "ev-invite", ids: ids("h-invited000001")}}}},
		{name: "a bad ID goes to the engine as written (it reports it invalid)", in: invite(strings.Replace(inviteOK, "h-invited000001", "h-BAD", 1)), trigger: InviteEvent,
			want: job{check: true, items: []item{{key: "ev-invite", ids: ids("h-BAD")}}}},
		{name: "a failed call is ignored: no invitation, a warning", trigger: InviteEvent,
			in:   invite(`{"eventSource":"organizations.amazonaws.com","eventName":"InviteAccountToOrganization","errorCode":"AccessDenied","errorMessage":"no","responseElements":null}`),
			want: job{check: true, warnings: 1}},
		{name: "another Organizations call", trigger: InviteEvent, wantErr: ErrUnsupportedEvent, has: `want eventSource "organizations.amazonaws.com" and eventName "InviteAccountToOrganization"`,
			in: invite(`{"eventSource":"organizations.amazonaws.com","eventName":"CreateAccount"}`)},
		{name: "no handshake in the response", trigger: InviteEvent, wantErr: ErrInvalidPayload, has: `no "responseElements.handshake.id"`,
			in: invite(`{"eventSource":"organizations.amazonaws.com","eventName":"InviteAccountToOrganization","responseElements":{}}`)},
		{name: "detail not an object", trigger: InviteEvent, wantErr: ErrUnsupportedEvent, has: `"detail" is not an object`,
			in: invite(`"x"`)},
		{name: "another CloudTrail source is not an invite event", trigger: ScheduledEvent, wantErr: ErrUnsupportedEvent, has: `detail-type "AWS API Call via CloudTrail"`,
			in: strings.Replace(invite(inviteOK), "aws.organizations", "aws.s3", 1)},
	})
}
