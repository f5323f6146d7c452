package rmemu_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// BenchmarkSeed100k measures seeding the benchmark's 100,000 invitations.
func BenchmarkSeed100k(b *testing.B) {
	hs := rmemu.Generate(rmemu.GenerateOptions{Count: 100_000, Stale: 3, Fresh: 6, Final: 1, Seed: 1})
	for b.Loop() {
		srv := rmemu.New(rmemu.Options{})
		if err := srv.Seed(hs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeCancel measures a signed CancelHandshake over 100,000
// invitations in process (no network), test-side signing included: an upper
// bound of the emulator's own cost per call in a client benchmark.
func BenchmarkServeCancel(b *testing.B) {
	hs := rmemu.Generate(rmemu.GenerateOptions{Count: 100_000, Stale: 1, Seed: 1})
	srv := rmemu.New(rmemu.Options{MaxClockSkew: -1})
	if err := srv.Seed(hs...); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil) // only for its URL shape
	e := &env{srv: srv, http: ts}
	ts.URL = "http://127.0.0.1:1"
	var n atomic.Int64
	date := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			seq := n.Add(1)
			i := int(seq-1) % len(hs)
			req := e.build(b, call{Action: "CancelHandshake", Date: date, Nonce: fmt.Sprint("bench-", seq),
				Params: url.Values{"HandshakeId": {hs[i].HandshakeID}}})
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != http.StatusOK && w.Code != http.StatusConflict {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
