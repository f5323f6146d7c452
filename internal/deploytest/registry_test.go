package deploytest

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// registryDir is the Serverless Devs registry application (the Function
// Compute application centre's one-click deploy), relative to the root.
var registryDir = filepath.Join("deploy", "aliyun", "registry")

// publishYaml is the registry application's publish.yaml (Serverless Devs
// package model, Edition 3.0.0, Type Project).
type publishYaml struct {
	Edition     string   `yaml:"Edition"`
	Type        string   `yaml:"Type"`
	Name        string   `yaml:"Name"`
	Version     string   `yaml:"Version"`
	Provider    []string `yaml:"Provider"`
	Description string   `yaml:"Description"`
	HomePage    string   `yaml:"HomePage"`
	Tags        []string `yaml:"Tags"`
	Category    string   `yaml:"Category"`
	Effective   string   `yaml:"Effective"`
	Service     map[string]struct {
		Runtime     string   `yaml:"Runtime"`
		Authorities []string `yaml:"Authorities"`
	} `yaml:"Service"`
	Parameters struct {
		Type                 string                       `yaml:"type"`
		AdditionalProperties bool                         `yaml:"additionalProperties"`
		Required             []string                     `yaml:"required"`
		Properties           map[string]registryParameter `yaml:"properties"`
	} `yaml:"Parameters"`
}

type registryParameter struct {
	Title       string `yaml:"title"`
	Type        string `yaml:"type"`
	Default     any    `yaml:"default"`
	Description string `yaml:"description"`
	Pattern     string `yaml:"pattern"`
	Enum        []any  `yaml:"enum"`
}

func readPublishYaml(t *testing.T) publishYaml {
	t.Helper()
	var p publishYaml
	dec := yaml.NewDecoder(bytes.NewReader(readRoot(t, filepath.Join(registryDir, "publish.yaml"))))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("publish.yaml: %v", err)
	}
	return p
}

// renderValues returns the values `s init` renders the template with when
// the deployer keeps every default: each parameter's default as text, and a
// plausible value for a required parameter with no default (the role, as
// s.yaml's test gives FC_ROLE_ARN), plus the access alias.
func renderValues(t *testing.T, p publishYaml) map[string]string {
	t.Helper()
	plausible := map[string]string{"roleArn": plausibleEnv["FC_ROLE_ARN"]}
	values := map[string]string{"access": "default"}
	for name, prop := range p.Parameters.Properties {
		v := fmt.Sprint(prop.Default)
		if prop.Default == nil {
			v = ""
		}
		if v == "" && slices.Contains(p.Parameters.Required, name) {
			var ok bool
			if v, ok = plausible[name]; !ok {
				t.Fatalf("publish.yaml parameter %s is required and has no default: give the test a plausible value", name)
			}
		}
		values[name] = v
	}
	return values
}

// How `s init` renders src/s.yaml, as far as this application uses it: the
// registry's template engine (art-template) replaces {{ name }} with the
// value of the parameter name, HTML-escaped. The test implements exactly
// that; any other template syntax ({{if}}, {{each}}, {{@raw}}, filters)
// fails it, so that a new construct gets a deliberate rendering here, and a
// value art-template would escape is refused rather than escaped.
var templateExpr = regexp.MustCompile(`\{\{(.*?)\}\}`)

func renderRegistryTemplate(tmpl string, values map[string]string) (string, []string, error) {
	var used []string
	var err error
	out := templateExpr.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-2])
		if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(name) {
			if err == nil {
				err = fmt.Errorf("%s: the test renders {{ name }} only; teach renderRegistryTemplate this syntax", m)
			}
			return m
		}
		v, ok := values[name]
		if !ok {
			if err == nil {
				err = fmt.Errorf("%s names no parameter of publish.yaml", m)
			}
			return m
		}
		if strings.ContainsAny(v, `<>&"'`) && err == nil {
			err = fmt.Errorf("%s = %q: art-template would HTML-escape it", m, v)
		}
		if !slices.Contains(used, name) {
			used = append(used, name)
		}
		return v
	})
	return out, used, err
}

