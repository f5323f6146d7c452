package organizations_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

func TestParseIDAcceptsOnlyTheAPIPattern(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"h-abcdefgh", true},
		{"h-0123456789abcdefghijklmnopqrstuv", true},
		{"h-exampleinvite01", true},
		{"h-abcdefg", false},                           // 7
		{"h-0123456789abcdefghijklmnopqrstuvw", false}, // 33
		{"h-ABCDEFGH", false},
		{"h-Rm3mu7Qx0000001", false}, // a Resource Directory ID
		{"H-abcdefgh", false},
		{"x-abcdefgh", false},
		{"h_abcdefgh", false},
		{"h-abcdefg!", false},
		{"h-abcdéfgh", false},
		{" h-abcdefgh", false},
		{"h-abcdefgh\n", false},
		{"", false},
	}
	for _, tc := range cases {
		id, err := organizations.ParseID(tc.in)
		switch {
		case tc.ok && (err != nil || string(id) != tc.in):
			t.Errorf("ParseID(%q) = %q, %v; want it accepted", tc.in, id, err)
		case !tc.ok && (err == nil || !errors.Is(err, organizations.ErrInvalidID) || !strings.Contains(err.Error(), "8 to 32 lower-case letters or digits")):
			t.Errorf("ParseID(%q) = %q, %v; want ErrInvalidID saying what is accepted", tc.in, id, err)
		}
	}
	long := strings.Repeat("x", 1<<20)
	if _, err := organizations.ParseID(long); err == nil || len(err.Error()) > 300 {
		t.Errorf("a megabyte ID: error of %d bytes, want a bounded one", len(err.Error()))
	}
}

func TestFromSDKFindsTheTargetWhateverThePartyOrder(t *testing.T) {
	req := time.Date(2026, 1, 18, 21, 41, 16, 0, time.UTC)
	org := types.HandshakeParty{Id: aws.String("o-abcdef1234"), Type: types.HandshakePartyTypeOrganization}
	cases := []struct {
		name    string
		parties []types.HandshakeParty
		target  string
		tt      handshake.TargetType
	}{
		{"organization first", []types.HandshakeParty{org, {Id: aws.String("123456789012"), Type: types.HandshakePartyTypeAccount}}, "123456789012", handshake.TargetAccount},
		{"target first", []types.HandshakeParty{{Id: aws.String("juan@example.com"), Type: types.HandshakePartyTypeEmail}, org}, "juan@example.com", handshake.TargetEmail},
		{"no target", []types.HandshakeParty{org}, "", ""},
		{"no parties", nil, "", ""},
	}
	for _, tc := range cases {
		h := organizations.FromSDK(types.Handshake{
			Id: aws.String("h-abcdefgh"), Action: types.ActionTypeInviteAccountToOrganization, State: types.HandshakeStateOpen,
			Parties: tc.parties, RequestedTimestamp: &req,
		})
		if h.Target != tc.target || h.TargetType != tc.tt || h.ID != "h-abcdefgh" || !h.RequestedAt.Equal(req) || !h.ExpiresAt.IsZero() || !h.Invitation() {
			t.Errorf("%s: %+v", tc.name, h)
		}
	}
	for _, tc := range []struct {
		action types.ActionType
		state  types.HandshakeState
		want   bool
	}{
		{types.ActionTypeInviteAccountToOrganization, types.HandshakeStateOpen, true},
		{types.ActionTypeInviteAccountToOrganization, types.HandshakeStateRequested, true},
		{types.ActionTypeInviteAccountToOrganization, types.HandshakeStateCanceled, false},
		{types.ActionTypeInviteAccountToOrganization, types.HandshakeStateExpired, false},
		{types.ActionTypeInviteAccountToOrganization, "CANCELING", false},
		{types.ActionTypeEnableAllFeatures, types.HandshakeStateOpen, false},
		{types.ActionTypeApproveAllFeatures, types.HandshakeStateRequested, false},
		{types.ActionTypeTransferResponsibility, types.HandshakeStateOpen, false},
		{"", types.HandshakeStateOpen, false},
	} {
		if got := organizations.FromSDK(types.Handshake{Action: tc.action, State: tc.state}).Invitation(); got != tc.want {
			t.Errorf("%s %s: Invitation() = %v", tc.action, tc.state, got)
		}
	}
}

