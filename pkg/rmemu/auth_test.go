package rmemu_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestCorrectSignaturesAreAccepted(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	tests := []struct {
		name           string
		auth, method   string
		ak, secret, tk string
		form           bool
	}{
		{"V3 POST", authV3, "POST", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", false},
		{"V3 GET", authV3, "GET", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", false},
		{"V3 STS", authV3, "POST", rmemu.TestSTSAccessKeyID, rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, false},
		{"V3 form body", authV3, "POST", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", true},
		{"HMAC-SHA1 POST", authRPC, "POST", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", false},
		{"HMAC-SHA1 GET", authRPC, "GET", rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret, "", false},
		{"HMAC-SHA1 STS", authRPC, "POST", rmemu.TestSTSAccessKeyID, rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, false},
	}
	// Values that take every encoding rule: space, *, ~, +, /, %, =, &,
	// non-ASCII.
	note := "Hi there * ~ + / 100% = & ünïcode 邀请"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, call{
				Auth: tt.auth, Method: tt.method, AK: tt.ak, Secret: tt.secret, Token: tt.tk, Form: tt.form,
				Action: "InviteAccountToResourceDirectory",
				Params: params("TargetEntity", "a.b+c@example.com", "TargetType", "Email", "Note", note),
			})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := decode[handshakeBody](t, body).Handshake; got.Note != note || got.TargetEntity != "a.b+c@example.com" {
				t.Errorf("parameters arrived as %q, %q", got.TargetEntity, got.Note)
			}
			calls := e.srv.Calls()
			last := calls[len(calls)-1]
			wantMethod := map[string]string{authV3: rmemu.MethodV3, authRPC: rmemu.MethodHMAC}[tt.auth]
			if last.AccessKeyID != tt.ak || last.Auth != wantMethod || last.STS != (tt.tk != "") || last.Status != 200 {
				t.Errorf("call log = %+v", last)
			}
		})
	}
}

func TestAuthenticationFailuresUseTheServiceCodes(t *testing.T) {
	other := map[string]rmemu.Credential{
		"LTAIotherKey0001":  {AccessKeySecret: "other-secret"},
		"STS.otherStsKey01": {AccessKeySecret: "other-sts-secret", SecurityToken: "CAISotherToken0001"},
		"STS.expiredKey001": {AccessKeySecret: "expired-secret", SecurityToken: "CAISexpiredToken01", Expiration: time.Now().Add(-time.Minute)},
	}
	creds := rmemu.TestCredentials()
	for k, v := range other {
		creds[k] = v
	}
	e := newEnv(t, rmemu.Options{Credentials: creds})
	e.seed(t, pending("h-0AuthTarget00001", time.Hour, e.clock.Now()))
	cancel := params("HandshakeId", "h-0AuthTarget00001")

	tests := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"V3 unknown key", call{AK: "LTAInoSuchKey", Secret: "x"}, 404, "InvalidAccessKeyId.NotFound"},
		{"HMAC-SHA1 unknown key", call{Auth: authRPC, AK: "LTAInoSuchKey", Secret: "x"}, 404, "InvalidAccessKeyId.NotFound"},
		{"V3 wrong secret", call{AK: rmemu.TestAccessKeyID, Secret: "wrong-secret"}, 400, "SignatureDoesNotMatch"},
		{"HMAC-SHA1 wrong secret", call{Auth: authRPC, AK: rmemu.TestAccessKeyID, Secret: "wrong-secret"}, 400, "SignatureDoesNotMatch"},
		{"V3 another key's secret", call{AK: rmemu.TestAccessKeyID, Secret: "other-secret"}, 400, "SignatureDoesNotMatch"},
		{"V3 STS key without token", call{AK: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret}, 400, "MissingSecurityToken"},
		{"HMAC-SHA1 STS key without token", call{Auth: authRPC, AK: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret}, 400, "MissingSecurityToken"},
		{"V3 token of another key", call{AK: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret, Token: "CAISotherToken0001"}, 400, "InvalidSecurityToken.MismatchWithAccessKey"},
		{"HMAC-SHA1 token of another key", call{Auth: authRPC, AK: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret, Token: "CAISotherToken0001"}, 400, "InvalidSecurityToken.MismatchWithAccessKey"},
		{"V3 token on a long-term key", call{AK: rmemu.TestAccessKeyID, Secret: rmemu.TestAccessKeySecret, Token: rmemu.TestSecurityToken}, 400, "InvalidSecurityToken.MismatchWithAccessKey"},
		{"V3 garbage token", call{AK: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret, Token: "not-a-token"}, 400, "InvalidSecurityToken.Malformed"},
		{"HMAC-SHA1 garbage token", call{Auth: authRPC, AK: rmemu.TestSTSAccessKeyID, Secret: rmemu.TestSTSAccessKeySecret, Token: "not-a-token"}, 400, "InvalidSecurityToken.Malformed"},
		{"V3 expired token", call{AK: "STS.expiredKey001", Secret: "expired-secret", Token: "CAISexpiredToken01"}, 400, "InvalidSecurityToken.Expired"},
		{"V3 old timestamp", call{Date: time.Now().Add(-20 * time.Minute)}, 400, "InvalidTimeStamp.Expired"},
		{"HMAC-SHA1 future timestamp", call{Auth: authRPC, Date: time.Now().Add(20 * time.Minute)}, 400, "InvalidTimeStamp.Expired"},
		{"V3 malformed date", call{Mutate: func(r *http.Request) { r.Header.Set("x-acs-date", "yesterday") }}, 400, "InvalidTimeStamp.Format"},
		{"no signature at all", call{Auth: authNone}, 400, "MissingAccessKeyId"},
		{"V3 other algorithm", call{Mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1))
		}}, 400, "IncompleteSignature"},
		{"V3 unsigned x-acs header", call{Mutate: func(r *http.Request) { r.Header.Set("x-acs-extra", "1") }}, 400, "IncompleteSignature"},
		{"V3 no nonce", call{Mutate: func(r *http.Request) { r.Header.Del("x-acs-signature-nonce") }}, 400, "MissingSignatureNonce"},
		{"V3 no content hash", call{Mutate: func(r *http.Request) { r.Header.Del("x-acs-content-sha256") }}, 400, "IncompleteSignature"},
		{"V3 changed parameter", call{Mutate: func(r *http.Request) { r.URL.RawQuery = "HandshakeId=h-0AuthTarget00002" }}, 400, "SignatureDoesNotMatch"},
		{"V3 changed action", call{Mutate: func(r *http.Request) { r.Header.Set("x-acs-action", "GetHandshake") }}, 400, "SignatureDoesNotMatch"},
		{"HMAC-SHA1 changed parameter", call{Auth: authRPC, Mutate: func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "h-0AuthTarget00001", "h-0AuthTarget00002", 1)
		}}, 400, "SignatureDoesNotMatch"},
		{"HMAC-SHA1 other method", call{Auth: authRPC, Mutate: func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "SignatureMethod=HMAC-SHA1", "SignatureMethod=HMAC-SHA256", 1)
		}}, 400, "InvalidSignatureMethod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Action = "CancelHandshake"
			c.Params = cancel
			resp, body := e.do(t, c)
			got := wantError(t, resp, body, tt.status, tt.code, "")
			for _, secret := range []string{rmemu.TestAccessKeySecret, rmemu.TestSTSAccessKeySecret, rmemu.TestSecurityToken, "wrong-secret", "other-secret", "CAISotherToken0001"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("answer carries a secret or token: %s", body)
				}
			}
			if tt.code == "SignatureDoesNotMatch" && tt.c.Mutate == nil && !strings.Contains(got.Message, "server string to sign is:") {
				t.Errorf("Message = %q, want the server's string to sign", got.Message)
			}
		})
	}
	if got := e.srv.Status("h-0AuthTarget00001"); got != handshake.StatusPending {
		t.Errorf("a refused request changed the invitation: %s", got)
	}
}