func TestRegistryRendererSubstitutesNamesAndRefusesTheRest(t *testing.T) {
	values := map[string]string{"region": "cn-shanghai", "dryRun": "true", "q": "a'b"}
	got, used, err := renderRegistryTemplate("r: '{{ region }}'\nd: '{{dryRun}}'\nagain: {{region}}\n", values)
	if err != nil || got != "r: 'cn-shanghai'\nd: 'true'\nagain: cn-shanghai\n" || !slices.Equal(used, []string{"region", "dryRun"}) {
		t.Errorf("render = %q, %v, %v", got, used, err)
	}
	for _, bad := range []string{"{{if dryRun}}x{{/if}}", "{{ missing }}", "{{ region | upper }}", "{{ q }}"} {
		if _, _, err := renderRegistryTemplate(bad, values); err == nil {
			t.Errorf("render(%q) succeeded, want an error", bad)
		}
	}
}

// publish.yaml has the registry's required fields, says this release's
// version, and defines parameters that are all used, with safe defaults.
func TestRegistryPublishYamlDescribesThisRelease(t *testing.T) {
	p := readPublishYaml(t)
	if p.Edition != "3.0.0" || p.Type != "Project" || p.Name != "handshake-janitor" {
		t.Errorf("publish.yaml Edition %q, Type %q, Name %q; want 3.0.0, Project, handshake-janitor", p.Edition, p.Type, p.Name)
	}
	if want := releaseVersion(t); p.Version != want {
		t.Errorf("publish.yaml Version = %q, want CHANGELOG.md's release %q", p.Version, want)
	}
	if !slices.Contains(p.Provider, "阿里云") {
		t.Errorf("publish.yaml Provider = %v, want 阿里云 (Alibaba Cloud)", p.Provider)
	}
	if p.Description == "" || len(p.Tags) == 0 || p.Category == "" {
		t.Errorf("publish.yaml lacks a Description, Tags or Category")
	}
	if !strings.HasPrefix(p.HomePage, "https://github.com/handshake-janitor/handshake-janitor") {
		t.Errorf("publish.yaml HomePage = %q, want the repository", p.HomePage)
	}
	authorities := map[string]bool{}
	for svc, s := range p.Service {
		if len(s.Authorities) == 0 {
			t.Errorf("publish.yaml Service %s lists no Authorities", svc)
		}
		for _, a := range s.Authorities {
			if !regexp.MustCompile(`^Aliyun[A-Za-z]+Access$`).MatchString(a) {
				t.Errorf("publish.yaml Service %s authority %q is not a RAM system policy name", svc, a)
			}
			authorities[a] = true
		}
	}
	for _, a := range []string{"AliyunFCFullAccess", "AliyunEventBridgeFullAccess", "AliyunLogFullAccess"} {
		if !authorities[a] {
			t.Errorf("publish.yaml Service does not list %s, which the deploy needs", a)
		}
	}

	params := p.Parameters
	if params.Type != "object" || params.AdditionalProperties {
		t.Errorf("publish.yaml Parameters: type %q, additionalProperties %v; want object, false", params.Type, params.AdditionalProperties)
	}
	for _, r := range params.Required {
		if _, ok := params.Properties[r]; !ok {
			t.Errorf("publish.yaml requires %s, which is not a parameter", r)
		}
	}
	for name, prop := range params.Properties {
		if prop.Title == "" || prop.Description == "" {
			t.Errorf("parameter %s has no title or description", name)
		}
		if prop.Type != "string" && prop.Type != "boolean" {
			t.Errorf("parameter %s has type %q, want string or boolean", name, prop.Type)
		}
		if prop.Default == nil && !slices.Contains(params.Required, name) {
			t.Errorf("parameter %s has no default and is not required", name)
		}
	}
	values := renderValues(t, p)
	for name, prop := range params.Properties {
		if prop.Pattern != "" && !regexp.MustCompile(prop.Pattern).MatchString(values[name]) {
			t.Errorf("parameter %s: the value %q does not match its own pattern %s", name, values[name], prop.Pattern)
		}
		if len(prop.Enum) > 0 && !slices.Contains(prop.Enum, prop.Default) {
			t.Errorf("parameter %s: default %v is not one of its enum", name, prop.Default)
		}
	}
	// What the issue asks a deployer to see, with safe defaults.
	for name, want := range map[string]any{"region": "cn-hangzhou", "sweepSchedule": fcDefaultSchedule, "dryRun": true, "allowedTargets": ""} {
		prop, ok := params.Properties[name]
		if !ok {
			t.Errorf("publish.yaml has no parameter %s", name)
		} else if prop.Default != want {
			t.Errorf("parameter %s default = %#v, want %#v", name, prop.Default, want)
		}
	}

	_, used, err := renderRegistryTemplate(string(readRoot(t, filepath.Join(registryDir, "src", "s.yaml"))), values)
	if err != nil {
		t.Fatalf("src/s.yaml: %v", err)
	}
	if unused := setDiff(keys(params.Properties), used); len(unused) > 0 {
		t.Errorf("publish.yaml parameters %v are not used by src/s.yaml", unused)
	}
}