func TestInvitationsYieldsOnlyOpenInvitesAcrossPages(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{})
	seed(t, srv, orgemu.Generate(orgemu.GenerateOptions{Count: 95, Seed: 11})...)
	seed(t, srv,
		orgemu.Handshake{ID: "h-enableall0001", Action: orgemu.ActionEnableAllFeatures, State: orgemu.StateOpen, RequestedAt: time.Now().Add(-10 * 24 * time.Hour)},
		orgemu.Handshake{ID: "h-transfer00001", Action: orgemu.ActionTransferResponsibility, State: orgemu.StateRequested},
		orgemu.Handshake{ID: "h-requested0001", State: orgemu.StateRequested, Parties: []orgemu.Party{{ID: "a@example.com", Type: orgemu.PartyEmail}}},
		orgemu.Handshake{ID: "h-canceling0001", State: orgemu.StateCanceling, FinishedAt: time.Now()},
	)
	var want []string
	for _, h := range srv.Handshakes() {
		if h.Action == orgemu.ActionInvite && (h.State == orgemu.StateOpen || h.State == orgemu.StateRequested) {
			want = append(want, h.ID)
		}
	}
	var got []string
	for h, err := range c.Invitations(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != "OPEN" && h.Status != "REQUESTED" || !h.Open || h.Target == "" || h.Created.IsZero() {
			t.Errorf("yielded %+v", h)
		}
		got = append(got, h.ID)
	}
	if !slices.Equal(got, want) || !slices.Contains(got, "h-requested0001") || len(want) == srv.Len() {
		t.Errorf("yielded %d invitations, want the %d open ones of %d", len(got), len(want), srv.Len())
	}
	invites := 0
	for _, h := range srv.Handshakes() {
		if h.Action == orgemu.ActionInvite {
			invites++
		}
	}
	pages := (invites + organizations.PageSize - 1) / organizations.PageSize
	if n := srv.Stats().Calls["ListHandshakesForOrganization"]; n != pages || invites == srv.Len() {
		t.Errorf("%d list calls for %d invitations of %d handshakes, want %d pages of %d (the filter leaves the others out)", n, invites, srv.Len(), pages, organizations.PageSize)
	}
	if srv.Stats().Calls["CancelHandshake"] != 0 {
		t.Error("listing cancelled something")
	}
}

func TestInvitationsFailsPastMaxPagesRatherThanStopping(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{MaxPages: 2})
	seed(t, srv, orgemu.Generate(orgemu.GenerateOptions{Count: 41, Fresh: 1, Seed: 2})...)
	n := 0
	var last error
	for _, err := range c.Invitations(context.Background()) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if !errors.Is(last, organizations.ErrListingTooLong) || n != 40 {
		t.Errorf("after %d invitations: %v, want ErrListingTooLong after 40", n, last)
	}
}

func TestListPageFailureEndsTheListing(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{Faults: orgemu.Faults{ErrorRate: 1}}, organizations.Options{MaxAttempts: 1})
	seed(t, srv, orgemu.Generate(orgemu.GenerateOptions{Count: 5, Seed: 3})...)
	var errs []error
	for _, err := range c.Invitations(context.Background()) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || organizations.Classify(errs[0]).Verdict != organizations.VerdictRetryable || srv.Stats().Requests != 1 {
		t.Errorf("errors %v after %d requests: want one retryable error after one request", errs, srv.Stats().Requests)
	}
}

