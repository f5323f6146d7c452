package main_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/lambdarie"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// The Lambda binary under the RIE, reading its Alibaba Cloud credentials
// from the Secrets Manager stand-in through the real AWS SDK, while the
// secret and the keys the Resource Manager emulator accepts are rotated
// under a warm instance.

const secretID = "handshake-janitor/alibaba-credentials"

// Keys of the rotations: old, new, and a wrong secret for the new key.
var (
	oldKey   = rmemu.Credential{AccessKeySecret: "old-secret-of-the-rotation-test"}
	newKey   = rmemu.Credential{AccessKeySecret: "new-secret-of-the-rotation-test"}
	oldKeyID = "LTAI5tRotationOld0001"
	newKeyID = "LTAI5tRotationNew0002"
	// wrongSecret is never accepted: it must appear nowhere.
	wrongSecret = "wrong-secret-LEAKCHECK-0123456789"
)

func secretValue(id, secret string) string {
	b, _ := json.Marshal(map[string]string{"AccessKeyId": id, "AccessKeySecret": secret})
	return string(b)
}

// rotationFunction starts the function with its own emulator (accepting the
// old key) and Secrets Manager (holding it), reading the secret again after
// ttl.
func rotationFunction(t *testing.T, ttl string) (*lambdarie.Emulator, *rmemu.Server, *testkit.SecretsManager) {
	t.Helper()
	emu, hs := testkit.Emulator(t, rmemu.Options{Credentials: map[string]rmemu.Credential{oldKeyID: oldKey}})
	sm := testkit.NewSecretsManager(t, map[string]string{secretID: secretValue(oldKeyID, oldKey.AccessKeySecret)})
	env := []string{
		"RESOURCEMANAGER_ENDPOINT=" + hs.URL,
		"ALIBABA_CLOUD_CREDENTIALS_SECRET_ID=" + secretID,
		"ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL=" + ttl,
		"API_QPS=200",
		"METRICS_NAMESPACE=" + metricsNamespace,
	}
	for k, v := range testkit.AWSEnv(sm.URL, t.TempDir()) {
		env = append(env, k+"="+v)
	}
	f := lambdarie.StartT(t, bootstrap, lambdarie.Options{Env: env, Region: testkit.AWSRegion, Timeout: 20 * time.Second})
	return f, emu, sm
}

// cancelOne seeds a Pending invitation, asks the function to cancel it and
// returns the Report.
func cancelOne(t *testing.T, f *lambdarie.Emulator, emu *rmemu.Server, id string) janitor.Report {
	t.Helper()
	testkit.SeedFresh(t, emu, id)
	return report(t, invoke(t, f, testkit.RequestID("rotation"), []byte(fmt.Sprintf(`{"handshakeId":%q}`, id))))
}

// signedBy returns the keys that signed the emulator's CancelHandshake
// calls for id, with the answer's code ("" for success).
func signedBy(emu *rmemu.Server, id string) []string {
	var out []string
	for _, c := range emu.Calls() {
		if c.Action == "CancelHandshake" && c.HandshakeID == id {
			out = append(out, c.AccessKeyID+" "+c.Code)
		}
	}
	return out
}

