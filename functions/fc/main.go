// Command main is handshake-janitor on Alibaba Cloud Function Compute 3.0
// (go1 runtime). It builds its handler once per instance (internal/startup)
// and hands every event to it, with the invocation's own role credentials
// from fccontext: they rotate, so they are passed per invocation and never
// kept.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/handshake-janitor/handshake-janitor/internal/startup"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

func main() {
	h, err := startup.New(context.Background(), startup.Options{Platform: logging.PlatformFC})
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
