package reliability

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Known credentials: the test looks for the secret and the token (and
// pieces of them) in everything the function writes.
const (
	canaryKeyID  = "STS.CanaryAccessKeyId01"
	canarySecret = "CanarySecret-7f3a9c1e5b2d4f6a8c0e2a4c"
	canaryToken  = "CanarySTSToken-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
)

var canaryCredentials = resourcemanager.Credentials{AccessKeyID: canaryKeyID, AccessKeySecret: canarySecret, SecurityToken: canaryToken}

// leaks returns the forms of the secret and the token that must never be
// written: whole, in 12-byte pieces (a cut-off quote), and base64 encoded.
func leaks() []string {
	var out []string
	for _, s := range []string{canarySecret, canaryToken} {
		out = append(out, s, base64.StdEncoding.EncodeToString([]byte(s)))
		for i := 0; i+12 <= len(s); i += 6 {
			out = append(out, s[i:i+12])
		}
	}
	return out
}

// checkNoLeak fails if any form of the secret or token is in text.
func checkNoLeak(t *testing.T, what, text string) {
	t.Helper()
	for _, l := range leaks() {
		if i := strings.Index(text, l); i >= 0 {
			t.Errorf("%s holds a credential (%q) near: %q", what, l, text[max(0, i-80):min(len(text), i+len(l)+80)])
			return
		}
	}
}

// sampleEvents reads every event in events/.
func sampleEvents(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(moduleRoot(t), "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	out := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// sampleInvitations are the invitations events/README.md lists.
func sampleInvitations() []handshake.Handshake {
	now := time.Now()
	aged := func(id string, age time.Duration, s handshake.Status) handshake.Handshake {
		return handshake.Handshake{HandshakeID: id, Status: s, CreateTime: now.Add(-age), TargetEntity: "1000000000000001"}
	}
	return []handshake.Handshake{
		aged("h-Ab12Cd34Ef56Gh78", 12*24*time.Hour, handshake.StatusPending),
		aged("h-Zx98Yw76Vu54Ts32", 10*24*time.Hour, handshake.StatusPending),
		aged("h-Mn3oPq5rSt7uVw9x", 2*time.Hour, handshake.StatusPending),
		aged("h-Sw3epOnlyStale9X", 8*24*time.Hour, handshake.StatusPending),
		aged("h-Qr5tUv7wXy9zAb1c", 24*time.Hour, handshake.StatusAccepted),
		aged("h-Ex4pIr6eDd8aTe0z", 30*24*time.Hour, handshake.StatusPending),
		aged("h-Ca9cE1lEd3aLr5dY", 24*time.Hour, handshake.StatusCancelled),
	}
}

// echoSecrets is an API that answers every request with an error whose
// message repeats the request's headers, the security token among them,
// as a careless proxy might: first 503 (retried), then 403.
func echoSecrets() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for k, v := range r.Header {
			fmt.Fprintf(&b, "%s=%s; ", k, strings.Join(v, ","))
		}
		status, code := http.StatusServiceUnavailable, "ServiceUnavailable"
		if n.Add(1)%3 == 0 {
			status, code = http.StatusForbidden, "Forbidden.RAM"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"RequestId": "echo-" + r.Header.Get("x-acs-security-token"), "Code": code,
			"Message": "request headers: " + b.String(), "Recommend": "token " + r.Header.Get("x-acs-security-token"), "HostId": "resourcemanager.aliyuncs.com"})
	})
}

