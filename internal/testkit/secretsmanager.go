package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
)

// Fake AWS credentials and region for the Secrets Manager stand-in: it
// records the SigV4 Authorization header, so a test can check that the SDK
// signed with them.
const (
	FakeAWSKeyID  = "AKIDEXAMPLEJANITOR"
	FakeAWSSecret = "fake-aws-secret-key-for-tests"
	AWSRegion     = "eu-west-1"
)

// SecretsManager is a local stand-in for the AWS Secrets Manager endpoint:
// it answers GetSecretValue (awsJson1_1) from its secrets, and
// ResourceNotFoundException for any other secret ID, as the service does.
// Set changes a secret while serving (a rotation).
type SecretsManager struct {
	URL string // where it serves, http://127.0.0.1:port

	mu      sync.Mutex
	secrets map[string]string
	calls   []SecretsRequest
}

// SecretsRequest is one request the stand-in received.
type SecretsRequest struct {
	Target, SecretID, Authorization string
}

// NewSecretsManager serves a SecretsManager holding secrets (secret ID to
// value, copied) on 127.0.0.1 until the test ends.
func NewSecretsManager(t testing.TB, secrets map[string]string) *SecretsManager {
	t.Helper()
	s := &SecretsManager{secrets: make(map[string]string, len(secrets))}
	for k, v := range secrets {
		s.secrets[k] = v
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Set makes id hold value from the next request on.
func (s *SecretsManager) Set(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = value
}

// Requests returns the requests received so far, in order.
func (s *SecretsManager) Requests() []SecretsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SecretsRequest(nil), s.calls...)
}

func (s *SecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var in struct{ SecretId string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	s.calls = append(s.calls, SecretsRequest{r.Header.Get("X-Amz-Target"), in.SecretId, r.Header.Get("Authorization")})
	v, ok := s.secrets[in.SecretId]
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "0f1e2d3c-test")
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"InvalidRequestException","Message":"stand-in answers GetSecretValue only"}`)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
		return
	}
	out, _ := json.Marshal(map[string]any{
		"ARN":          "arn:aws:secretsmanager:" + AWSRegion + ":123456789012:secret:" + in.SecretId + "-AbCdEf",
		"Name":         in.SecretId,
		"SecretString": v,
		"VersionId":    "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
		"CreatedDate":  1.7e9,
	})
	_, _ = w.Write(out)
}

// AWSEnv is the environment that points the AWS SDK's default
// configuration (config.LoadDefaultConfig) at the stand-in at endpoint, with
// the fake credentials, and keeps it from reading anything of the machine
// (shared config files, instance metadata). dir is a directory of the test.
func AWSEnv(endpoint, dir string) map[string]string {
	none := filepath.Join(dir, "none")
	return map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER":    endpoint,
		"AWS_ACCESS_KEY_ID":                   FakeAWSKeyID,
		"AWS_SECRET_ACCESS_KEY":               FakeAWSSecret,
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          AWSRegion,
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     none,
		"AWS_SHARED_CREDENTIALS_FILE":         none,
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_MAX_ATTEMPTS":                    "1",
	}
}
