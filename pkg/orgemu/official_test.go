package orgemu_test

// The official client, aws-sdk-go-v2/service/organizations, against the
// emulator: whatever it signs and sends, the emulator must accept, its
// answers must decode into the SDK's types, and each error must reach the
// client as the SDK's typed exception.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

func TestOfficialClientRunsEveryOperation(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	c := e.testClient(t)
	ctx := context.Background()
	now := e.clock.Now()

	inv, err := c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Id: aws.String("222233334444"), Type: types.HandshakePartyTypeAccount},
		Notes:  aws.String("join us"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := inv.Handshake
	id := aws.ToString(h.Id)
	if !orgemu.ValidID(id) || h.State != types.HandshakeStateOpen || h.Action != types.ActionTypeInviteAccountToOrganization {
		t.Fatalf("invite: id %q state %q action %q", id, h.State, h.Action)
	}
	if !aws.ToTime(h.RequestedTimestamp).Equal(now) || !aws.ToTime(h.ExpirationTimestamp).Equal(now.Add(orgemu.ValidFor)) {
		t.Errorf("invite times: requested %v expires %v, want %v and 15 days later", h.RequestedTimestamp, h.ExpirationTimestamp, now)
	}
	wantParties := []types.HandshakeParty{
		{Id: aws.String(orgemu.DefaultOrganizationID), Type: types.HandshakePartyTypeOrganization},
		{Id: aws.String("222233334444"), Type: types.HandshakePartyTypeAccount},
	}
	if len(h.Parties) != 2 || aws.ToString(h.Parties[0].Id) != *wantParties[0].Id || h.Parties[0].Type != wantParties[0].Type ||
		aws.ToString(h.Parties[1].Id) != *wantParties[1].Id || h.Parties[1].Type != wantParties[1].Type {
		t.Errorf("parties %+v, want the organization and the account", h.Parties)
	}
	wantArn := "arn:aws:organizations::" + orgemu.DefaultManagementAccount + ":handshake/" + orgemu.DefaultOrganizationID + "/invite/" + id
	if aws.ToString(h.Arn) != wantArn {
		t.Errorf("arn %q, want %q", aws.ToString(h.Arn), wantArn)
	}

	desc, err := c.DescribeHandshake(ctx, &organizations.DescribeHandshakeInput{HandshakeId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.Handshake.Id) != id || desc.Handshake.State != types.HandshakeStateOpen {
		t.Errorf("describe: %+v", desc.Handshake)
	}

	email, err := c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Id: aws.String("someone@example.com"), Type: types.HandshakePartyTypeEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	third, err := c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Id: aws.String("555566667777"), Type: types.HandshakePartyTypeAccount},
	})
	if err != nil {
		t.Fatal(err)
	}

	list, err := c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range list.Handshakes {
		ids = append(ids, aws.ToString(x.Id))
	}
	if want := []string{id, aws.ToString(email.Handshake.Id), aws.ToString(third.Handshake.Id)}; !slices.Equal(ids, want) || list.NextToken != nil {
		t.Errorf("list: %v next %v, want %v and no NextToken", ids, list.NextToken, want)
	}

	for _, step := range []struct {
		name string
		call func() (*types.Handshake, error)
		want types.HandshakeState
	}{
		{"accept", func() (*types.Handshake, error) {
			out, err := c.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: aws.String(id)})
			return handshakeOf(out, err, func() *types.Handshake { return out.Handshake })
		}, types.HandshakeStateAccepted},
		{"decline", func() (*types.Handshake, error) {
			out, err := c.DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: email.Handshake.Id})
			return handshakeOf(out, err, func() *types.Handshake { return out.Handshake })
		}, types.HandshakeStateDeclined},
		{"cancel", func() (*types.Handshake, error) {
			out, err := c.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: third.Handshake.Id})
			return handshakeOf(out, err, func() *types.Handshake { return out.Handshake })
		}, types.HandshakeStateCanceled},
	} {
		got, err := step.call()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got.State != step.want {
			t.Errorf("%s: state %q, want %q", step.name, got.State, step.want)
		}
		if e.srv.State(aws.ToString(got.Id)) != string(step.want) {
			t.Errorf("%s: emulator holds %q, want %q", step.name, e.srv.State(aws.ToString(got.Id)), step.want)
		}
	}
	if got := e.srv.Stats().Calls; got["InviteAccountToOrganization"] != 3 || got["CancelHandshake"] != 1 || got["DescribeHandshake"] != 1 {
		t.Errorf("calls %v", got)
	}
}