func TestNoSecretOrTokenInAnyLogLineErrorOrResponseForEverySampleEvent(t *testing.T) {
	t.Parallel()
	events := sampleEvents(t)
	scenarios := []struct {
		name    string
		server  func(t *testing.T) (*rmemu.Server, string)
		rejects bool // the API refuses the credentials
	}{
		{"accepted", func(t *testing.T) (*rmemu.Server, string) {
			emu, srv := emulator(t, rmemu.Options{Credentials: map[string]rmemu.Credential{
				canaryKeyID: {AccessKeySecret: canarySecret, SecurityToken: canaryToken}}}, sampleInvitations()...)
			return emu, srv.URL
		}, false},
		{"wrong secret: SignatureDoesNotMatch", func(t *testing.T) (*rmemu.Server, string) {
			emu, srv := emulator(t, rmemu.Options{Credentials: map[string]rmemu.Credential{
				canaryKeyID: {AccessKeySecret: "another-secret-entirely", SecurityToken: canaryToken}}}, sampleInvitations()...)
			return emu, srv.URL
		}, true},
		{"unknown token: InvalidSecurityToken", func(t *testing.T) (*rmemu.Server, string) {
			emu, srv := emulator(t, rmemu.Options{Credentials: map[string]rmemu.Credential{
				canaryKeyID: {AccessKeySecret: canarySecret, SecurityToken: "another-token"}}}, sampleInvitations()...)
			return emu, srv.URL
		}, true},
		{"API echoing the request headers", func(t *testing.T) (*rmemu.Server, string) {
			srv := httptest.NewServer(echoSecrets())
			t.Cleanup(srv.Close)
			return nil, srv.URL
		}, true},
	}
	for _, sc := range scenarios {
		for _, platform := range []string{logging.PlatformAWS, logging.PlatformFC} {
			t.Run(sc.name+"/"+platform, func(t *testing.T) {
				emu, endpoint := sc.server(t)
				// AWS: the credentials come from the provider (Secrets
				// Manager or the chain); FC: from each invocation.
				var provider resourcemanager.CredentialsProvider
				if platform == logging.PlatformAWS {
					provider = resourcemanager.StaticCredentials(canaryCredentials)
				}
				h, logs := newHandler(t, platform, endpoint, map[string]string{config.EnvMaxCancellations: "1000"}, provider)
				inv := handler.Invocation{ID: "canary"}
				if platform == logging.PlatformFC {
					c := canaryCredentials
					inv.Credentials = &c
				}
				failed, ownFailed := 0, 0
				for name, event := range events {
					var resp any
					var err error
					if platform == logging.PlatformFC {
						resp, err = h.FC(t.Context(), inv, event)
					} else {
						resp, err = h.AWS(t.Context(), inv, event)
					}
					if err != nil {
						failed++
						// The aws-organizations-* samples are for the other
						// directory (an invite event is refused here).
						if (strings.HasPrefix(name, platform+"-") || strings.HasPrefix(name, "direct")) && !strings.HasPrefix(name, "aws-organizations-") {
							ownFailed++
							if !sc.rejects {
								t.Errorf("%s failed with accepted credentials: %v", name, err)
							}
						}
						checkNoLeak(t, name+": error", err.Error())
						checkNoLeak(t, name+": error (%+v)", fmt.Sprintf("%+v %#v", err, err))
						var fe *handler.FailedError
						if errors.As(err, &fe) {
							b, _ := json.Marshal(fe.Results)
							checkNoLeak(t, name+": failed results", string(b))
						}
					}
					b, jerr := json.Marshal(resp)
					if jerr != nil {
						t.Errorf("%s: response does not marshal: %v", name, jerr)
					}
					checkNoLeak(t, name+": response", string(b))
					checkNoLeak(t, name+": response (%+v)", fmt.Sprintf("%+v", resp))
				}
				checkNoLeak(t, "log lines", string(logs.Bytes()))
				lines := logs.Lines(t)

				// The test must have exercised what it claims: the API was
				// called with the canary key, and refused it when it should.
				var codes []string
				for _, m := range lines {
					if c, _ := m[logging.FieldErrorCode].(string); c != "" {
						codes = append(codes, c)
					}
				}
				if sc.rejects && (ownFailed == 0 || len(codes) == 0) {
					t.Errorf("the API refused the credentials, yet no %s sample failed (error codes logged: %v)", platform, codes)
				}
				if emu != nil {
					sts := 0
					for _, c := range emu.Calls() {
						if c.AccessKeyID == canaryKeyID {
							sts++
						}
					}
					if sts == 0 {
						t.Errorf("no request was signed with the canary key")
					}
				}
			})
		}
	}
}

func TestPlainHTTPIsRefusedForEveryHostButLoopback(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		endpoint string
		ok       bool
	}{
		{"http://127.0.0.1:8088", true},
		{"http://127.8.9.10", true},
		{"http://localhost:8088", true},
		{"http://[::1]:8088", true},
		{"https://resourcemanager.aliyuncs.com", true},
		{"resourcemanager.aliyuncs.com", true},
		{"http://resourcemanager.aliyuncs.com", false},
		{"http://example.com:80", false},
		{"http://10.0.0.1:8088", false},
		{"http://192.168.1.1", false},
		{"http://169.254.169.254", false},
		{"http://0.0.0.0:8088", false},
		{"http://[::]:8088", false},
		{"http://[::ffff:8.8.8.8]", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://localhost.example.com", false},
		{"http://2130706433", false}, // 127.0.0.1 as a number: not a loopback literal
		{"http://0x7f.0.0.1", false},
		{"http://user:pass@127.0.0.1", false}, // no user info, even on loopback
		{"ftp://127.0.0.1", false},
		{"ws://127.0.0.1", false},
	} {
		_, cfgErr := config.Load(func(k string) string {
			if k == config.EnvEndpoint {
				return c.endpoint
			}
			return ""
		})
		_, clientErr := resourcemanager.New(resourcemanager.Options{Endpoint: c.endpoint, Credentials: testCredentials})
		cfg := config.Default()
		cfg.Endpoint = c.endpoint // as if config were bypassed
		_, handlerErr := handler.New(logging.PlatformAWS, cfg, logging.New(&testkit.LogBuffer{}, 0), testCredentials)
		if c.ok {
			if cfgErr != nil || clientErr != nil || handlerErr != nil {
				t.Errorf("%s refused: config %v; client %v; handler %v", c.endpoint, cfgErr, clientErr, handlerErr)
			}
			continue
		}
		if cfgErr == nil || clientErr == nil || handlerErr == nil {
			t.Errorf("%s accepted: config error %v; client error %v; handler error %v; want all three refused", c.endpoint, cfgErr, clientErr, handlerErr)
			continue
		}
		if !strings.HasPrefix(cfgErr.Error(), config.EnvEndpoint+"=") {
			t.Errorf("%s: config error %q does not name %s", c.endpoint, cfgErr, config.EnvEndpoint)
		}
		if !errors.Is(clientErr, resourcemanager.ErrEndpoint) {
			t.Errorf("%s: client error %v does not wrap ErrEndpoint", c.endpoint, clientErr)
		}
		for _, err := range []error{cfgErr, clientErr} {
			if strings.Contains(err.Error(), "pass") && strings.Contains(c.endpoint, "pass@") {
				t.Errorf("%s: error %q shows the password", c.endpoint, err)
			}
		}
	}
}

