package alisecret_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/handshake-janitor/handshake-janitor/internal/alisecret"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

const (
	fakeAWSKeyID = testkit.FakeAWSKeyID
	testRegion   = testkit.AWSRegion
)

// awsConfig points the real SDK, loaded the way the function loads it
// (config.LoadDefaultConfig), at the Secrets Manager stand-in at endpoint
// (testkit.AWSEnv), with fake credentials and no shared config files.
func awsConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	for k, v := range testkit.AWSEnv(endpoint, t.TempDir()) {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return cfg
}

func TestLoadReadsCredentialsThroughTheRealSDK(t *testing.T) {
	const (
		keyID  = "LTAI5tExampleKeyId0001"
		secret = "ExampleAccessKeySecretValue0001"
		token  = "CAIS-example-security-token"
	)
	sm := testkit.NewSecretsManager(t, map[string]string{
		"handshake-janitor/alibaba-credentials": `{"AccessKeyId":"` + keyID + `","AccessKeySecret":"` + secret + `"}`,
		"sts":                                   `{"AccessKeyId":"` + keyID + `","AccessKeySecret":"` + secret + `","SecurityToken":"` + token + `","Note":"other keys are ignored"}`,
		"padded":                                "{\n  \"AccessKeyId\": \" " + keyID + "\\n\",\n  \"AccessKeySecret\": \"" + secret + "\"\n}\n",
	})
	cfg := awsConfig(t, sm.URL)

	tests := []struct {
		id   string
		want resourcemanager.Credentials
	}{
		{"handshake-janitor/alibaba-credentials", resourcemanager.Credentials{AccessKeyID: keyID, AccessKeySecret: secret}},
		{"sts", resourcemanager.Credentials{AccessKeyID: keyID, AccessKeySecret: secret, SecurityToken: token}},
		{"padded", resourcemanager.Credentials{AccessKeyID: keyID, AccessKeySecret: secret}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := alisecret.Load(ctx, cfg, tt.id)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Load = %+v, want %+v", got, tt.want)
			}
		})
	}

	calls := sm.Requests()
	if len(calls) != len(tests) {
		t.Fatalf("stand-in saw %d requests, want %d (one GetSecretValue per Load)", len(calls), len(tests))
	}
	for i, c := range calls {
		if c.Target != "secretsmanager.GetSecretValue" || c.SecretID != tests[i].id {
			t.Errorf("request %d = %s(%q), want secretsmanager.GetSecretValue(%q)", i, c.Target, c.SecretID, tests[i].id)
		}
		// SigV4 with the environment's credentials, for the right region
		// and service: the SDK really ran its signing chain.
		if !strings.Contains(c.Authorization, "Credential="+fakeAWSKeyID+"/") ||
			!strings.Contains(c.Authorization, "/"+testRegion+"/secretsmanager/aws4_request") {
			t.Errorf("request %d Authorization = %q, want SigV4 by %s for %s/secretsmanager", i, c.Authorization, fakeAWSKeyID, testRegion)
		}
	}
}

