package orgemu_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator/emulatortest"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// fakeClock is a service clock a test moves by hand.
type fakeClock = emulatortest.Clock

func newClock() *fakeClock {
	return emulatortest.NewClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
}

// env is an emulator served over real HTTP on 127.0.0.1, with a service
// clock the test moves.
type env struct {
	srv   *orgemu.Server
	ts    *httptest.Server
	clock *fakeClock
}

func newEnv(t *testing.T, opts orgemu.Options) *env {
	t.Helper()
	e := &env{clock: newClock()}
	if opts.Clock == nil {
		opts.Clock = e.clock.Now
	}
	e.srv = orgemu.New(opts)
	e.ts = httptest.NewServer(e.srv)
	t.Cleanup(e.ts.Close)
	return e
}

// client is the official SDK client, configured as an application would
// (config.LoadDefaultConfig), with static credentials, pointed at the
// emulator, and with the SDK's retries off so that each call is one
// request.
func (e *env) client(t testing.TB, keyID, secret, token string) *organizations.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, secret, token)),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	)
	if err != nil {
		t.Fatal(err)
	}
	return organizations.NewFromConfig(cfg, func(o *organizations.Options) {
		o.BaseEndpoint = aws.String(e.ts.URL)
	})
}

func (e *env) testClient(t *testing.T) *organizations.Client {
	return e.client(t, orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")
}

// apiCode returns the exception name, HTTP status and request ID of an SDK
// error.
func apiCode(t *testing.T, err error) (code string, status int, requestID string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status, requestID = re.HTTPStatusCode(), re.ServiceRequestID()
	}
	return ae.ErrorCode(), status, requestID
}

func mustSeed(t *testing.T, srv *orgemu.Server, hs ...orgemu.Handshake) {
	t.Helper()
	if err := srv.Seed(hs...); err != nil {
		t.Fatal(err)
	}
}

func invite(id, target string, age time.Duration, now time.Time) orgemu.Handshake {
	typ := orgemu.PartyAccount
	for _, c := range target {
		if c == '@' {
			typ = orgemu.PartyEmail
		}
	}
	return orgemu.Handshake{ID: id, Parties: []orgemu.Party{{ID: target, Type: typ}}, RequestedAt: now.Add(-age)}
}

// loadDefault is config.LoadDefaultConfig as an application calls it.
func loadDefault() (aws.Config, error) {
	return config.LoadDefaultConfig(context.Background())
}
