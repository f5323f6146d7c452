package rmemu_test

// The official OpenAPI client (tests only) against the emulator: whatever it
// signs, V3 or the older HMAC-SHA1, with or without STS, the emulator must
// accept, and its errors must reach the client with the service's code.

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func officialClient(t *testing.T, e *env, ak, secret, token, algorithm string) *openapi.Client {
	t.Helper()
	u, err := url.Parse(e.http.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &openapi.Config{
		AccessKeyId:     dara.String(ak),
		AccessKeySecret: dara.String(secret),
		Endpoint:        dara.String(u.Host),
		Protocol:        dara.String("http"),
	}
	if token != "" {
		cfg.SecurityToken = dara.String(token)
	}
	c, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if algorithm != "" {
		c.SignatureAlgorithm = dara.String(algorithm)
	}
	return c
}

func officialCall(c *openapi.Client, action string, query map[string]string) (map[string]any, error) {
	params := &openapi.Params{
		Action:      dara.String(action),
		Version:     dara.String(rmemu.APIVersion),
		Protocol:    dara.String("HTTP"),
		Pathname:    dara.String("/"),
		Method:      dara.String("POST"),
		AuthType:    dara.String("AK"),
		Style:       dara.String("RPC"),
		ReqBodyType: dara.String("formData"),
		BodyType:    dara.String("json"),
	}
	q := make(map[string]*string, len(query))
	for k, v := range query {
		q[k] = dara.String(v)
	}
	runtime := &dara.RuntimeOptions{}
	return c.CallApi(params, &openapi.OpenApiRequest{Query: q}, runtime)
}

func TestOfficialClientIsAccepted(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	tests := []struct {
		name                   string
		ak, secret, token, alg string
	}{
		{"V3", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", ""},
		{"V3 STS", rmemu.TestSTSAccessKeyID, rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, ""},
		{"HMAC-SHA1", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", "v2"},
		{"HMAC-SHA1 STS", rmemu.TestSTSAccessKeyID, rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, "v2"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "h-Official" + string(rune('A'+i)) + "0000000"
			e.seed(t, pending(id, 9*24*time.Hour, e.clock.Now()))
			c := officialClient(t, e, tt.ak, tt.secret, tt.token, tt.alg)

			res, err := officialCall(c, "CancelHandshake", map[string]string{"HandshakeId": id})
			if err != nil {
				t.Fatalf("CancelHandshake: %v", err)
			}
			body, _ := res["body"].(map[string]any)
			hs, _ := body["Handshake"].(map[string]any)
			if hs["Status"] != "Cancelled" || hs["HandshakeId"] != id {
				t.Errorf("answer = %v", res)
			}
			if got := e.srv.Status(id); got != handshake.StatusCancelled {
				t.Errorf("status = %s", got)
			}

			_, err = officialCall(c, "CancelHandshake", map[string]string{"HandshakeId": id})
			var ce *tea.SDKError
			if !errors.As(err, &ce) || dara.StringValue(ce.Code) != "HandshakeStatusMismatch" || dara.IntValue(ce.StatusCode) != 409 {
				t.Errorf("second cancel: %v", err)
			}

			list, err := officialCall(c, "ListHandshakesForResourceDirectory", map[string]string{"PageSize": "100"})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			lb, _ := list["body"].(map[string]any)
			if fmt.Sprint(lb["TotalCount"]) != fmt.Sprint(i+1) {
				t.Errorf("List TotalCount = %v (%T), want %d", lb["TotalCount"], lb["TotalCount"], i+1)
			}
		})
	}
}

func TestOfficialClientWithAWrongSecretGetsSignatureDoesNotMatch(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	for _, alg := range []string{"", "v2"} {
		c := officialClient(t, e, rmemu.TestAccessKeyID, "wrong-secret", "", alg)
		_, err := officialCall(c, "ListHandshakesForResourceDirectory", nil)
		var ce *tea.SDKError
		if !errors.As(err, &ce) || dara.StringValue(ce.Code) != "SignatureDoesNotMatch" || dara.IntValue(ce.StatusCode) != 400 {
			t.Errorf("algorithm %q: %v", alg, err)
		}
	}
}