func TestSignatureDoesNotMatchNeverEchoesTheToken(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	resp, body := e.do(t, call{Auth: authRPC, AK: rmemu.TestSTSAccessKeyID, Secret: "wrong", Token: rmemu.TestSecurityToken,
		Action: "GetHandshake", Params: params("HandshakeId", "h-0AuthTarget00001")})
	got := wantError(t, resp, body, 400, "SignatureDoesNotMatch", "")
	if strings.Contains(string(body), rmemu.TestSecurityToken) || strings.Contains(string(body), "CAISrmemu") {
		t.Errorf("answer carries the token: %s", body)
	}
	if !strings.Contains(got.Message, "redacted") {
		t.Errorf("Message = %q, want the string to sign with the token redacted", got.Message)
	}
}

func TestReplayedNonceIsRefused(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	for _, auth := range []string{authV3, authRPC} {
		t.Run(auth, func(t *testing.T) {
			c := call{Auth: auth, Action: "ListHandshakesForResourceDirectory", Nonce: "replayed-" + auth}
			resp, body := e.do(t, c)
			if resp.StatusCode != 200 {
				t.Fatalf("first use: %d %s", resp.StatusCode, body)
			}
			resp, body = e.do(t, c)
			wantError(t, resp, body, 400, "SignatureNonceUsed", "Specified signature nonce was used already.")
		})
	}
	t.Run("a failed signature does not burn the nonce", func(t *testing.T) {
		c := call{Action: "ListHandshakesForResourceDirectory", Nonce: "kept", Secret: "wrong", AK: rmemu.TestAccessKeyID}
		resp, body := e.do(t, c)
		wantError(t, resp, body, 400, "SignatureDoesNotMatch", "")
		c.Secret = rmemu.TestAccessKeySecret
		if resp, body := e.do(t, c); resp.StatusCode != 200 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestAnEmptyCredentialMapAcceptsNoKey(t *testing.T) {
	e := newEnv(t, rmemu.Options{Credentials: map[string]rmemu.Credential{}})
	resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
	wantError(t, resp, body, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
}

func TestSetCredentialsRotatesTheAcceptedKeysWhileServing(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	list := call{Action: "ListHandshakesForResourceDirectory"}
	if resp, body := e.do(t, list); resp.StatusCode != 200 {
		t.Fatalf("before the rotation: %d %s", resp.StatusCode, body)
	}
	const newKey, newSecret = "LTAI5tRotatedKey00002", "rotated-secret-for-the-emulator"
	e.srv.SetCredentials(map[string]rmemu.Credential{
		newKey:                {AccessKeySecret: newSecret},
		rmemu.TestAccessKeyID: {AccessKeySecret: rmemu.TestAccessKeySecret, Disabled: true},
	})
	resp, body := e.do(t, list)
	wantError(t, resp, body, 400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
	rotated := list
	rotated.AK, rotated.Secret = newKey, newSecret
	if resp, body := e.do(t, rotated); resp.StatusCode != 200 {
		t.Fatalf("the new key: %d %s", resp.StatusCode, body)
	}
	e.srv.SetCredentials(map[string]rmemu.Credential{newKey: {AccessKeySecret: newSecret}})
	resp, body = e.do(t, list)
	wantError(t, resp, body, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
}
