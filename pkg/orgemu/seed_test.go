package orgemu_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

func TestLoadSeedReadsEveryShape(t *testing.T) {
	cases := []struct {
		name  string
		seed  string
		check func(t *testing.T, srv *orgemu.Server, now time.Time)
	}{
		{"array with Age and Target", `[
			{"Id":"h-seedaccount01","Target":"123456789012","Age":"9d"},
			{"Id":"h-seedemail0001","Target":"Someone@Example.com","Age":"36h"}]`,
			func(t *testing.T, srv *orgemu.Server, now time.Time) {
				a, _ := srv.Get("h-seedaccount01")
				if a.State != orgemu.StateOpen || a.Action != orgemu.ActionInvite || !a.RequestedAt.Equal(now.Add(-9*24*time.Hour)) ||
					len(a.Parties) != 2 || a.Parties[1] != (orgemu.Party{ID: "123456789012", Type: orgemu.PartyAccount}) {
					t.Errorf("account entry: %+v", a)
				}
				m, _ := srv.Get("h-seedemail0001")
				if m.Parties[1] != (orgemu.Party{ID: "Someone@Example.com", Type: orgemu.PartyEmail}) {
					t.Errorf("email entry parties %+v", m.Parties)
				}
			}},
		{"a saved List answer with other actions and finished states", `{"Handshakes":[
			{"Id":"h-enableall0001","Action":"ENABLE_ALL_FEATURES","State":"REQUESTED","RequestedTimestamp":1780000000},
			{"Id":"h-approveall001","Action":"APPROVE_ALL_FEATURES","State":"OPEN","RequestedTimestamp":"2026-05-28T00:00:00Z"},
			{"Id":"h-accepted0001","State":"ACCEPTED","Parties":[{"Id":"o-abcdef1234","Type":"ORGANIZATION"},{"Id":"210987654321","Type":"ACCOUNT"}]},
			{"Id":"h-declined0001","State":"DECLINED"},
			{"Id":"h-canceled0001","State":"CANCELED"},
			{"Id":"h-expired00001","State":"EXPIRED"}],"NextToken":null}`,
			func(t *testing.T, srv *orgemu.Server, now time.Time) {
				want := map[string]string{
					"h-enableall0001": "REQUESTED", "h-approveall001": "OPEN", "h-accepted0001": "ACCEPTED",
					"h-declined0001": "DECLINED", "h-canceled0001": "CANCELED", "h-expired00001": "EXPIRED",
				}
				for id, state := range want {
					if got := srv.State(id); got != state {
						t.Errorf("%s: %q, want %q", id, got, state)
					}
				}
				e, _ := srv.Get("h-enableall0001")
				if e.Action != orgemu.ActionEnableAllFeatures || !e.RequestedAt.Equal(time.Unix(1780000000, 0)) || !strings.Contains(e.Arn, "/all_features/h-enableall0001") {
					t.Errorf("ENABLE_ALL_FEATURES entry %+v", e)
				}
				a, _ := srv.Get("h-accepted0001")
				if len(a.Parties) != 2 || a.Parties[0].ID != "o-abcdef1234" {
					t.Errorf("an organization party given is kept: %+v", a.Parties)
				}
			}},
		{"generate", `{"generate":{"count":40,"fresh":1,"stale":1,"final":1,"other":1,"seed":3}}`,
			func(t *testing.T, srv *orgemu.Server, now time.Time) {
				kinds := map[string]int{}
				for _, h := range srv.Handshakes() {
					kinds[h.Action+" "+h.State]++
				}
				if srv.Len() != 40 || kinds["INVITE OPEN"] != 20 || kinds["INVITE ACCEPTED"]+kinds["INVITE DECLINED"]+kinds["INVITE CANCELED"]+kinds["INVITE EXPIRED"] != 10 {
					t.Errorf("generated %d: %v", srv.Len(), kinds)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			srv := orgemu.New(orgemu.Options{Clock: clock.Now})
			if err := srv.LoadSeed(strings.NewReader(tc.seed)); err != nil {
				t.Fatal(err)
			}
			tc.check(t, srv, clock.Now())
		})
	}
}

func TestLoadSeedNamesWhatIsWrong(t *testing.T) {
	cases := []struct{ seed, want string }{
		{``, "empty input"},
		{`"h-x"`, "want a JSON array"},
		{`[{"Id":"h-Mixed0000001"}]`, "handshake 0: ID"},
		{`[{"Id":"h-fine00000001"},{"Id":"h-fine00000002","State":"PENDING"}]`, "state \"PENDING\""},
		{`[{"Id":"h-fine00000001","Action":"INVITE_ALL"}]`, "action \"INVITE_ALL\""},
		{`[{"Id":"h-fine00000001","Statee":"OPEN"}]`, "handshake 0: json: unknown field \"Statee\""},
		{`[{"Id":"h-fine00000001","Age":"9d","RequestedTimestamp":1}]`, "Age or RequestedTimestamp"},
		{`[{"Id":"h-fine00000001","Age":"soon"}]`, "field Age"},
		{`[{"Id":"h-fine00000001","Target":"a@b.c","Parties":[{"Id":"1","Type":"ACCOUNT"}]}]`, "Target or an ACCOUNT"},
		{`[{"Id":"h-fine00000001","Parties":[{"Id":"1","Type":"USER"}]}]`, "party type"},
		{`[{"Id":"h-fine00000001","RequestedTimestamp":"yesterday"}]`, "RFC 3339"},
		{`{"generate":{"count":-1}}`, "count -1"},
	}
	for _, tc := range cases {
		srv := orgemu.New(orgemu.Options{})
		err := srv.LoadSeed(strings.NewReader(tc.seed))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("seed %s: error %v, want it to mention %q", tc.seed, err, tc.want)
		}
		if srv.Len() != 0 {
			t.Errorf("seed %s: %d handshakes added by a refused seed", tc.seed, srv.Len())
		}
	}
}