func handshakeOf[T any](out *T, err error, get func() *types.Handshake) (*types.Handshake, error) {
	if err != nil {
		return nil, err
	}
	return get(), nil
}

func TestOfficialClientPagesAtTwentyAndFilters(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	hs := orgemu.Generate(orgemu.GenerateOptions{Count: 47, Now: e.clock.Now(), Seed: 7})
	mustSeed(t, e.srv, hs...)
	c := e.testClient(t)
	ctx := context.Background()

	collect := func(in *organizations.ListHandshakesForOrganizationInput) (ids []string, sizes []int) {
		t.Helper()
		p := organizations.NewListHandshakesForOrganizationPaginator(c, in)
		for pages := 0; p.HasMorePages(); pages++ {
			if pages > 10 {
				t.Fatal("more than 10 pages")
			}
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(out.Handshakes))
			for _, h := range out.Handshakes {
				ids = append(ids, aws.ToString(h.Id))
			}
		}
		return ids, sizes
	}

	var all []string
	var invites []string
	for _, h := range e.srv.Handshakes() {
		all = append(all, h.ID)
		if h.Action == orgemu.ActionInvite {
			invites = append(invites, h.ID)
		}
	}
	ids, sizes := collect(&organizations.ListHandshakesForOrganizationInput{})
	if !slices.Equal(ids, all) || !slices.Equal(sizes, []int{20, 20, 7}) {
		t.Errorf("default paging: %d ids in pages %v; want all %d in 20, 20, 7", len(ids), sizes, len(all))
	}
	ids, sizes = collect(&organizations.ListHandshakesForOrganizationInput{MaxResults: aws.Int32(9)})
	if !slices.Equal(ids, all) || len(sizes) != 6 || sizes[0] != 9 {
		t.Errorf("MaxResults 9: pages %v", sizes)
	}
	ids, _ = collect(&organizations.ListHandshakesForOrganizationInput{Filter: &types.HandshakeFilter{ActionType: types.ActionTypeInviteAccountToOrganization}})
	if !slices.Equal(ids, invites) || len(invites) == len(all) {
		t.Errorf("INVITE filter: %d ids, want the %d invitations of %d", len(ids), len(invites), len(all))
	}

	bad := []struct {
		name   string
		in     *organizations.ListHandshakesForOrganizationInput
		reason types.InvalidInputExceptionReason
	}{
		{"MaxResults 21", &organizations.ListHandshakesForOrganizationInput{MaxResults: aws.Int32(21)}, "MAX_VALUE_EXCEEDED"},
		{"MaxResults 0", &organizations.ListHandshakesForOrganizationInput{MaxResults: aws.Int32(0)}, "MIN_VALUE_EXCEEDED"},
		{"forged NextToken", &organizations.ListHandshakesForOrganizationInput{NextToken: aws.String("not-a-token")}, "INVALID_NEXT_TOKEN"},
		{"unknown action", &organizations.ListHandshakesForOrganizationInput{Filter: &types.HandshakeFilter{ActionType: "NOPE"}}, "INVALID_ENUM"},
	}
	for _, tc := range bad {
		_, err := c.ListHandshakesForOrganization(ctx, tc.in)
		var ie *types.InvalidInputException
		if !errors.As(err, &ie) || ie.Reason != tc.reason {
			t.Errorf("%s: %v, want InvalidInputException %s", tc.name, err, tc.reason)
		}
	}
}

