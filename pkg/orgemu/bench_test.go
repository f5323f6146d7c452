package orgemu_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// BenchmarkSeed100k measures seeding 100,000 generated handshakes.
func BenchmarkSeed100k(b *testing.B) {
	hs := orgemu.Generate(orgemu.GenerateOptions{Count: 100_000, Seed: 1})
	for b.Loop() {
		if err := orgemu.New(orgemu.Options{}).Seed(hs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeCancel measures a signed CancelHandshake over 100,000
// handshakes in process (no network), test-side signing and the
// emulator's signature check included: an upper bound of the emulator's
// own cost per call in a client benchmark.
func BenchmarkServeCancel(b *testing.B) {
	hs := orgemu.Generate(orgemu.GenerateOptions{Count: 100_000, Stale: 1, Seed: 1})
	srv := orgemu.New(orgemu.Options{})
	if err := srv.Seed(hs...); err != nil {
		b.Fatal(err)
	}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: orgemu.TestAccessKeyID, SecretAccessKey: orgemu.TestSecretAccessKey}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := `{"HandshakeId":"` + hs[int(n.Add(1)-1)%len(hs)].ID + `"}`
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
			req.Header.Set("Content-Type", orgemu.ContentType)
			req.Header.Set("X-Amz-Target", orgemu.TargetPrefix+"CancelHandshake")
			sum := sha256.Sum256([]byte(body))
			if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), orgemu.SigningService, orgemu.SigningRegion, time.Now()); err != nil {
				b.Fatal(err)
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != http.StatusOK && w.Code != http.StatusConflict {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// BenchmarkSDKCancel measures the official client cancelling over real
// HTTP on 127.0.0.1, as a janitor would: one client, calls in parallel.
func BenchmarkSDKCancel(b *testing.B) {
	hs := orgemu.Generate(orgemu.GenerateOptions{Count: 100_000, Stale: 1, Seed: 1})
	srv := orgemu.New(orgemu.Options{})
	if err := srv.Seed(hs...); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	e := &env{srv: srv, ts: ts}
	c := e.client(b, orgemu.TestAccessKeyID, orgemu.TestSecretAccessKey, "")
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := hs[int(n.Add(1)-1)%len(hs)].ID
			// Past the 100,000th call an ID comes round again, already
			// cancelled.
			_, err := c.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: aws.String(id)})
			if err != nil && !as[*types.HandshakeAlreadyInStateException](err) {
				b.Error(err)
				return
			}
		}
	})
}
