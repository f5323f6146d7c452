package organizations_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// The production shape: one emulator stands for the service, and one
// Client, built once as a function instance builds it at cold start, is
// shared by every test that does not need a client of its own. Tests that
// share it use IDs of their own.
var (
	emu    *orgemu.Server
	emuURL string
	shared *organizations.Client
)

func TestMain(m *testing.M) {
	emu = orgemu.New(orgemu.Options{})
	ts := httptest.NewServer(emu)
	emuURL = ts.URL
	var err error
	shared, err = organizations.New(organizations.Options{Config: staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, ""), BaseEndpoint: emuURL})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	ts.Close()
	os.Exit(code)
}

// staticConfig is LoadConfig with static credentials and nothing read from
// the machine's environment or files.
func staticConfig(keyID, secret, token string) aws.Config {
	cfg, err := organizations.LoadConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, secret, token)),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		panic(err)
	}
	return cfg
}

// newEmu is an emulator of a test's own, with its own clock and client.
func newEmu(t *testing.T, opts orgemu.Options, copts organizations.Options) (*orgemu.Server, *organizations.Client) {
	t.Helper()
	srv := orgemu.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	if copts.Config.Credentials == nil {
		copts.Config = staticConfig(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")
	}
	if copts.QPS == 0 {
		copts.QPS = 1000
	}
	copts.BaseEndpoint = ts.URL
	c, err := organizations.New(copts)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func seed(t *testing.T, srv *orgemu.Server, hs ...orgemu.Handshake) {
	t.Helper()
	if err := srv.Seed(hs...); err != nil {
		t.Fatal(err)
	}
}

func invite(id, target string, age time.Duration) orgemu.Handshake {
	typ := orgemu.PartyAccount
	for _, c := range target {
		if c == '@' {
			typ = orgemu.PartyEmail
		}
	}
	return orgemu.Handshake{ID: id, Parties: []orgemu.Party{{ID: target, Type: typ}}, RequestedAt: time.Now().Add(-age)}
}

// callsTo counts the emulator's calls naming id.
func callsTo(srv *orgemu.Server, id string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.HandshakeID == id {
			n++
		}
	}
	return n
}