func TestServiceClockDrivesExpiryCancelingAndRetention(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	now := e.clock.Now()
	mustSeed(t, e.srv,
		invite("h-expiring0001", "111122223333", 14*24*time.Hour, now),
		orgemu.Handshake{ID: "h-canceling001", State: orgemu.StateCanceling, FinishedAt: now},
		orgemu.Handshake{ID: "h-oldcanceled1", State: orgemu.StateCanceled, FinishedAt: now.Add(-29 * 24 * time.Hour)},
	)
	c := e.testClient(t)
	list := func() map[string]types.HandshakeState {
		out, err := c.ListHandshakesForOrganization(context.Background(), &organizations.ListHandshakesForOrganizationInput{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]types.HandshakeState{}
		for _, h := range out.Handshakes {
			m[aws.ToString(h.Id)] = h.State
		}
		return m
	}
	if got := list(); got["h-expiring0001"] != "OPEN" || got["h-canceling001"] != "CANCELING" || got["h-oldcanceled1"] != "CANCELED" {
		t.Fatalf("at start: %v", got)
	}
	e.clock.Advance(orgemu.DefaultCancelingFor)
	if got := list(); got["h-canceling001"] != "CANCELED" {
		t.Errorf("CANCELING after %s: %v", orgemu.DefaultCancelingFor, got)
	}
	e.clock.Advance(24 * time.Hour)
	got := list()
	if got["h-expiring0001"] != "EXPIRED" {
		t.Errorf("a day later the 14-day-old invitation reads %q, want EXPIRED", got["h-expiring0001"])
	}
	if _, listed := got["h-oldcanceled1"]; listed {
		t.Errorf("a handshake canceled 30 days ago is still listed")
	}
	_, err := c.DescribeHandshake(context.Background(), &organizations.DescribeHandshakeInput{HandshakeId: aws.String("h-oldcanceled1")})
	if !as[*types.HandshakeNotFoundException](err) {
		t.Errorf("describe past retention: %v, want HandshakeNotFoundException", err)
	}
}

func TestInviteRefusesBadTargetsAndDuplicates(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	c := e.testClient(t)
	invite := func(id string, typ types.HandshakePartyType) error {
		_, err := c.InviteAccountToOrganization(context.Background(), &organizations.InviteAccountToOrganizationInput{
			Target: &types.HandshakeParty{Id: aws.String(id), Type: typ},
		})
		return err
	}
	if err := invite("123456789012", types.HandshakePartyTypeAccount); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id   string
		typ  types.HandshakePartyType
		want func(error) bool
	}{
		{"123456789012", types.HandshakePartyTypeAccount, as[*types.DuplicateHandshakeException]},
		{"12345", types.HandshakePartyTypeAccount, as[*types.InvalidInputException]},
		{"not-an-address", types.HandshakePartyTypeEmail, as[*types.InvalidInputException]},
		{"o-abcdef1234", types.HandshakePartyTypeOrganization, as[*types.InvalidInputException]},
	}
	for _, tc := range cases {
		if err := invite(tc.id, tc.typ); !tc.want(err) {
			t.Errorf("invite %s %s: %v", tc.typ, tc.id, err)
		}
	}
	if n := e.srv.Len(); n != 1 {
		t.Errorf("%d handshakes, want 1", n)
	}
}

func TestFaultsValidateAndFailNextRefusesOtherCodes(t *testing.T) {
	bad := []orgemu.Faults{{Latency: -1}, {RateLimit: -1}, {ThrottleRate: 2}, {ErrorRate: -0.1}, {DropRate: 1.5}, {RateBurst: -1}}
	for _, f := range bad {
		if f.Validate() == nil {
			t.Errorf("%+v validated", f)
		}
	}
	if err := (orgemu.Faults{RateLimit: 10, ThrottleRate: 0.1}).Validate(); err != nil {
		t.Error(err)
	}
	srv := orgemu.New(orgemu.Options{})
	if err := srv.FailNext("h-abcdefgh", "HandshakeNotFoundException", 1); err == nil {
		t.Error("FailNext accepted a non-scriptable exception")
	}
}