func TestTLSVerificationCannotBeTurnedOff(t *testing.T) {
	t.Parallel()
	emu := rmemu.New(rmemu.Options{})
	if err := emu.Seed(pending(goodA)); err != nil {
		t.Fatal(err)
	}
	// httptest's certificate is trusted by nobody but srv.Client().
	srv := httptest.NewUnstartedServer(emu)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)

	t.Run("an untrusted certificate fails the call, once, with TLSError", func(t *testing.T) {
		// A generous attempt timeout: on a loaded machine a handshake that
		// times out is retried (rightly), which is not what this proves.
		h, logs := newHandler(t, logging.PlatformAWS, srv.URL, map[string]string{config.EnvAPITimeout: "30s"}, testCredentials)
		_, err := h.AWS(t.Context(), handler.Invocation{ID: "tls"}, []byte(`{"handshakeId":"`+goodA+`"}`))
		var fe *handler.FailedError
		if !errors.As(err, &fe) || len(fe.Results) != 1 {
			t.Fatalf("error %v, want a *handler.FailedError for the one invitation", err)
		}
		r := fe.Results[0]
		if r.Outcome != handshake.OutcomeFailed || r.ErrorCode != "TLSError" || r.Attempts != 1 {
			t.Errorf("result %+v, want failed with TLSError after one attempt (retrying cannot fix a certificate)", r)
		}
		if n := len(emu.Calls()); n != 0 {
			t.Errorf("the emulator answered %d requests over an unverified connection", n)
		}
		if s := emu.Status(goodA); s != handshake.StatusPending {
			t.Errorf("%s is %s", goodA, s)
		}
		checkNoLeak(t, "log lines", string(logs.Bytes()))
	})

	t.Run("a client that skips verification is refused", func(t *testing.T) {
		insecure := srv.Client()
		insecure.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
		if _, err := resourcemanager.New(resourcemanager.Options{Endpoint: srv.URL, Credentials: testCredentials, HTTPClient: insecure}); err == nil {
			t.Error("resourcemanager.New accepted an HTTP client with InsecureSkipVerify")
		}
	})

	t.Run("the trusted certificate works", func(t *testing.T) {
		// The same server with its certificate trusted: the failure above
		// was the verification, nothing else.
		c := newClient(t, srv.URL, resourcemanager.Options{HTTPClient: trusting(srv)})
		if _, err := c.CancelHandshake(t.Context(), goodA); err != nil {
			t.Fatalf("CancelHandshake over verified TLS: %v", err)
		}
	})

	t.Run("no code in the module turns verification off", func(t *testing.T) {
		for _, f := range insecureTLS(t, moduleRoot(t)) {
			t.Errorf("%s: TLS verification weakened in production code", f)
		}
	})
}

// trusting returns an HTTP client that trusts srv's certificate (and only
// verifies, never skips).
func trusting(srv *httptest.Server) *http.Client {
	c := srv.Client()
	c.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = false
	return c
}

// insecureTLS scans the module's non-test Go files for code that weakens
// TLS: InsecureSkipVerify set to anything but false, a custom
// VerifyPeerCertificate or VerifyConnection, and //go:debug settings for
// tls or x509.
func insecureTLS(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.HasPrefix(c.Text, "//go:debug") && (strings.Contains(c.Text, "tls") || strings.Contains(c.Text, "x509")) {
					found = append(found, fset.Position(c.Pos()).String()+": "+c.Text)
				}
			}
		}
		weak := map[string]bool{"InsecureSkipVerify": true, "VerifyPeerCertificate": true, "VerifyConnection": true}
		isFalse := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "false" }
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && weak[k.Name] && !isFalse(n.Value) {
					found = append(found, fset.Position(n.Pos()).String()+": "+k.Name)
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && weak[sel.Sel.Name] && (i >= len(n.Rhs) || !isFalse(n.Rhs[i])) {
						found = append(found, fset.Position(n.Pos()).String()+": "+sel.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("scanning %s: %v", root, err)
	}
	return found
}
