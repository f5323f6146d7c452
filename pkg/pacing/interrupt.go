package pacing

import (
	"context"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
)

// waitContext returns the context a call waits on, for its turn at the rate
// limiter or a backoff: ctx, ended also when the invocation that ctx's calls
// belong to is interrupted (deadline.WithInterrupt). An interrupted call
// that has no attempt in flight stops at once.
func waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	inv, ok := deadline.Interrupt(ctx)
	if !ok {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(inv, func() { cancel(context.Cause(inv)) })
	return wctx, func() { stop(); cancel(nil) }
}

// ended returns the context that stops ctx's call before its next attempt:
// ctx itself once it is done, or else its invocation's, once interrupted;
// nil while neither is.
func ended(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	if inv, ok := deadline.Interrupt(ctx); ok && inv.Err() != nil {
		return inv
	}
	return nil
}
