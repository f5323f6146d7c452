// Command bootstrap is handshake-janitor on AWS Lambda (provided.al2023).
// It builds its handler once per cold start (internal/startup: the
// configuration, the credentials, possibly from AWS Secrets Manager, and
// the summary line's CloudWatch embedded metrics) and hands every event to
// it. SQS batches answer with partial batch failures; schedules and direct
// calls answer with the Report.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/handshake-janitor/handshake-janitor/internal/startup"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

func main() {
	h, err := startup.New(context.Background(), startup.Options{Platform: logging.PlatformAWS})
	if err != nil {
		// One line, then exit: Lambda reports it as an init error.
		fmt.Fprintln(os.Stderr, "handshake-janitor:", err)
		os.Exit(1)
	}
	lambda.StartWithOptions(
		func(ctx context.Context, payload json.RawMessage) (any, error) {
			var inv handler.Invocation
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				inv.ID = lc.AwsRequestID
			}
			return h.AWS(ctx, inv, payload)
		},
		lambda.WithEnableSIGTERM(func() {
			// Lambda sends SIGTERM before it ends the sandbox. The logger
			// writes each line to stdout unbuffered, so saying so is all the
			// flushing there is to do; then exit rather than wait for the
			// SIGKILL that follows.
			h.Logger.Info().Str(logging.FieldPlatform, logging.PlatformAWS).Msg("SIGTERM received, shutting down")
			os.Exit(0)
		}),
	)
}