func TestLoadErrorsNameTheSecretAndNeverItsValue(t *testing.T) {
	// Values that must never appear in an error. Each malformed secret
	// below carries some of them.
	leaks := []string{"LTAI5tLeakCheckKey", "LeakCheckSecretValue", "98765", "literal true", "LeakCheckToken"}
	sm := testkit.NewSecretsManager(t, map[string]string{
		"truncated":       `{"AccessKeyId":"LTAI5tLeakCheckKey","AccessKeySecret":"LeakCheckSecretValue`,
		"bad-literal":     `{"AccessKeyId":"LTAI5tLeakCheckKey","AccessKeySecret":tru}`,
		"not-json":        `LTAI5tLeakCheckKey:LeakCheckSecretValue`,
		"array":           `["LTAI5tLeakCheckKey","LeakCheckSecretValue"]`,
		"string":          `"LTAI5tLeakCheckKey"`,
		"null":            `null`,
		"empty":           ``,
		"no-secret":       `{"AccessKeyId":"LTAI5tLeakCheckKey"}`,
		"no-key-id":       `{"AccessKeySecret":"LeakCheckSecretValue","SecurityToken":"LeakCheckToken"}`,
		"wrong-case":      `{"AccessKeyID":"LTAI5tLeakCheckKey","AccessKeySecret":"LeakCheckSecretValue"}`,
		"number-key":      `{"AccessKeyId":98765,"AccessKeySecret":"LeakCheckSecretValue"}`,
		"blank-secret":    `{"AccessKeyId":"LTAI5tLeakCheckKey","AccessKeySecret":"   "}`,
		"object-token":    `{"AccessKeyId":"LTAI5tLeakCheckKey","AccessKeySecret":"LeakCheckSecretValue","SecurityToken":{"v":"LeakCheckToken"}}`,
		"console-default": `{"LTAI5tLeakCheckKey":"LeakCheckSecretValue"}`,
	})
	cfg := awsConfig(t, sm.URL)

	tests := []struct {
		id       string
		is       error    // errors.Is target; nil: neither sentinel
		mentions []string // what the message must say
	}{
		{"does-not-exist", alisecret.ErrNotFound, []string{`"does-not-exist"`, "ResourceNotFoundException", "AccessKeyId", "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID"}},
		{"truncated", alisecret.ErrMalformed, []string{`"truncated"`, "not valid JSON", "byte"}},
		{"bad-literal", alisecret.ErrMalformed, []string{"not valid JSON", "syntax error at byte 58"}},
		{"not-json", alisecret.ErrMalformed, []string{"not valid JSON"}},
		{"array", alisecret.ErrMalformed, []string{"not a JSON object"}},
		{"string", alisecret.ErrMalformed, []string{"not a JSON object"}},
		{"null", alisecret.ErrMalformed, []string{"not a JSON object"}},
		{"empty", alisecret.ErrMalformed, []string{"not valid JSON"}},
		{"no-secret", alisecret.ErrMalformed, []string{`"no-secret"`, "no AccessKeySecret"}},
		{"no-key-id", alisecret.ErrMalformed, []string{"no AccessKeyId"}},
		{"wrong-case", alisecret.ErrMalformed, []string{"no AccessKeyId"}},
		{"number-key", alisecret.ErrMalformed, []string{"AccessKeyId is not a JSON string"}},
		{"blank-secret", alisecret.ErrMalformed, []string{"AccessKeySecret is empty"}},
		{"object-token", alisecret.ErrMalformed, []string{"SecurityToken is not a JSON string"}},
		{"console-default", alisecret.ErrMalformed, []string{"no AccessKeyId, no AccessKeySecret"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := alisecret.Load(ctx, cfg, tt.id)
			if err == nil {
				t.Fatalf("Load = %+v, nil error; want an error", got)
			}
			if got != (resourcemanager.Credentials{}) {
				t.Errorf("Load returned credentials %+v with its error; want none", got)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
			msg := err.Error()
			for _, m := range append(tt.mentions, `{"AccessKeyId": "...", "AccessKeySecret": "..."}`) {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
			for _, l := range leaks {
				if strings.Contains(msg, l) {
					t.Errorf("error %q leaks part of the secret's value (%q)", msg, l)
				}
			}
		})
	}
}

func TestLoadRefusesAnEmptySecretIDWithoutACall(t *testing.T) {
	sm := testkit.NewSecretsManager(t, nil)
	cfg := awsConfig(t, sm.URL)
	for _, id := range []string{"", "  "} {
		_, err := alisecret.Load(context.Background(), cfg, id)
		if err == nil || !strings.Contains(err.Error(), "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID") {
			t.Errorf("Load(%q) error = %v, want one naming ALIBABA_CLOUD_CREDENTIALS_SECRET_ID", id, err)
		}
	}
	if n := len(sm.Requests()); n != 0 {
		t.Errorf("stand-in saw %d requests, want 0", n)
	}
}

func TestLoadReportsAccessDeniedWithTheServiceMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"AccessDeniedException","Message":"User is not authorized to perform: secretsmanager:GetSecretValue"}`)
	}))
	defer srv.Close()
	cfg := awsConfig(t, srv.URL)
	_, err := alisecret.Load(context.Background(), cfg, "handshake-janitor/alibaba-credentials")
	if err == nil {
		t.Fatal("Load: nil error, want access denied")
	}
	if errors.Is(err, alisecret.ErrNotFound) || errors.Is(err, alisecret.ErrMalformed) {
		t.Errorf("error %q wraps a sentinel it should not", err)
	}
	for _, m := range []string{`"handshake-janitor/alibaba-credentials"`, "AccessDeniedException", "secretsmanager:GetSecretValue"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}
