package organizations_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// The SDK's retryer is off: each call is one request, whatever the answer,
// even from a configuration loaded with the SDK's retries on
// (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE) rather than with LoadConfig.
func TestEachCallIsOneAttempt(t *testing.T) {
	t.Setenv("AWS_MAX_ATTEMPTS", "5")
	t.Setenv("AWS_RETRY_MODE", "adaptive")
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "").Credentials),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{Config: cfg})
	seed(t, srv, invite("h-oneattempt01", "111122223333", time.Hour))
	for _, code := range orgemu.Scriptable {
		if err := srv.FailNext("h-oneattempt01", code, 1); err != nil {
			t.Fatal(err)
		}
		before := callsTo(srv, "h-oneattempt01")
		_, err := c.Cancel(context.Background(), "h-oneattempt01")
		if got := organizations.Classify(err); got.Code != code {
			t.Errorf("%s: classified %+v", code, got)
		}
		if n := callsTo(srv, "h-oneattempt01") - before; n != 1 {
			t.Errorf("%s: %d requests, want 1", code, n)
		}
	}
	srv.SetFaults(orgemu.Faults{ErrorRate: 1})
	before := srv.Stats().Requests
	if _, err := c.ListPage(context.Background(), ""); organizations.Classify(err).Code != "ServiceException" {
		t.Errorf("list: %v", err)
	}
	if n := srv.Stats().Requests - before; n != 1 {
		t.Errorf("list: %d requests, want 1", n)
	}
}

func TestAnAttemptEndsAtItsTimeout(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{Faults: orgemu.Faults{Latency: 2 * time.Second}}, organizations.Options{})
	seed(t, srv, invite("h-slowanswer01", "111122223333", time.Hour))
	start := time.Now()
	// The attempt's timeout is the API timeout of the Budget in the context.
	ctx := deadline.NewContext(context.Background(), deadline.New(time.Time{}, 100*time.Millisecond))
	_, err := c.Cancel(ctx, "h-slowanswer01")
	took := time.Since(start)
	got := organizations.Classify(err)
	if got.Verdict != organizations.VerdictRetryable || got.Code != organizations.CodeTimeout || errors.Is(err, organizations.ErrDeadline) {
		t.Errorf("%v: %+v, want a retryable Timeout", err, got)
	}
	if took > time.Second {
		t.Errorf("took %v with a 100ms timeout", took)
	}
}

func TestNoAttemptStartsWithoutTheTimeoutAndReserveLeft(t *testing.T) {
	seed(t, emu, invite("h-budget000001", "111122223333", time.Hour))
	cases := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"context deadline closer than timeout + reserve", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 5*time.Second) // the default API timeout 5s, reserve 1s
		}},
		{"budget in the context", func() (context.Context, context.CancelFunc) {
			ctx := deadline.NewContext(context.Background(), deadline.New(time.Now().Add(1500*time.Millisecond), time.Second))
			return ctx, func() {}
		}},
	}
	for _, tc := range cases {
		ctx, cancel := tc.ctx()
		before := emu.Stats().Requests
		_, err := shared.Cancel(ctx, "h-budget000001")
		cancel()
		got := organizations.Classify(err)
		if !errors.Is(err, organizations.ErrDeadline) || got.Code != organizations.CodeDeadlineExceeded || got.Verdict != organizations.VerdictRetryable {
			t.Errorf("%s: %v (%+v), want ErrDeadline", tc.name, err, got)
		}
		if emu.Stats().Requests != before {
			t.Errorf("%s: a request was sent", tc.name)
		}
	}
	if emu.State("h-budget000001") != orgemu.StateOpen {
		t.Error("cancelled without time to")
	}
	// With enough time, the same call goes through.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := shared.Cancel(ctx, "h-budget000001"); err != nil {
		t.Error(err)
	}
}

func TestACanceledContextIsNotRetryable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := shared.Cancel(ctx, "h-canceledctx1")
	if got := organizations.Classify(err); got.Code != organizations.CodeCanceled || got.Verdict != organizations.VerdictFailed {
		t.Errorf("%v: %+v", err, got)
	}
}

func TestNoAnswerIsANetworkError(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there any more
	c, err := organizations.New(organizations.Options{Config: staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, ""), BaseEndpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Cancel(context.Background(), "h-nolistener01")
	if got := organizations.Classify(err); got.Code != organizations.CodeNetworkError || got.Verdict != organizations.VerdictRetryable {
		t.Errorf("%v: %+v", err, got)
	}
}

func TestAnAnswerThatIsNotTheAPIs(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   organizations.Verdict
	}{
		{502, "<html>Bad Gateway</html>", organizations.VerdictRetryable},
		{503, "", organizations.VerdictRetryable},
		{429, `{"message":"slow down"}`, organizations.VerdictRetryable},
		{400, "<html>no</html>", organizations.VerdictFailed},
	}
	for _, tc := range cases {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		}))
		c, err := organizations.New(organizations.Options{Config: staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, ""), BaseEndpoint: ts.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Cancel(context.Background(), "h-proxyanswer1")
		if got := organizations.Classify(err); got.Verdict != tc.want {
			t.Errorf("%d %q: %v: %+v, want %s", tc.status, tc.body, err, got, tc.want)
		}
		ts.Close()
	}
}