func TestOfficialClientDecodesEachExceptionAsItsType(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	now := e.clock.Now()
	mustSeed(t, e.srv,
		invite("h-open00000001", "111122223333", time.Hour, now),
		orgemu.Handshake{ID: "h-canceled0001", State: orgemu.StateCanceled},
		orgemu.Handshake{ID: "h-accepted0001", State: orgemu.StateAccepted},
		orgemu.Handshake{ID: "h-declined0001", State: orgemu.StateDeclined},
		orgemu.Handshake{ID: "h-expired00001", RequestedAt: now.Add(-16 * 24 * time.Hour)},
		orgemu.Handshake{ID: "h-canceling001", State: orgemu.StateCanceling},
		invite("h-throttled001", "111122224444", time.Hour, now),
		invite("h-failing00001", "111122225555", time.Hour, now),
		invite("h-conflict0001", "111122226666", time.Hour, now),
		invite("h-denied000001", "111122227777", time.Hour, now),
	)
	e.srv.ThrottleNext("h-throttled001", 1)
	for id, code := range map[string]string{
		"h-failing00001": "ServiceException", "h-conflict0001": "ConcurrentModificationException", "h-denied000001": "AccessDeniedException",
	} {
		if err := e.srv.FailNext(id, code, 1); err != nil {
			t.Fatal(err)
		}
	}
	c := e.testClient(t)

	cases := []struct {
		id     string
		status int
		is     func(error) bool
		name   string
	}{
		{"h-missing00001", 404, as[*types.HandshakeNotFoundException], "HandshakeNotFoundException"},
		{"h-canceled0001", 409, as[*types.HandshakeAlreadyInStateException], "HandshakeAlreadyInStateException"},
		{"h-accepted0001", 409, as[*types.InvalidHandshakeTransitionException], "InvalidHandshakeTransitionException"},
		{"h-declined0001", 409, as[*types.InvalidHandshakeTransitionException], "InvalidHandshakeTransitionException"},
		{"h-expired00001", 409, as[*types.InvalidHandshakeTransitionException], "InvalidHandshakeTransitionException"},
		{"h-canceling001", 409, as[*types.ConcurrentModificationException], "ConcurrentModificationException"},
		{"H-UPPERCASE001", 400, as[*types.InvalidInputException], "InvalidInputException"},
		{"h-short", 400, as[*types.InvalidInputException], "InvalidInputException"},
		{"h-throttled001", 429, as[*types.TooManyRequestsException], "TooManyRequestsException"},
		{"h-failing00001", 500, as[*types.ServiceException], "ServiceException"},
		{"h-conflict0001", 409, as[*types.ConcurrentModificationException], "ConcurrentModificationException"},
		{"h-denied000001", 403, as[*types.AccessDeniedException], "AccessDeniedException"},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			_, err := c.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: aws.String(tc.id)})
			if !tc.is(err) {
				t.Fatalf("error %v (%T), want %s", err, err, tc.name)
			}
			code, status, rid := apiCode(t, err)
			if code != tc.name || status != tc.status || rid == "" {
				t.Errorf("code %q status %d request ID %q; want %s %d and an ID", code, status, rid, tc.name, tc.status)
			}
		})
	}
	// The scripted failures were spent; the invitations are still open.
	for _, id := range []string{"h-throttled001", "h-failing00001", "h-conflict0001", "h-denied000001"} {
		if _, err := c.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: aws.String(id)}); err != nil {
			t.Errorf("%s after its script: %v", id, err)
		}
	}
	if got := e.srv.Stats().Throttled; got != 1 {
		t.Errorf("Throttled = %d, want 1", got)
	}
}

func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestOfficialClientSignsAndWrongSecretFails(t *testing.T) {
	e := newEnv(t, orgemu.Options{Credentials: map[string]orgemu.Credential{
		orgemu.TestAccessKeyID:        {SecretAccessKey: orgemu.TestSecretAccessKey},
		orgemu.TestSessionAccessKeyID: {SecretAccessKey: orgemu.TestSessionSecretAccessKey, SessionToken: orgemu.TestSessionToken},
		"ASIAEXPIREDKEY000001":        {SecretAccessKey: "expired-secret", SessionToken: "expired-token", Expires: time.Now().Add(-time.Minute)},
		"AKIALISTONLYKEY00001":        {SecretAccessKey: "list-only-secret", Operations: []string{"ListHandshakesForOrganization"}},
	}})
	mustSeed(t, e.srv, invite("h-signed000001", "111122223333", time.Hour, e.clock.Now()))
	cases := []struct {
		name                string
		key, secret, token  string
		operation           string
		wantCode            string
		wantStatus          int
		wantAnswer, wantKey bool
	}{
		{"long-term key", orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "", "describe", "", 200, true, true},
		{"session key and token", orgemu.TestSessionAccessKeyID, orgemu.TestSessionSecretAccessKey, orgemu.TestSessionToken, "describe", "", 200, true, true},
		{"wrong secret", orgemu.TestAccessKeyID, "not-the-secret", "", "describe", "InvalidSignatureException", 400, false, true},
		{"unknown key", "AKIAUNKNOWNKEY000001", orgemu.TestSecretAccessKey, "", "describe", "UnrecognizedClientException", 400, false, false},
		{"session key without token", orgemu.TestSessionAccessKeyID, orgemu.TestSessionSecretAccessKey, "", "describe", "UnrecognizedClientException", 400, false, true},
		{"wrong token", orgemu.TestSessionAccessKeyID, orgemu.TestSessionSecretAccessKey, "forged-token", "describe", "UnrecognizedClientException", 400, false, true},
		{"token on a long-term key", orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, orgemu.TestSessionToken, "describe", "UnrecognizedClientException", 400, false, true},
		{"expired token", "ASIAEXPIREDKEY000001", "expired-secret", "expired-token", "describe", "ExpiredTokenException", 400, false, true},
		{"operation the key may not call", "AKIALISTONLYKEY00001", "list-only-secret", "", "describe", "AccessDeniedException", 403, false, true},
		{"operation the key may call", "AKIALISTONLYKEY00001", "list-only-secret", "", "list", "", 200, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t, tc.key, tc.secret, tc.token)
			var err error
			if tc.operation == "list" {
				_, err = c.ListHandshakesForOrganization(context.Background(), &organizations.ListHandshakesForOrganizationInput{})
			} else {
				_, err = c.DescribeHandshake(context.Background(), &organizations.DescribeHandshakeInput{HandshakeId: aws.String("h-signed000001")})
			}
			if tc.wantAnswer {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("the call succeeded")
			}
			code, status, rid := apiCode(t, err)
			if code != tc.wantCode || status != tc.wantStatus || rid == "" {
				t.Errorf("got %s %d (request ID %q), want %s %d", code, status, rid, tc.wantCode, tc.wantStatus)
			}
			calls := e.srv.Calls()
			if last := calls[len(calls)-1]; last.Code != tc.wantCode || (last.AccessKeyID == tc.key) != true {
				t.Errorf("call log: %+v", last)
			}
		})
	}
}

