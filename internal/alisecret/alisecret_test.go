package alisecret_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/handshake-janitor/handshake-janitor/internal/alisecret"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// Fake AWS credentials: the stand-in checks the SDK signed with them.
const (
	fakeAWSKeyID  = "AKIDEXAMPLEJANITOR"
	fakeAWSSecret = "fake-aws-secret-key-for-tests"
	testRegion    = "eu-west-1"
)

// secretsManager is a local stand-in for the Secrets Manager endpoint: it
// answers GetSecretValue (awsJson1_1) from a map of secret ID to value and
// ResourceNotFoundException for anything else, as the service does.
type secretsManager struct {
	secrets map[string]string

	mu    sync.Mutex
	calls []request
}

type request struct {
	target, secretID, authorization string
}

func (s *secretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var in struct{ SecretId string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	s.calls = append(s.calls, request{r.Header.Get("X-Amz-Target"), in.SecretId, r.Header.Get("Authorization")})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "0f1e2d3c-test")
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"InvalidRequestException","Message":"stand-in answers GetSecretValue only"}`)
		return
	}
	v, ok := s.secrets[in.SecretId]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
		return
	}
	out, _ := json.Marshal(map[string]any{
		"ARN":          "arn:aws:secretsmanager:" + testRegion + ":123456789012:secret:" + in.SecretId + "-AbCdEf",
		"Name":         in.SecretId,
		"SecretString": v,
		"VersionId":    "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
		"CreatedDate":  1.7e9,
	})
	_, _ = w.Write(out)
}

func (s *secretsManager) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.calls...)
}

// awsConfig points the real SDK, loaded the way the function loads it
// (config.LoadDefaultConfig), at the stand-in through
// AWS_ENDPOINT_URL_SECRETS_MANAGER, with fake credentials and no shared
// config files.
func awsConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER":    endpoint,
		"AWS_ACCESS_KEY_ID":                   fakeAWSKeyID,
		"AWS_SECRET_ACCESS_KEY":               fakeAWSSecret,
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          testRegion,
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     none,
		"AWS_SHARED_CREDENTIALS_FILE":         none,
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_MAX_ATTEMPTS":                    "1",
	} {
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
	sm := &secretsManager{secrets: map[string]string{
		"handshake-janitor/alibaba-credentials": `{"AccessKeyId":"` + keyID + `","AccessKeySecret":"` + secret + `"}`,
		"sts":                                   `{"AccessKeyId":"` + keyID + `","AccessKeySecret":"` + secret + `","SecurityToken":"` + token + `","Note":"other keys are ignored"}`,
		"padded":                                "{\n  \"AccessKeyId\": \" " + keyID + "\\n\",\n  \"AccessKeySecret\": \"" + secret + "\"\n}\n",
	}}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	cfg := awsConfig(t, srv.URL)

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

	calls := sm.requests()
	if len(calls) != len(tests) {
		t.Fatalf("stand-in saw %d requests, want %d (one GetSecretValue per Load)", len(calls), len(tests))
	}
	for i, c := range calls {
		if c.target != "secretsmanager.GetSecretValue" || c.secretID != tests[i].id {
			t.Errorf("request %d = %s(%q), want secretsmanager.GetSecretValue(%q)", i, c.target, c.secretID, tests[i].id)
		}
		// SigV4 with the environment's credentials, for the right region
		// and service: the SDK really ran its signing chain.
		if !strings.Contains(c.authorization, "Credential="+fakeAWSKeyID+"/") ||
			!strings.Contains(c.authorization, "/"+testRegion+"/secretsmanager/aws4_request") {
			t.Errorf("request %d Authorization = %q, want SigV4 by %s for %s/secretsmanager", i, c.authorization, fakeAWSKeyID, testRegion)
		}
	}
}

func TestLoadErrorsNameTheSecretAndNeverItsValue(t *testing.T) {
	// Values that must never appear in an error. Each malformed secret
	// below carries some of them.
	leaks := []string{"LTAI5tLeakCheckKey", "LeakCheckSecretValue", "98765", "literal true", "LeakCheckToken"}
	sm := &secretsManager{secrets: map[string]string{
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
	}}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	cfg := awsConfig(t, srv.URL)

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
	sm := &secretsManager{}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	cfg := awsConfig(t, srv.URL)
	for _, id := range []string{"", "  "} {
		_, err := alisecret.Load(context.Background(), cfg, id)
		if err == nil || !strings.Contains(err.Error(), "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID") {
			t.Errorf("Load(%q) error = %v, want one naming ALIBABA_CLOUD_CREDENTIALS_SECRET_ID", id, err)
		}
	}
	if n := len(sm.requests()); n != 0 {
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