func TestCancelClassifiesEveryAnswer(t *testing.T) {
	now := time.Now()
	seed(t, emu,
		invite("h-cls0open0001", "111122223333", time.Hour),
		orgemu.Handshake{ID: "h-cls0cancel01", State: orgemu.StateCanceled},
		orgemu.Handshake{ID: "h-cls0accept01", State: orgemu.StateAccepted},
		orgemu.Handshake{ID: "h-cls0declin01", State: orgemu.StateDeclined},
		orgemu.Handshake{ID: "h-cls0expire01", RequestedAt: now.Add(-16 * 24 * time.Hour)},
		invite("h-cls0thrott01", "111122224444", time.Hour),
		invite("h-cls0concur01", "111122225555", time.Hour),
		invite("h-cls0servic01", "111122226666", time.Hour),
		invite("h-cls0denied01", "111122227777", time.Hour),
		orgemu.Handshake{ID: "h-cls0cancng01", State: orgemu.StateCanceling, FinishedAt: now.Add(time.Hour)},
	)
	emu.ThrottleNext("h-cls0thrott01", 1)
	for id, code := range map[string]string{"h-cls0concur01": "ConcurrentModificationException", "h-cls0servic01": "ServiceException", "h-cls0denied01": "AccessDeniedException"} {
		if err := emu.FailNext(id, code, 1); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		id        string
		verdict   organizations.Verdict
		code      string
		throttled bool
		state     string // the emulator's state afterwards
	}{
		{"h-cls0open0001", organizations.VerdictCancelled, "", false, "CANCELED"},
		{"h-cls0cancel01", organizations.VerdictSkipped, "HandshakeAlreadyInStateException", false, "CANCELED"},
		{"h-cls0accept01", organizations.VerdictSkipped, "InvalidHandshakeTransitionException", false, "ACCEPTED"},
		{"h-cls0declin01", organizations.VerdictSkipped, "InvalidHandshakeTransitionException", false, "DECLINED"},
		{"h-cls0expire01", organizations.VerdictSkipped, "InvalidHandshakeTransitionException", false, "EXPIRED"},
		{"h-cls0missin01", organizations.VerdictNotFound, "HandshakeNotFoundException", false, ""},
		{"h-cls0thrott01", organizations.VerdictRetryable, "TooManyRequestsException", true, "OPEN"},
		{"h-cls0concur01", organizations.VerdictRetryable, "ConcurrentModificationException", false, "OPEN"},
		{"h-cls0servic01", organizations.VerdictRetryable, "ServiceException", false, "OPEN"},
		{"h-cls0cancng01", organizations.VerdictRetryable, "ConcurrentModificationException", false, "CANCELING"},
		{"h-cls0denied01", organizations.VerdictFailed, "AccessDeniedException", false, "OPEN"},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			res, err := shared.Cancel(context.Background(), organizations.ID(tc.id))
			got := organizations.Classify(err)
			if got.Verdict != tc.verdict || got.Code != tc.code || got.Throttled != tc.throttled {
				t.Errorf("Classify(%v) = %+v; want %s %s throttled=%v", err, got, tc.verdict, tc.code, tc.throttled)
			}
			if res.RequestID == "" || (err != nil && got.RequestID != res.RequestID) {
				t.Errorf("request IDs: result %q, classification %q", res.RequestID, got.RequestID)
			}
			if err == nil && (res.Handshake.ID != tc.id || res.Handshake.State != "CANCELED") {
				t.Errorf("cancelled handshake %+v", res.Handshake)
			}
			if err != nil && !strings.Contains(err.Error(), tc.code) {
				t.Errorf("error %q does not name %s", err, tc.code)
			}
			if s := emu.State(tc.id); s != tc.state {
				t.Errorf("emulator state %q, want %q", s, tc.state)
			}
		})
	}
}

func TestClassifyWithoutAnAnswer(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want organizations.Verdict
		code string
	}{
		{"budget", organizations.ErrDeadline, organizations.VerdictRetryable, "DeadlineExceeded"},
		{"wrapped budget", errors.Join(errors.New("x"), organizations.ErrDeadline), organizations.VerdictRetryable, "DeadlineExceeded"},
		{"invalid ID", organizations.ErrInvalidID, organizations.VerdictFailed, "ClientError"},
		{"anything", errors.New("boom"), organizations.VerdictFailed, "ClientError"},
	}
	for _, tc := range cases {
		if got := organizations.Classify(tc.err); got.Verdict != tc.want || got.Code != tc.code {
			t.Errorf("%s: %+v, want %s %s", tc.name, got, tc.want, tc.code)
		}
	}
}

