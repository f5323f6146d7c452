// Command main is handshake-janitor on Alibaba Cloud Function Compute 3.0
// (go1 runtime). It builds the configuration, the logger and the API client
// once per instance and hands every event to pkg/handler, with the
// invocation's own role credentials from fccontext: they rotate, so they are
// passed per invocation and never kept.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/handshake-janitor/handshake-janitor/internal/version"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

func main() {
	h, err := coldStart()
	if err != nil {
		fmt.Fprintln(os.Stderr, "handshake-janitor:", err)
		os.Exit(1)
	}
	fc.Start(func(ctx context.Context, payload []byte) (any, error) {
		var inv handler.Invocation
		if fctx, ok := fccontext.FromContext(ctx); ok {
			inv.ID = fctx.RequestID
			if c := fctx.Credentials; c.AccessKeyId != "" {
				inv.Credentials = &resourcemanager.Credentials{
					AccessKeyID:     c.AccessKeyId,
					AccessKeySecret: c.AccessKeySecret,
					SecurityToken:   c.SecurityToken,
				}
			}
		}
		return h.FC(ctx, inv, payload)
	})
}

func coldStart() (*handler.Handler, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, err
	}
	// The invocation's role credentials come first; the default chain is
	// there for a function without a role (environment variables).
	creds, err := resourcemanager.DefaultCredentials()
	if err != nil {
		return nil, err
	}
	logger := logging.New(os.Stdout, cfg.LogLevel)
	logger.Info().Str(logging.FieldPlatform, logging.PlatformFC).Str(logging.FieldVersion, version.String()).
		Fields(cfg.Fields()).Msg("configuration")
	return handler.New(logging.PlatformFC, cfg, logger, creds)
}