func TestAWarmInstanceReadsARotatedSecretAfterItsTTL(t *testing.T) {
	f, emu, sm := rotationFunction(t, "1s")
	if r := cancelOne(t, f, emu, "h-RotTtl0000000001"); r.Summary[handshake.OutcomeCancelled] != 1 {
		t.Fatalf("cold start, old key: %+v", r.Results)
	}
	// A rotation done right: the new key works before the old one goes.
	emu.SetCredentials(map[string]rmemu.Credential{oldKeyID: oldKey, newKeyID: newKey})
	sm.Set(secretID, secretValue(newKeyID, newKey.AccessKeySecret))
	time.Sleep(1100 * time.Millisecond) // past the TTL
	if r := cancelOne(t, f, emu, "h-RotTtl0000000002"); r.Summary[handshake.OutcomeCancelled] != 1 {
		t.Fatalf("warm, after the TTL: %+v", r.Results)
	}
	if got := signedBy(emu, "h-RotTtl0000000002"); len(got) != 1 || got[0] != newKeyID+" " {
		t.Errorf("the warm instance signed with %q, want the new key at once (the old one still works)", got)
	}
	if n := len(sm.Requests()); n != 2 {
		t.Errorf("%d reads of the secret, want 2 (cold start, TTL)", n)
	}
	if !strings.Contains(strings.Join(f.FunctionLines(), "\n"), `"reason":"ttl","changed":true`) {
		t.Errorf("no log line says the secret was read again at the TTL and changed")
	}
}

func TestAWarmInstanceReadsARotatedSecretWhenTheOldKeyIsRejected(t *testing.T) {
	f, emu, sm := rotationFunction(t, "1h")
	if r := cancelOne(t, f, emu, "h-RotRej0000000001"); r.Summary[handshake.OutcomeCancelled] != 1 {
		t.Fatalf("cold start, old key: %+v", r.Results)
	}
	// The old key deleted, the secret holds the new one; the TTL is far.
	emu.SetCredentials(map[string]rmemu.Credential{newKeyID: newKey})
	sm.Set(secretID, secretValue(newKeyID, newKey.AccessKeySecret))
	time.Sleep(1100 * time.Millisecond) // the secret is read again on a rejection at most once a second
	r := cancelOne(t, f, emu, "h-RotRej0000000002")
	if r.Summary[handshake.OutcomeCancelled] != 1 || r.Results[0].Attempts != 2 {
		t.Fatalf("warm, old key rejected: %+v; want cancelled after 2 attempts", r.Results)
	}
	want := []string{oldKeyID + " InvalidAccessKeyId.NotFound", newKeyID + " "}
	if got := signedBy(emu, "h-RotRej0000000002"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls %q, want %q", got, want)
	}
	if n := len(sm.Requests()); n != 2 {
		t.Errorf("%d reads of the secret, want 2 (cold start, rejection)", n)
	}

	// Then a wrong secret: the new key, deleted; the secret, wrong. Each
	// call fails cleanly, and neither secret appears anywhere.
	emu.SetCredentials(map[string]rmemu.Credential{oldKeyID: oldKey})
	sm.Set(secretID, secretValue(newKeyID, wrongSecret))
	time.Sleep(1100 * time.Millisecond)
	id := "h-RotBad0000000001"
	testkit.SeedFresh(t, emu, id)
	status, body, err := f.Invoke(t.Context(), []byte(fmt.Sprintf(`{"handshakeId":%q}`, id)))
	if err != nil || status != 200 {
		t.Fatalf("invoke: %d %v", status, err)
	}
	fe, ok := lambdarie.ParseError(body)
	if !ok || fe.Type != "FailedError" || !strings.Contains(fe.Message, id) {
		t.Errorf("answer %s: want a FailedError naming %s", body, id)
	}
	if !strings.Contains(strings.Join(f.FunctionLines(), "\n"), `"error_code":"InvalidAccessKeyId.NotFound"`) {
		t.Errorf("no log line gives the error code InvalidAccessKeyId.NotFound")
	}
	testkit.WantStatus(t, emu, handshake.StatusPending, id)
	if got := signedBy(emu, id); len(got) != 2 {
		t.Errorf("calls %q: want 2 (the deleted key, then the wrong secret's), then the error", got)
	}
	out := string(body) + f.Output() + f.Log()
	for _, s := range []string{wrongSecret, newKey.AccessKeySecret, oldKey.AccessKeySecret, testkit.FakeAWSSecret} {
		if strings.Contains(out, s) {
			t.Errorf("the answer or the function's output holds a secret (%.12s...)", s)
		}
	}
}