func TestOfficialClientSeesTheRateLimit(t *testing.T) {
	e := newEnv(t, orgemu.Options{Faults: orgemu.Faults{RateLimit: 2, RateBurst: 3}})
	c := e.testClient(t)
	throttled := 0
	for range 8 {
		_, err := c.ListHandshakesForOrganization(context.Background(), &organizations.ListHandshakesForOrganizationInput{})
		var tm *types.TooManyRequestsException
		switch {
		case errors.As(err, &tm):
			throttled++
		case err != nil:
			t.Fatal(err)
		}
	}
	// 8 calls in far less than a second against a burst of 3 at 2/s.
	if throttled < 3 || e.srv.Stats().Throttled != throttled {
		t.Errorf("throttled %d (stats %d), want at least 3 of 8", throttled, e.srv.Stats().Throttled)
	}
}

func TestOfficialClientGetsNoAnswerWhenTheCancelIsDropped(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	mustSeed(t, e.srv, invite("h-dropped00001", "111122223333", time.Hour, e.clock.Now()))
	e.srv.DropAfterCancel("h-dropped00001")
	c := e.testClient(t)
	_, err := c.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: aws.String("h-dropped00001")})
	if err == nil || e.srv.State("h-dropped00001") != orgemu.StateCanceled {
		t.Fatalf("err %v, state %q: want a transport error and the cancel applied", err, e.srv.State("h-dropped00001"))
	}
	_, err = c.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: aws.String("h-dropped00001")})
	if !as[*types.HandshakeAlreadyInStateException](err) {
		t.Errorf("second cancel: %v, want HandshakeAlreadyInStateException", err)
	}
	if e.srv.Stats().Dropped != 1 {
		t.Errorf("Dropped = %d", e.srv.Stats().Dropped)
	}
}

// Through the standard endpoint override: AWS_ENDPOINT_URL_ORGANIZATIONS
// read by config.LoadDefaultConfig, with static keys from the environment.
func TestOfficialClientFindsTheEmulatorThroughTheEnvironment(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	mustSeed(t, e.srv, invite("h-environment1", "111122223333", time.Hour, e.clock.Now()))
	t.Setenv("AWS_ENDPOINT_URL_ORGANIZATIONS", e.ts.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", orgemu.TestAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", orgemu.TestSecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := loadDefault()
	if err != nil {
		t.Fatal(err)
	}
	out, err := organizations.NewFromConfig(cfg).DescribeHandshake(context.Background(),
		&organizations.DescribeHandshakeInput{HandshakeId: aws.String("h-environment1")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Handshake.State != types.HandshakeStateOpen {
		t.Errorf("state %q", out.Handshake.State)
	}
	if last := e.srv.Calls(); len(last) != 1 || last[0].Status != http.StatusOK {
		t.Errorf("calls %+v", last)
	}
}
