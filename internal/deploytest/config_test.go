package deploytest

import (
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// descriptorEnv returns the environment each descriptor gives its function
// in a default deploy: template.yaml's with every parameter at its Default,
// s.yaml's with its expressions expanded (see devsExpander).
func descriptorEnv(t *testing.T) map[string]map[string]string {
	t.Helper()
	st := parseTemplate(t)
	aws := map[string]string{}
	if fn := st.function(t); fn.Environment != nil {
		aws = fn.Environment.Variables
	}
	fc := map[string]string{}
	for name, r := range fc3Resources(t, parseSYaml(t, readRoot(t, "s.yaml"))) {
		env, ok := r.Props["environmentVariables"].(map[string]any)
		if !ok {
			t.Fatalf("s.yaml %s has no environmentVariables map", name)
		}
		for k, v := range env {
			s, ok := v.(string)
			if !ok {
				t.Errorf("s.yaml %s: environment variable %s = %v (%T), want a string", name, k, v, v)
			}
			fc[k] = s
		}
	}
	return map[string]map[string]string{logging.PlatformAWS: aws, logging.PlatformFC: fc}
}

// TestDescriptorsSetExactlyTheVariablesPkgConfigReads checks both ways, for
// each platform: every variable pkg/config reads there (other than the
// credentials, which the platform or a secret store provides) is set by the
// descriptor, and the descriptor sets nothing else. A deploy with the
// defaults gets the product's defaults (but deployDefaults: a first deploy is
// a dry run), and they load.
func TestDescriptorsSetExactlyTheVariablesPkgConfigReads(t *testing.T) {
	byName := map[string]config.Variable{}
	for _, v := range config.Variables {
		byName[v.Name] = v
	}
	file := map[string]string{logging.PlatformAWS: "template.yaml", logging.PlatformFC: "s.yaml"}
	for platform, env := range descriptorEnv(t) {
		var want []string
		for _, v := range config.Variables {
			if v.On(platform) && !v.Secret && !v.Chain {
				want = append(want, v.Name)
			}
		}
		got := keys(env)
		if missing := setDiff(want, got); len(missing) > 0 {
			t.Errorf("%s does not set %v, which pkg/config reads on %s", file[platform], missing, platform)
		}
		for _, name := range setDiff(got, want) {
			v, known := byName[name]
			switch {
			case !known:
				t.Errorf("%s sets %s, which pkg/config does not read", file[platform], name)
			case v.Secret || v.Chain:
				t.Errorf("%s sets %s: credentials never go in a descriptor (the platform or a secret store provides them)", file[platform], name)
			default:
				t.Errorf("%s sets %s, which pkg/config does not read on %s", file[platform], name, platform)
			}
		}
		for _, name := range got {
			v := byName[name]
			switch {
			case name == config.EnvDryRun && env[name] == "true":
				// A descriptor may make a first deploy a dry run (a
				// one-click deploy from SAR uses the defaults); never the
				// reverse.
			case env[name] == "" && v.Default == "" && !v.Optional:
				t.Errorf("%s sets %s to nothing and pkg/config has no default for it", file[platform], name)
			case deployDefaults[name] != "":
				if env[name] != deployDefaults[name] {
					t.Errorf("%s: %s defaults to %q, want %q for a deploy (deployDefaults)", file[platform], name, env[name], deployDefaults[name])
				}
			case v.Default != "" && env[name] != v.Default:
				t.Errorf("%s: %s defaults to %q, want pkg/config's default %q", file[platform], name, env[name], v.Default)
			}
		}
		if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
			t.Errorf("%s's default environment does not load:\n%v", file[platform], err)
		}
	}
}
