package orgemu

import (
	"context"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// DefaultAddr is where ListenAndServe listens when given no address: a
// free port on the loopback interface.
const DefaultAddr = emulator.DefaultAddr

// ListenAndServe serves srv on addr (host:port; "" is DefaultAddr) until ctx
// is done, then shuts down and returns nil. The host must be a loopback
// address or "localhost": the emulator accepts well-known credentials, so it
// is never exposed beyond this machine. Once listening, it calls ready (if
// not nil) with the endpoint to give clients, e.g. "http://127.0.0.1:8088".
func ListenAndServe(ctx context.Context, addr string, srv *Server, ready func(endpoint string)) error {
	return emulator.ListenAndServe(ctx, "orgemu", addr, srv, ready)
}
