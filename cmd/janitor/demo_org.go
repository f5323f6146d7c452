package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// demoOrgPolicy is the target policy of the Organizations part: the
// company's domain and two of its accounts.
const demoOrgPolicy = "*@example.com,109876543210,210987654321"

// demoOrgSamples are the Organizations part's samples, in order.
var demoOrgSamples = []demoSample{
	{"aws-organizations-invite-event.json", "CloudTrail InviteAccountToOrganization through EventBridge: an invitation to an outsider, cancelled at once (reason target_not_allowed)"},
	{"aws-organizations-sqs.json", "SQS batch naming an open, an accepted, a missing and a Resource Directory ID (invalid here, never sent)"},
	{"aws-scheduled-event.json", "EventBridge schedule: a sweep (STALE_AFTER=7d) that leaves the ENABLE_ALL_FEATURES handshake and fresh invitations alone"},
}

// demoOrganizations runs the Organizations samples through the AWS handler
// with DIRECTORY=aws-organizations against an in-process orgemu, signing
// with its test credentials through the AWS SDK.
func demoOrganizations(ctx context.Context, dir string, logger zerolog.Logger, w io.Writer) error {
	emu := orgemu.New(orgemu.Options{})
	seed, err := os.Open(filepath.Join(dir, "emulator", "aws-organizations-seed.json"))
	if err != nil {
		return fmt.Errorf("demo: %w (run it from the repository's root, or give -events)", err)
	}
	err = emu.LoadSeed(seed)
	seed.Close()
	if err != nil {
		return err
	}
	endpoint, stop, err := serveEmulator(ctx, "orgemu", emu)
	if err != nil {
		return err
	}
	defer stop()

	awsCfg, err := organizations.LoadConfig(ctx, awsconfig.WithRegion(organizations.DefaultRegion),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")),
		awsconfig.WithSharedConfigFiles([]string{}), awsconfig.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		return err
	}
	client, err := organizations.New(organizations.Options{Config: awsCfg, BaseEndpoint: endpoint})
	if err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Directory, cfg.AllowedTargets = directory.AWSOrganizations.Name, demoOrgPolicy
	h, err := handler.NewWithDirectory(logging.PlatformAWS, cfg, logger, client)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n==== AWS Lambda handler, DIRECTORY=aws-organizations ALLOWED_TARGETS=%s, against the AWS Organizations emulator at %s seeded with %d handshakes (events/README.md) ====\n",
		demoOrgPolicy, endpoint, emu.Len())
	for i, s := range demoOrgSamples {
		payload, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n---- events/%s: %s\n", s.file, s.what)
		resp, err := h.AWS(ctx, handler.Invocation{ID: fmt.Sprintf("demo-organizations-%d", i+1)}, payload)
		if err != nil {
			fmt.Fprintf(w, "=> the invocation fails, so the platform retries it: %v\n", err)
			continue
		}
		out, _ := json.MarshalIndent(resp, "   ", "  ")
		fmt.Fprintf(w, "=> response:\n   %s\n", out)
	}
	fmt.Fprintln(w, "\nHandshakes in the emulator now:")
	for _, hs := range emu.Handshakes() {
		fmt.Fprintf(w, "  %s  %-20s  %s\n", hs.ID, hs.Action, hs.State)
	}
	return nil
}
