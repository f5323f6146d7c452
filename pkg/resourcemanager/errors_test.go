package resourcemanager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
)

func TestParseAPIErrorJSONAndXML(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		header                  http.Header
		want                    APIError
	}{
		{
			name:        "json",
			contentType: "application/json;charset=utf-8",
			status:      409,
			body:        `{"RequestId":"R1","HostId":"resourcemanager.aliyuncs.com","Code":"HandshakeStatusMismatch","Message":"The invitation is invalid.","Recommend":"https://api.aliyun.com/troubleshoot?q=HandshakeStatusMismatch"}`,
			want:        APIError{StatusCode: 409, Code: "HandshakeStatusMismatch", Message: "The invitation is invalid.", RequestID: "R1", HostID: "resourcemanager.aliyuncs.com", Recommend: "https://api.aliyun.com/troubleshoot?q=HandshakeStatusMismatch", Action: actionCancel},
		},
		{
			name:        "xml",
			contentType: "text/xml;charset=utf-8",
			status:      404,
			body:        `<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>R2</RequestId><HostId>h</HostId><Code>EntityNotExists.Handshake</Code><Message>The specified handshake does not exist.</Message><Recommend>r</Recommend></Error>`,
			want:        APIError{StatusCode: 404, Code: "EntityNotExists.Handshake", Message: "The specified handshake does not exist.", RequestID: "R2", HostID: "h", Recommend: "r", Action: actionCancel},
		},
		{
			name:        "application/xml",
			contentType: "application/xml",
			status:      400,
			body:        `<Error><Code>Throttling.User</Code><RequestId>R3</RequestId></Error>`,
			want:        APIError{StatusCode: 400, Code: "Throttling.User", RequestID: "R3", Action: actionCancel},
		},
		{
			name:        "not the API's shape",
			contentType: "text/html",
			status:      502,
			body:        "<html>Bad Gateway</html>",
			header:      http.Header{"X-Acs-Request-Id": {"R4"}},
			want:        APIError{StatusCode: 502, Message: "<html>Bad Gateway</html>", RequestID: "R4", Action: actionCancel},
		},
		{
			name:   "empty body",
			status: 503,
			want:   APIError{StatusCode: 503, Action: actionCancel},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			got := parseAPIError(actionCancel, tt.status, tt.contentType, h, []byte(tt.body))
			if *got != tt.want {
				t.Fatalf("parseAPIError =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func apiErr(status int, code string) error {
	return fmt.Errorf("wrapped: %w", &APIError{StatusCode: status, Code: code, Action: actionCancel})
}

func TestClassifiers(t *testing.T) {
	tests := []struct {
		name                                              string
		err                                               error
		mismatch, notFound, invalid, retryable, throttled bool
		code                                              string
	}{
		{"nil", nil, false, false, false, false, false, ""},
		{"status mismatch", apiErr(409, "HandshakeStatusMismatch"), true, false, false, false, false, "HandshakeStatusMismatch"},
		{"not found", apiErr(404, "EntityNotExists.Handshake"), false, true, false, false, false, "EntityNotExists.Handshake"},
		{"missing ID", apiErr(400, "MissingParameter.HandshakeId"), false, false, true, false, false, "MissingParameter.HandshakeId"},
		{"invalid ID", apiErr(400, "InvalidParameter.HandshakeId"), false, false, true, false, false, "InvalidParameter.HandshakeId"},
		{"Throttling", apiErr(400, "Throttling"), false, false, false, true, true, "Throttling"},
		{"Throttling.User", apiErr(400, "Throttling.User"), false, false, false, true, true, "Throttling.User"},
		{"Throttling.Api", apiErr(400, "Throttling.Api"), false, false, false, true, true, "Throttling.Api"},
		{"429 without code", apiErr(429, ""), false, false, false, true, true, "HTTP429"},
		{"ServiceUnavailable", apiErr(503, "ServiceUnavailable"), false, false, false, true, false, "ServiceUnavailable"},
		{"InternalError", apiErr(500, "InternalError"), false, false, false, true, false, "InternalError"},
		{"any 5xx", apiErr(502, ""), false, false, false, true, false, "HTTP502"},
		{"other 4xx: signature", apiErr(400, "SignatureDoesNotMatch"), false, false, false, false, false, "SignatureDoesNotMatch"},
		{"other 4xx: forbidden", apiErr(403, "Forbidden.RAM"), false, false, false, false, false, "Forbidden.RAM"},
		{"network", &transportError{action: actionCancel, code: codeNetworkError, err: errors.New("connection reset")}, false, false, false, true, false, "NetworkError"},
		{"attempt timeout", &transportError{action: actionCancel, code: codeTimeout, err: context.DeadlineExceeded}, false, false, false, true, false, "Timeout"},
		{"certificate not trusted", &transportError{action: actionCancel, code: codeTLSError, err: errors.New("x509")}, false, false, false, false, false, "TLSError"},
		{"canceled during attempt", &transportError{action: actionCancel, code: codeCanceled, err: context.Canceled}, false, false, false, false, false, "Canceled"},
		{"deadline during attempt", &transportError{action: actionCancel, code: codeDeadlineExceeded, err: context.DeadlineExceeded}, false, false, false, true, false, "DeadlineExceeded"},
		{"no time for an attempt", deadlineError(actionCancel, nil), false, false, false, true, false, "DeadlineExceeded"},
		{"no time for a retry after a throttle", deadlineError(actionCancel, apiErr(400, "Throttling.User")), false, false, false, true, true, "DeadlineExceeded"},
		{"canceled between attempts", callError(actionCancel, &pacing.StopError{Err: context.Canceled}), false, false, false, false, false, "Canceled"},
		{"no credentials", fmt.Errorf("x: %w", ErrNoCredentials), false, false, false, false, false, "NoCredentials"},
		{"unreadable answer", &responseError{action: actionGet, err: errors.New("bad json")}, false, false, false, false, false, "InvalidResponse"},
		{"other", errors.New("boom"), false, false, false, false, false, "ClientError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsStatusMismatch(tt.err); got != tt.mismatch {
				t.Errorf("IsStatusMismatch = %v", got)
			}
			if got := IsNotFound(tt.err); got != tt.notFound {
				t.Errorf("IsNotFound = %v", got)
			}
			if got := IsInvalidID(tt.err); got != tt.invalid {
				t.Errorf("IsInvalidID = %v", got)
			}
			if got := IsRetryable(tt.err); got != tt.retryable {
				t.Errorf("IsRetryable = %v", got)
			}
			if got := classify(tt.err) == pacing.Throttled; got != tt.throttled {
				t.Errorf("classified as a throttle: %v", got)
			}
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	e := &APIError{StatusCode: 409, Code: "HandshakeStatusMismatch", Message: "The invitation is invalid.", RequestID: "R1", Action: actionCancel}
	want := "resourcemanager: CancelHandshake: 409 HandshakeStatusMismatch: The invitation is invalid. (RequestId R1)"
	if e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
	// A hostile message cannot forge log lines or flood them.
	e = &APIError{StatusCode: 500, Message: "line1\nline2" + strings.Repeat("x", 5000)}
	s := e.Error()
	if strings.Contains(s, "\n") || len(s) > 500 {
		t.Fatalf("Error() not bounded and single-line: %d bytes %q", len(s), s[:80])
	}
}

func TestAPIErrorScrubsCredentials(t *testing.T) {
	creds := Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "s3cr3t-value", SecurityToken: "CAIStoken-value"}
	body := `{"Code":"SignatureDoesNotMatch","Message":"secret s3cr3t-value token CAIStoken-value","Recommend":"s3cr3t-value","RequestId":"R"}`
	e := parseAPIError(actionCancel, 400, "application/json", http.Header{}, []byte(body))
	e.scrub(creds)
	for _, s := range []string{e.Error(), fmt.Sprintf("%+v", e), e.Recommend} {
		if strings.Contains(s, creds.AccessKeySecret) || strings.Contains(s, creds.SecurityToken) {
			t.Fatalf("credentials in %q", s)
		}
	}
	if !strings.Contains(e.Message, "[redacted]") {
		t.Fatalf("message %q not scrubbed", e.Message)
	}
}
