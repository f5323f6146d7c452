package emulator

import "net/http"

// DropConnection closes the client's connection without an answer, as a
// network failure after the service acted would. Where there is no
// connection to close (HTTP/2) it aborts the stream instead, by panicking
// with http.ErrAbortHandler, which the client sees the same way: as no
// answer. Call it from a handler, as its last act.
func DropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
