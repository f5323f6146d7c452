package resourcemanager

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
)

// The cost of one CancelHandshake call, this package against the official
// client, over loopback HTTP to a handler that answers at once. Allocations
// are counted process-wide, so the (same) server side is included in both.

func benchServer(b *testing.B) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, okBody)
	}))
	b.Cleanup(s.Close)
	return s
}

func BenchmarkCancelHandshake(b *testing.B) {
	s := benchServer(b)
	c, err := New(Options{Endpoint: s.URL, Credentials: StaticCredentials(testSTS), QPS: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CancelHandshake(ctx, testID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCancelHandshakeOfficialClient(b *testing.B) {
	s := benchServer(b)
	official, err := openapi.NewClient(&openapi.Config{
		Endpoint:   dara.String(strings.TrimPrefix(s.URL, "http://")),
		Protocol:   dara.String("http"),
		Credential: oracleCredential{testSTS},
	})
	if err != nil {
		b.Fatal(err)
	}
	params := &openapi.Params{
		Action: dara.String(actionCancel), Version: dara.String(apiVersion), Protocol: dara.String("HTTP"),
		Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
	}
	req := &openapi.OpenApiRequest{Query: map[string]*string{"HandshakeId": dara.String(string(testID))}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := official.CallApi(params, req, &dara.RuntimeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
