package orgemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where ListenAndServe listens when given no address: a
// free port on the loopback interface.
const DefaultAddr = "127.0.0.1:0"

// ListenAndServe serves srv on addr (host:port; "" is DefaultAddr) until ctx
// is done, then shuts down and returns nil. The host must be a loopback
// address or "localhost": the emulator accepts well-known credentials, so it
// is never exposed beyond this machine. Once listening, it calls ready (if
// not nil) with the endpoint to give clients, e.g. "http://127.0.0.1:8088".
func ListenAndServe(ctx context.Context, addr string, srv *Server, ready func(endpoint string)) error {
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("orgemu: address %q: want host:port, e.g. 127.0.0.1:8088", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("orgemu: address %q: want a loopback host (127.0.0.1, ::1 or localhost); the emulator accepts well-known test credentials", addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("orgemu: listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Requests inherit ctx, so that added latency ends at shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	select {
	case err := <-done:
		return fmt.Errorf("orgemu: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("orgemu: shutdown: %w", err)
	}
	hs.Close()
	<-done
	return nil
}