func TestAnInvalidIDIsNeverSent(t *testing.T) {
	for _, id := range []organizations.ID{"", "h-ABCDEFGH", "h-x", "../h-abcdefgh"} {
		before := emu.Stats().Requests
		for _, call := range []func(context.Context, organizations.ID) (organizations.Result, error){shared.Cancel, shared.Describe} {
			_, err := call(context.Background(), id)
			if !errors.Is(err, organizations.ErrInvalidID) {
				t.Errorf("%q: %v, want ErrInvalidID", id, err)
			}
		}
		if after := emu.Stats().Requests; after != before {
			t.Errorf("%q: %d requests sent", id, after-before)
		}
	}
}

func TestDescribeReadsTheCurrentRecord(t *testing.T) {
	seed(t, emu, invite("h-describe0001", "dana@example.com", 36*time.Hour))
	res, err := shared.Describe(context.Background(), "h-describe0001")
	if err != nil {
		t.Fatal(err)
	}
	h := res.Handshake
	if h.ID != "h-describe0001" || h.State != "OPEN" || h.Target != "dana@example.com" || h.TargetType != handshake.TargetEmail ||
		time.Since(h.RequestedAt) < 36*time.Hour || h.ExpiresAt.Sub(h.RequestedAt) != orgemu.ValidFor || res.RequestID == "" ||
		!strings.Contains(h.Arn, "/invite/h-describe0001") {
		t.Errorf("%+v (request %q)", h, res.RequestID)
	}
	_, err = shared.Describe(context.Background(), "h-describe0404")
	if c := organizations.Classify(err); c.Verdict != organizations.VerdictNotFound {
		t.Errorf("missing: %+v", c)
	}
}

// A service that ignores the ActionType filter still gets nothing but open
// invitations out of ListPage; an open invitation with an ID the pattern
// refuses fails the page.
func TestListPageChecksWhatTheServiceReturns(t *testing.T) {
	pages := map[string]string{
		"mixed": `{"Handshakes":[
			{"Id":"h-enableall0001","Action":"ENABLE_ALL_FEATURES","State":"OPEN","RequestedTimestamp":1.7e9},
			{"Id":"h-approveall001","Action":"APPROVE_ALL_FEATURES","State":"REQUESTED"},
			{"Id":"h-transfer00001","Action":"TRANSFER_RESPONSIBILITY","State":"OPEN"},
			{"Id":"h-canceled00001","Action":"INVITE","State":"CANCELED"},
			{"Id":"h-canceling0001","Action":"INVITE","State":"CANCELING"},
			{"Id":"h-open000000001","Action":"INVITE","State":"OPEN","RequestedTimestamp":1700000000.5,
			 "Parties":[{"Id":"o-abcdef1234","Type":"ORGANIZATION"},{"Id":"123456789012","Type":"ACCOUNT"}]}],
			"NextToken":"t2"}`,
		"bad id": `{"Handshakes":[{"Id":"h-NOT-LOWER","Action":"INVITE","State":"OPEN"}]}`,
	}
	for name, body := range pages {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", orgemu.ContentType)
				w.Header().Set("x-amzn-RequestId", "rid-1")
				io.WriteString(w, body)
			}))
			defer ts.Close()
			c, err := organizations.New(organizations.Options{Config: staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, ""), BaseEndpoint: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.ListPage(context.Background(), "")
			if name == "bad id" {
				if !errors.Is(err, organizations.ErrInvalidID) || len(p.Invitations) != 0 {
					t.Errorf("%+v, %v: want ErrInvalidID and nothing yielded", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Invitations) != 1 || p.Invitations[0].ID != "h-open000000001" || p.Others != 5 || p.NextToken != "t2" || p.RequestID != "rid-1" ||
				!p.Invitations[0].RequestedAt.Equal(time.UnixMilli(1700000000500)) || p.Invitations[0].Target != "123456789012" {
				t.Errorf("page %+v", p)
			}
		})
	}
}
