package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

func TestEmulatorCommandServesAWSOrganizations(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulator", "-directory", "aws-organizations", "-addr", "127.0.0.1:0", "-quiet", "-generate", "45", "-stale-share", "1"}, pw, io.Discard, nil)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no endpoint line: %v", err)
	}
	endpoint := strings.TrimSpace(line)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q", endpoint)
	}
	cfg, err := organizations.LoadConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := organizations.New(organizations.Options{Config: cfg, BaseEndpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.Invitations(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 45 {
		t.Errorf("listed %d open invitations, want the 45 generated", n)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("emulator exit %d after interrupt, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop")
	}
}

func TestEmulatorCommandRefusesAnUnknownDirectory(t *testing.T) {
	var stderr strings.Builder
	code := run(context.Background(), []string{"emulator", "-directory", "azure"}, io.Discard, &stderr, nil)
	if code != 2 || !strings.Contains(stderr.String(), "resource-directory or aws-organizations") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
