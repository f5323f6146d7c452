package emulator

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

// ListenAndServe serves h on addr (host:port; "" is DefaultAddr) until ctx
// is done, then shuts down and returns nil. The host must be a loopback
// address or "localhost": an emulator accepts well-known credentials, so it
// is never exposed beyond this machine. Once listening, it calls ready (if
// not nil) with the endpoint to give clients, e.g. "http://127.0.0.1:8088".
// Every error it returns starts with name and a colon.
func ListenAndServe(ctx context.Context, name, addr string, h http.Handler, ready func(endpoint string)) error {
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: address %q: want host:port, e.g. 127.0.0.1:8088", name, addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: address %q: want a loopback host (127.0.0.1, ::1 or localhost); the emulator accepts well-known test credentials", name, addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	hs := &http.Server{
		Handler:           h,
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
		return fmt.Errorf("%s: serve: %w", name, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	hs.Close()
	<-done
	return nil
}
