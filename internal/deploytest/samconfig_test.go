package deploytest

import (
	"bufio"
	"bytes"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// samEnv is one config environment of samconfig.toml.
type samEnv struct {
	Global struct {
		Parameters map[string]any
	}
	Deploy struct {
		Parameters struct {
			StackName          string `toml:"stack_name"`
			Capabilities       any    `toml:"capabilities"`
			ParameterOverrides any    `toml:"parameter_overrides"`
		}
	}
}

// overridePair is one Key=Value of parameter_overrides; a value with spaces
// is quoted.
var overridePair = regexp.MustCompile(`([A-Za-z0-9]+)=("[^"]*"|'[^']*'|\S+)`)

// overrides reads parameter_overrides, a string of Key=Value pairs or a
// list of them, as `sam deploy` does.
func overrides(t *testing.T, env string, v any) map[string]string {
	t.Helper()
	text := toString(v)
	if text == "" {
		t.Fatalf("samconfig.toml [%s] parameter_overrides = %v (%T), want Key=Value pairs", env, v, v)
	}
	out := map[string]string{}
	rest := overridePair.ReplaceAllStringFunc(text, func(p string) string {
		m := overridePair.FindStringSubmatch(p)
		out[m[1]] = strings.Trim(m[2], `"'`)
		return ""
	})
	if strings.TrimSpace(rest) != "" {
		t.Fatalf("samconfig.toml [%s] parameter_overrides: %q is not Key=Value", env, strings.TrimSpace(rest))
	}
	return out
}

// Going live is a config environment, not an override the next deploy
// forgets: `sam deploy` (the first deploy, and --guided's default) deploys a
// dry run, `sam deploy --config-env live` the same stack cancelling for
// real, and nothing else differs.
func TestSamconfigDefaultIsADryRunAndLiveGoesLiveDifferingOnlyInDryRun(t *testing.T) {
	data := string(readRoot(t, "samconfig.toml"))
	var envs map[string]toml.Primitive
	md, err := toml.Decode(data, &envs)
	if err != nil {
		t.Fatalf("samconfig.toml: %v", err)
	}
	var version float64
	if err := md.PrimitiveDecode(envs["version"], &version); err != nil || version != 0.1 {
		t.Errorf("samconfig.toml version = %v (%v), want 0.1", version, err)
	}
	st := parseTemplate(t)
	got := map[string]map[string]string{}
	for env, wantDryRun := range map[string]string{"default": "true", "live": "false"} {
		if _, ok := envs[env]; !ok {
			t.Errorf("samconfig.toml has no [%s] environment", env)
			continue
		}
		var e samEnv
		if err := md.PrimitiveDecode(envs[env], &e); err != nil {
			t.Fatalf("samconfig.toml [%s]: %v", env, err)
		}
		stack := e.Deploy.Parameters.StackName
		if s, ok := e.Global.Parameters["stack_name"].(string); ok && stack == "" {
			stack = s
		}
		if stack != "handshake-janitor" {
			t.Errorf("[%s] stack_name = %q, want handshake-janitor (both environments deploy the one stack)", env, stack)
		}
		// A string of space-separated capabilities, or a list.
		if caps := strings.Fields(toString(e.Deploy.Parameters.Capabilities)); !slices.Contains(caps, "CAPABILITY_IAM") {
			t.Errorf("[%s] capabilities = %v, want CAPABILITY_IAM (the template creates a role)", env, e.Deploy.Parameters.Capabilities)
		}
		o := overrides(t, env, e.Deploy.Parameters.ParameterOverrides)
		for k := range o {
			if _, ok := st.Parameters[k]; !ok {
				t.Errorf("[%s] overrides %s, which template.yaml has no parameter for", env, k)
			}
		}
		if o["DryRun"] != wantDryRun {
			t.Errorf("[%s] DryRun = %q, want %q set explicitly: otherwise the previous deploy's value stays", env, o["DryRun"], wantDryRun)
		}
		got[env] = o
	}
	if d, r := got["default"], got["live"]; d != nil && r != nil {
		dd, rr := maps.Clone(d), maps.Clone(r)
		delete(dd, "DryRun")
		delete(rr, "DryRun")
		if !maps.Equal(dd, rr) {
			t.Errorf("the environments differ in more than DryRun: default %v, live %v", d, r)
		}
	}
	if !strings.Contains(string(readRoot(t, "docs/deploy-aws.md")), "sam deploy --config-env live") {
		t.Error("docs/deploy-aws.md does not say how the stack goes live (sam deploy --config-env live)")
	}
	// The --guided instructions say which environment they write.
	doc := string(readRoot(t, "docs/deploy-safety.md"))
	for _, want := range []string{"`sam deploy --guided` writes its answers into `[default]`", "`sam deploy --guided --config-env live`"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/deploy-safety.md does not say %s", want)
		}
	}
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var s []string
		for _, x := range v {
			s = append(s, toString(x))
		}
		return strings.Join(s, " ")
	}
	return ""
}

// `sam build` writes .aws-sam/ at the root; it must never be committed.
func TestGitignoreIgnoresSamBuildOutput(t *testing.T) {
	sc := bufio.NewScanner(bytes.NewReader(readRoot(t, ".gitignore")))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line == ".aws-sam/" || line == "/.aws-sam/" || line == ".aws-sam" || line == "/.aws-sam" {
			return
		}
	}
	t.Error(".gitignore does not ignore .aws-sam/, which `sam build` writes")
}