// registryResource renders src/s.yaml with values and returns its one fc3
// resource.
func registryResource(t *testing.T, values map[string]string) fcResource {
	t.Helper()
	rendered, _, err := renderRegistryTemplate(string(readRoot(t, filepath.Join(registryDir, "src", "s.yaml"))), values)
	if err != nil {
		t.Fatalf("src/s.yaml: %v", err)
	}
	for _, r := range fc3Resources(t, parseSYaml(t, []byte(rendered))) {
		return r
	}
	panic("unreachable: fc3Resources fails the test unless there is one")
}

// The application `s init` renders with the defaults is a valid fc3
// resource (the vendored schema, as for s.yaml), it deploys in dry run, and
// it is the repository's s.yaml function: the same props, but for the code,
// which is the prebuilt binary instead of a build on the deployer's machine.
func TestRegistryTemplateRendersTheSYamlFunctionInDryRun(t *testing.T) {
	p := readPublishYaml(t)
	values := renderValues(t, p)
	reg := registryResource(t, values)
	if err := fc3Schema(t).Validate(asJSON(t, reg.Props)); err != nil {
		t.Errorf("src/s.yaml rendered with the defaults does not match the fc3 schema:\n%v", err)
	}
	if got := lookup(reg.Props, "environmentVariables", "DRY_RUN"); got != "true" {
		t.Errorf("rendered DRY_RUN = %v, want \"true\": a one-click deploy is a dry run", got)
	}
	if len(reg.Actions) != 0 {
		t.Errorf("src/s.yaml has actions %v: the application centre has no Go toolchain; the binary is prebuilt", reg.Actions)
	}
	if reg.Props["code"] != "./code" || reg.Props["handler"] != "main" {
		t.Errorf("src/s.yaml code %v, handler %v; want ./code (make release puts main there) and main", reg.Props["code"], reg.Props["handler"])
	}

	var root fcResource
	for _, r := range fc3Resources(t, parseSYaml(t, readRoot(t, "s.yaml"))) {
		root = r
	}
	strip := func(props map[string]any) map[string]any {
		out := maps.Clone(props)
		delete(out, "code")
		env, _ := out["environmentVariables"].(map[string]any)
		env = maps.Clone(env)
		delete(env, "DRY_RUN")
		out["environmentVariables"] = env
		return out
	}
	if a, b := strip(reg.Props), strip(root.Props); !reflect.DeepEqual(a, b) {
		for _, k := range slices.Sorted(maps.Keys(b)) {
			if !reflect.DeepEqual(a[k], b[k]) {
				t.Errorf("src/s.yaml %s = %v\n         s.yaml %s = %v", k, a[k], k, b[k])
			}
		}
		for _, k := range setDiff(keys(a), keys(b)) {
			t.Errorf("src/s.yaml has %s, which s.yaml does not", k)
		}
	}

	// The parameters reach the function: other values render other props.
	values["dryRun"], values["sweepSchedule"], values["region"] = strconv.FormatBool(false), "0 0/10 * * * *", "cn-shanghai"
	other := registryResource(t, values)
	if got := lookup(other.Props, "environmentVariables", "DRY_RUN"); got != "false" {
		t.Errorf("dryRun off renders DRY_RUN %v, want \"false\"", got)
	}
	if timers := triggers(other.Props, "timer"); len(timers) != 1 || lookup(timers[0], "triggerConfig", "cronExpression") != "0 0/10 * * * *" {
		t.Errorf("sweepSchedule does not reach the timer: %v", timers)
	}
	if other.Props["region"] != "cn-shanghai" {
		t.Errorf("region renders %v, want cn-shanghai", other.Props["region"])
	}
}
