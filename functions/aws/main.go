// Command bootstrap is handshake-janitor on AWS Lambda (provided.al2023).
// It builds the configuration, the logger and the API client once per cold
// start and hands every event to pkg/handler. SQS batches answer with
// partial batch failures; schedules and direct calls answer with the Report.
// Each invocation's summary line is also a CloudWatch embedded metric format
// document (metrics.go).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/handshake-janitor/handshake-janitor/functions/aws/internal/alisecret"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

func main() {
	h, err := coldStart(context.Background())
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
			resp, err := h.AWS(ctx, inv, payload)
			if sqs, ok := resp.(*handler.SQSResponse); ok {
				return toSQSEventResponse(sqs), err
			}
			return resp, err
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

// coldStart reads the configuration and, when ALIBABA_CLOUD_CREDENTIALS_SECRET_ID
// names a secret, the Alibaba Cloud credentials from AWS Secrets Manager
// (read again after ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL, and when the API
// rejects them); otherwise the credentials-go default chain supplies them.
func coldStart(ctx context.Context) (*handler.Handler, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, err
	}
	logger := logging.New(os.Stdout, cfg.LogLevel)
	logger.Info().Str(logging.FieldPlatform, logging.PlatformAWS).Fields(cfg.Fields()).Msg("configuration")
	var creds resourcemanager.CredentialsProvider
	if cfg.CredentialsSecretID != "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws configuration: %w", err)
		}
		if creds, err = alisecret.NewProvider(ctx, awsCfg, cfg.CredentialsSecretID, cfg.CredentialsSecretTTL); err != nil {
			return nil, err
		}
	} else {
		if creds, err = resourcemanager.DefaultCredentials(); err != nil {
			return nil, err
		}
	}
	h, err := handler.New(logging.PlatformAWS, cfg, logger, creds)
	if err != nil {
		return nil, err
	}
	// The summary line is also the invocation's CloudWatch metrics (EMF).
	if h.Engine.DecorateSummary, err = summaryMetrics(cfg.MetricsNamespace, time.Now); err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvMetricsNamespace, err)
	}
	return h, nil
}

func toSQSEventResponse(r *handler.SQSResponse) events.SQSEventResponse {
	out := events.SQSEventResponse{BatchItemFailures: make([]events.SQSBatchItemFailure, len(r.BatchItemFailures))}
	for i, f := range r.BatchItemFailures {
		out.BatchItemFailures[i] = events.SQSBatchItemFailure{ItemIdentifier: f.ItemIdentifier}
	}
	return out
}
