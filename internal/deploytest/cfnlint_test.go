package deploytest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTemplatePassesCfnLint lints template.yaml with cfn-lint (which also
// runs the SAM transform), or skips when cfn-lint is not installed; it is on
// this project's machines (pip install cfn-lint).
//
// The same run lints a copy with a visibility timeout SQS refuses (over 12
// hours), which must fail: a lint that finds nothing proves nothing. One
// cfn-lint process does both, as its start-up is most of its time.
func TestTemplatePassesCfnLint(t *testing.T) {
	t.Parallel() // a subprocess of its own: let it overlap the rest
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH, so template.yaml is not linted here; install it with `pip install cfn-lint`")
	}
	good := filepath.Join(moduleRoot(t), "template.yaml")
	data := readRoot(t, "template.yaml")
	broken := bytes.Replace(data, []byte("VisibilityTimeout: "), []byte("VisibilityTimeout: 99999 #"), 1)
	if bytes.Equal(broken, data) {
		t.Fatal("template.yaml has no VisibilityTimeout to break for the control")
	}
	// cfn-lint also reads MetricsNamespace's AllowedPattern (with Python's
	// regular expressions) and must refuse an AWS/ default with it.
	awsNS := bytes.Replace(broken, []byte("Default: HandshakeJanitor"), []byte("Default: AWS/Lambda"), 1)
	if bytes.Equal(awsNS, broken) {
		t.Fatal("template.yaml has no MetricsNamespace default to break for the control")
	}
	broken = awsNS
	bad := filepath.Join(t.TempDir(), "broken-template.yaml")
	if err := os.WriteFile(bad, broken, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--format", "parseable", "--", good, bad)
	cmd.Dir = moduleRoot(t)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("cfn-lint did not finish: %v\n%s", ctx.Err(), out)
	}
	var goodFindings, badFindings []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(line, good+":"):
			goodFindings = append(goodFindings, line)
		case strings.HasPrefix(line, bad+":"):
			badFindings = append(badFindings, line)
		}
	}
	if len(goodFindings) > 0 {
		t.Errorf("cfn-lint template.yaml:\n%s", strings.Join(goodFindings, "\n"))
	}
	if err == nil || !strings.Contains(strings.Join(badFindings, "\n"), "99999") {
		t.Errorf("cfn-lint (exit %v) did not reject VisibilityTimeout 99999 in the control copy; its output:\n%s", err, out)
	}
	if !strings.Contains(strings.Join(badFindings, "\n"), "AllowedPattern") {
		t.Errorf("cfn-lint did not reject the MetricsNamespace default AWS/Lambda in the control copy; its output:\n%s", out)
	}
}
