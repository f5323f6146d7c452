package orgemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// A test of Organizations automation serves the emulator on 127.0.0.1,
// seeds it, and points the official SDK client at it with the emulator's
// test credentials (in an application: AWS_ENDPOINT_URL_ORGANIZATIONS and
// the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). The emulator answers
// as the service does: the first cancel succeeds, the second is refused
// with HandshakeAlreadyInStateException.
func Example() {
	srv := orgemu.New(orgemu.Options{})
	if err := srv.LoadSeed(strings.NewReader(`[{"Id":"h-exampleinvite01","Target":"123456789012","Age":"9d"}]`)); err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")),
	)
	if err != nil {
		panic(err)
	}
	client := organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	cancel := func(id string) error {
		_, err := client.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: aws.String(id)})
		return err
	}

	fmt.Println("first cancel:", cancel("h-exampleinvite01"), srv.State("h-exampleinvite01"))
	var already *types.HandshakeAlreadyInStateException
	if errors.As(cancel("h-exampleinvite01"), &already) {
		fmt.Println("second cancel:", already.ErrorCode())
	}
	fmt.Println("calls:", srv.Stats().Calls["CancelHandshake"])
	// Output:
	// first cancel: <nil> CANCELED
	// second cancel: HandshakeAlreadyInStateException
	// calls: 2
}
