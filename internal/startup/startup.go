// Package startup builds, once per cold start, the handler that serves
// every invocation of a process: the configuration from the environment,
// the logger, the credentials, the handler, and what the platform adds to
// it. functions/aws, functions/fc and the janitor CLI (invoke, sweep,
// cancel) all build theirs with New, so `janitor invoke -platform aws` runs
// what the Lambda function runs.
package startup

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/alisecret"
	"github.com/handshake-janitor/handshake-janitor/internal/version"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// Options says where the handler runs.
type Options struct {
	// Platform is logging.PlatformAWS, logging.PlatformFC or
	// logging.PlatformCLI.
	Platform string
	// Getenv reads the environment; nil: os.Getenv.
	Getenv func(string) string
	// Logger returns the process's logger at the configured level; nil:
	// JSON lines on stdout, as the functions write them.
	Logger func(level zerolog.Level) zerolog.Logger
}

// New builds the handler of a process running on opts.Platform, in this
// order:
//
//   - the configuration: config.Load through opts.Getenv;
//   - the logger; on AWS and FC, the start-up "configuration" line
//     (the build's version and config.Config.Fields, no secret);
//   - the directory's client (newHandler): with DIRECTORY=aws-organizations
//     the AWS Organizations client on the AWS SDK's standard chains, which
//     Function Compute refuses; otherwise Resource Manager with
//     the credentials for calls whose invocation brings none: on AWS, when
//     ALIBABA_CLOUD_CREDENTIALS_SECRET_ID names a secret, the ones it holds
//     (AWS Secrets Manager, through the AWS SDK's default configuration);
//     otherwise the credentials-go default chain. (On FC an invocation's
//     own role credentials come first: handler.Handler.FC.)
//   - the handler (handler.New);
//   - on AWS, the summary line's CloudWatch embedded metrics
//     (Engine.DecorateSummary), under METRICS_NAMESPACE.
//
// A refused configuration is config.Load's error as it is: one
// *config.SettingError per bad setting (errors.As finds them).
func New(ctx context.Context, opts Options) (*handler.Handler, error) {
	cfg, err := config.Load(opts.Getenv)
	if err != nil {
		return nil, err
	}
	var logger zerolog.Logger
	if opts.Logger != nil {
		logger = opts.Logger(cfg.LogLevel)
	} else {
		logger = logging.New(os.Stdout, cfg.LogLevel)
	}
	if opts.Platform == logging.PlatformAWS || opts.Platform == logging.PlatformFC {
		logger.Info().Str(logging.FieldPlatform, opts.Platform).Str(logging.FieldVersion, version.String()).
			Fields(cfg.Fields()).Msg("configuration")
	}
	h, err := newHandler(ctx, opts.Platform, cfg, logger)
	if err != nil {
		return nil, err
	}
	if opts.Platform == logging.PlatformAWS {
		// The summary line is also the invocation's CloudWatch metrics (EMF).
		if h.Engine.DecorateSummary, err = summaryMetrics(cfg.MetricsNamespace, cfg.MetricsByTrigger, time.Now); err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvMetricsNamespace, err)
		}
	}
	return h, nil
}

// newHandler builds the handler on the client of the directory cfg names:
// Resource Manager with the credentials below, or AWS Organizations with
// the AWS SDK's standard chains (credentials, region,
// AWS_ENDPOINT_URL_ORGANIZATIONS), where no Alibaba Cloud secret is read.
// Function Compute serves Resource Directory only.
func newHandler(ctx context.Context, platform string, cfg config.Config, logger zerolog.Logger) (*handler.Handler, error) {
	switch k := cfg.Kind(); {
	case k == directory.ResourceDirectory:
		creds, err := credentials(ctx, platform, cfg)
		if err != nil {
			return nil, err
		}
		return handler.New(platform, cfg, logger, creds)
	case platform == logging.PlatformFC:
		return nil, &config.SettingError{Name: config.EnvDirectory, Value: strconv.Quote(k.Name),
			Want: "Function Compute serves " + directory.ResourceDirectory.Name + " only (" + directory.ResourceDirectory.Title + "): run " + k.Name + " on AWS Lambda or the CLI"}
	default:
		awsCfg, err := organizations.LoadConfig(ctx)
		if err != nil {
			return nil, err
		}
		client, err := organizations.New(organizations.Options{Config: awsCfg, QPS: cfg.APIQPS})
		if err != nil {
			return nil, err
		}
		return handler.NewWithDirectory(platform, cfg, logger, client)
	}
}

// credentials returns the provider for calls whose invocation brings no
// credentials of its own.
func credentials(ctx context.Context, platform string, cfg config.Config) (resourcemanager.CredentialsProvider, error) {
	if platform != logging.PlatformAWS || cfg.CredentialsSecretID == "" {
		return resourcemanager.DefaultCredentials()
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	// Read again after ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL, and when the
	// API rejects the key: a rotated secret reaches a warm instance.
	return alisecret.NewProvider(ctx, awsCfg, cfg.CredentialsSecretID, cfg.CredentialsSecretTTL)
}