// No secret in any error: a wrong secret never appears, and a server that
// echoes what it received (the session token travels in a header) cannot
// put the token into an error string or a classification.
func TestNoSecretInAnyError(t *testing.T) {
	const secret = "a-very-secret-access-key-0123456789"
	const token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN0123456789abcdef"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", orgemu.ContentType)
		w.Header().Set("x-amzn-RequestId", "rid-"+r.Header.Get("X-Amz-Security-Token"))
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{
			"__type":  "AccessDeniedException",
			"Message": "token " + r.Header.Get("X-Amz-Security-Token") + " auth " + r.Header.Get("Authorization") + " secret " + secret,
		})
	}))
	defer echo.Close()
	echoing, err := organizations.New(organizations.Options{Config: staticConfig("ASIAEXAMPLEKEY000001", secret, token), BaseEndpoint: echo.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, c := newEmu(t, orgemu.Options{}, organizations.Options{Config: staticConfig(orgemu.TestAccessKeyID, secret, "")})

	var errs []error
	_, err = echoing.Cancel(context.Background(), "h-echoserver01")
	errs = append(errs, err)
	_, err = echoing.ListPage(context.Background(), "")
	errs = append(errs, err)
	_, err = c.Cancel(context.Background(), "h-wrongsecret1")
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("a call succeeded")
		}
		cls := organizations.Classify(err)
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", cls), cls.Message, cls.RequestID} {
			if strings.Contains(text, secret) || strings.Contains(text, token) {
				t.Errorf("a secret leaked: %s", text)
			}
		}
	}
	if cls := organizations.Classify(errs[0]); cls.Code != "AccessDeniedException" || !strings.Contains(cls.Message, "[redacted]") {
		t.Errorf("echo server: %+v, want AccessDeniedException with the token redacted", cls)
	}
	if cls := organizations.Classify(errs[2]); cls.Code != "InvalidSignatureException" || cls.Verdict != organizations.VerdictFailed {
		t.Errorf("wrong secret: %+v, want a failed InvalidSignatureException", cls)
	}
}

// The standard endpoint override, AWS_ENDPOINT_URL_ORGANIZATIONS, and the
// standard credential chain (here the environment's keys) are what
// LoadConfig gives New.
func TestLoadConfigHonoursTheStandardOverride(t *testing.T) {
	srv := orgemu.New(orgemu.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	seed(t, srv, invite("h-environment1", "111122223333", time.Hour))
	t.Setenv("AWS_ENDPOINT_URL_ORGANIZATIONS", ts.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", orgemu.TestSessionAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", orgemu.TestSessionSecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", orgemu.TestSessionToken)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := organizations.LoadConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != organizations.DefaultRegion {
		t.Errorf("region %q, want the default %s", cfg.Region, organizations.DefaultRegion)
	}
	c, err := organizations.New(organizations.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cancel(context.Background(), "h-environment1"); err != nil {
		t.Fatal(err)
	}
	if calls := srv.Calls(); len(calls) != 1 || !calls[0].Session || calls[0].AccessKeyID != orgemu.TestSessionAccessKeyID {
		t.Errorf("calls %+v, want one signed with the session credentials", calls)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	cfg := staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")
	for _, o := range []organizations.Options{
		{Config: cfg, QPS: -1},
		{Config: cfg, MaxAttempts: -1},
		{Config: cfg, MaxPages: -1},
	} {
		if _, err := organizations.New(o); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// Actions lists exactly the operations the client calls: each is served by
// the emulator, and running every method calls nothing else.
func TestActionsAreWhatTheClientCalls(t *testing.T) {
	srv, c := newEmu(t, orgemu.Options{}, organizations.Options{})
	seed(t, srv, invite("h-actions00001", "111122223333", time.Hour))
	for _, err := range c.Invitations(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Describe(context.Background(), "h-actions00001"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cancel(context.Background(), "h-actions00001"); err != nil {
		t.Fatal(err)
	}
	var called []string
	for op := range srv.Stats().Calls {
		called = append(called, op)
	}
	slices.Sort(called)
	actions := slices.Sorted(slices.Values(organizations.Actions()))
	if !slices.Equal(called, actions) {
		t.Errorf("called %v, Actions() %v", called, actions)
	}
	for _, a := range actions {
		if !slices.Contains(orgemu.Operations(), a) {
			t.Errorf("Actions() names %s, which the emulator does not serve", a)
		}
	}
}
