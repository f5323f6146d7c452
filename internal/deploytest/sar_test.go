package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// sarKey is the template metadata key the Serverless Application Repository
// (SAR) publishes from.
const sarKey = "AWS::ServerlessRepo::Application"

// releaseHeading is a released version's heading in CHANGELOG.md: "## [x.y.z]
// - YYYY-MM-DD". The Makefile's RELEASE reads the same heading.
var releaseHeading = regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$`)

// releaseVersion returns the release version of this tree, defined by the
// first released heading of CHANGELOG.md.
func releaseVersion(t *testing.T) string {
	t.Helper()
	m := releaseHeading.FindSubmatch(readRoot(t, "CHANGELOG.md"))
	if m == nil {
		t.Fatal(`CHANGELOG.md has no released version: want a heading "## [x.y.z] - YYYY-MM-DD"`)
	}
	return string(m[1])
}

// The changelog is in the form of Keep a Changelog, and its first released
// heading is the version the Makefile stamps.
func TestChangelogKeepsAChangelogAndDefinesTheMakefilesRelease(t *testing.T) {
	log := string(readRoot(t, "CHANGELOG.md"))
	version := releaseVersion(t)
	unreleased := strings.Index(log, "\n## [Unreleased]")
	released := strings.Index(log, "\n## ["+version+"]")
	if unreleased < 0 || unreleased > released {
		t.Error(`CHANGELOG.md: want a "## [Unreleased]" section above the releases`)
	}
	if !strings.Contains(log, "\n["+version+"]: https://") {
		t.Errorf("CHANGELOG.md: no link reference [%s]: https://... for the release", version)
	}
	if !strings.Contains(log[released:], "\n### ") {
		t.Errorf("CHANGELOG.md: release %s has no ### section (Added, Changed, Fixed...)", version)
	}
	if got := makeVariables(t)["RELEASE"]; got != version {
		t.Errorf("make version says RELEASE=%q, want CHANGELOG.md's %q", got, version)
	}
}

// makeVariables returns what `make version` prints at the root, as a map.
func makeVariables(t *testing.T) map[string]string {
	t.Helper()
	return makeVariablesIn(t, moduleRoot(t))
}

// makeVariablesIn returns what `make version` prints in dir, as a map.
func makeVariablesIn(t *testing.T, dir string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := makeCmd(t, ctx, dir, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("make version: %v\n%s", err, out)
	}
	vars := map[string]string{}
	for _, f := range strings.Fields(string(out)) {
		if k, v, ok := strings.Cut(f, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

// sarMetadata returns template.yaml's SAR metadata as YAML nodes, so that an
// intrinsic function in any form (!Ref, Fn::Sub) can be seen.
func sarMetadata(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(readRoot(t, "template.yaml"), &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	node := mappingValue(mappingValue(doc.Content[0], "Metadata"), sarKey)
	if node == nil || node.Kind != yaml.MappingNode {
		t.Fatalf("template.yaml has no Metadata: %s mapping", sarKey)
	}
	return node
}

// mappingValue returns the value of key in the mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// intrinsicFunctions returns the intrinsic functions under n: short-form tags
// (!Ref, !Sub...) and long-form keys (Ref, Fn::...).
func intrinsicFunctions(n *yaml.Node) []string {
	var out []string
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		out = append(out, n.Tag)
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
				out = append(out, k)
			}
		}
	}
	for _, c := range n.Content {
		out = append(out, intrinsicFunctions(c)...)
	}
	return out
}

// sarApplication is the metadata, decoded; unknown keys are refused.
type sarApplication struct {
	Name            string   `yaml:"Name"`
	Description     string   `yaml:"Description"`
	Author          string   `yaml:"Author"`
	SpdxLicenseID   string   `yaml:"SpdxLicenseId"`
	LicenseURL      string   `yaml:"LicenseUrl"`
	ReadmeURL       string   `yaml:"ReadmeUrl"`
	Labels          []string `yaml:"Labels"`
	HomePageURL     string   `yaml:"HomePageUrl"`
	SemanticVersion string   `yaml:"SemanticVersion"`
	SourceCodeURL   string   `yaml:"SourceCodeUrl"`
}

// The SAR metadata has every property the listing needs, within SAR's
// documented limits (AWS SAM Developer Guide, "AWS SAM template Metadata
// section properties"), and says what is true: the release version, files
// that exist, the licence the repository carries.
func TestTemplateSARMetadataHoldsToTheFacts(t *testing.T) {
	node := sarMetadata(t)
	if fns := intrinsicFunctions(node); len(fns) > 0 {
		t.Errorf("%s uses intrinsic functions %v: SAR takes plain values only", sarKey, fns)
	}
	var app sarApplication
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(node); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(&app); err != nil {
		t.Fatalf("%s: %v", sarKey, err)
	}

	check := func(field, value string, minLen, maxLen int, pattern string) {
		t.Helper()
		if n := len(value); n < minLen || n > maxLen {
			t.Errorf("%s %s is %d characters, want %d to %d", sarKey, field, n, minLen, maxLen)
		}
		if pattern != "" && !regexp.MustCompile(pattern).MatchString(value) {
			t.Errorf("%s %s %q does not match SAR's pattern %s", sarKey, field, value, pattern)
		}
	}
	check("Name", app.Name, 1, 140, `^[a-zA-Z0-9\-]+$`)
	check("Description", app.Description, 1, 256, "")
	check("Author", app.Author, 1, 127, `^[a-z0-9]([a-z0-9]|-[a-z0-9])*$`)
	if len(app.Labels) == 0 || len(app.Labels) > 10 {
		t.Errorf("%s has %d Labels, want 1 to 10", sarKey, len(app.Labels))
	}
	for _, l := range app.Labels {
		check("label", l, 1, 127, `^[a-zA-Z0-9+\-_:\/@]+$`)
	}

	// The version SAR shows is the release this tree makes.
	if want := releaseVersion(t); app.SemanticVersion != want {
		t.Errorf("%s SemanticVersion = %q, want CHANGELOG.md's release %q", sarKey, app.SemanticVersion, want)
	}
	for field, u := range map[string]string{"HomePageUrl": app.HomePageURL, "SourceCodeUrl": app.SourceCodeURL} {
		if !strings.HasPrefix(u, "https://github.com/handshake-janitor/handshake-janitor") {
			t.Errorf("%s %s = %q, want the repository's https URL", sarKey, field, u)
		}
	}
	if want := "/tree/v" + app.SemanticVersion; !strings.HasSuffix(app.SourceCodeURL, want) {
		t.Errorf("%s SourceCodeUrl = %q, want the source of this version (ending %s)", sarKey, app.SourceCodeURL, want)
	}

	// The licence: Apache-2.0, in the file LicenseUrl names.
	if app.SpdxLicenseID != "Apache-2.0" {
		t.Errorf("%s SpdxLicenseId = %q, want Apache-2.0", sarKey, app.SpdxLicenseID)
	}
	license := string(readRoot(t, filepath.FromSlash(app.LicenseURL)))
	if !strings.Contains(license, "Apache License") || !strings.Contains(license, "Version 2.0, January 2004") ||
		!strings.Contains(license, "END OF TERMS AND CONDITIONS") {
		t.Errorf("%s LicenseUrl %s is not the Apache License 2.0", sarKey, app.LicenseURL)
	}

	// The readme: a page of its own for the listing, not the README; SAR
	// takes up to 5 MB, a listing page is a screen or two.
	if app.ReadmeURL == "README.md" {
		t.Errorf("%s ReadmeUrl is the README: want a page written for the listing", sarKey)
	}
	readme := readRoot(t, filepath.FromSlash(app.ReadmeURL))
	if len(readme) > 8000 {
		t.Errorf("%s ReadmeUrl %s is %d bytes: keep the listing page short", sarKey, app.ReadmeURL, len(readme))
	}
	for _, want := range []string{"CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY", "DryRun"} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("%s ReadmeUrl %s does not mention %s", sarKey, app.ReadmeURL, want)
		}
	}
}

// sarSupported reads the vendored list of the resource types SAR supports
// (testdata/sar-supported-resources.NOTICE says where it comes from).
func sarSupported(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sar-supported-resources.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !regexp.MustCompile(`^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$`).MatchString(line) {
			t.Fatalf("sar-supported-resources.txt: %q is not a resource type", line)
		}
		out = append(out, line)
	}
	if len(out) < 100 {
		t.Fatalf("sar-supported-resources.txt lists %d types: truncated?", len(out))
	}
	return out
}

// Every resource type template.yaml declares is on SAR's list.
func TestTemplateDeclaresOnlyResourceTypesSARSupports(t *testing.T) {
	supported := sarSupported(t)
	st := parseTemplate(t)
	for name, r := range st.symbolic.Resources {
		if !slices.Contains(supported, r.Type) {
			t.Errorf("resource %s is a %s, which is not on SAR's supported list (testdata/sar-supported-resources.txt)", name, r.Type)
		}
	}
}

// Every resource type the template creates after the SAM transform is on
// SAR's list: cfn-lint runs the transform, and with the list as its
// resource specification (--override-spec IncludeResourceTypes) it reports
// any other type as E3006. A control copy with a ScheduleV2 event, which
// the transform turns into an AWS::Scheduler::Schedule, must be refused:
// the check sees the transformed types, not the declared ones. Skips when
// cfn-lint is not installed.
func TestTemplateTransformsIntoResourceTypesSARSupports(t *testing.T) {
	t.Parallel() // a subprocess of its own
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH, so the transformed template is not checked here; install it with `pip install cfn-lint`")
	}
	dir := t.TempDir()
	spec, err := json.Marshal(map[string][]string{"IncludeResourceTypes": sarSupported(t)})
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "sar-spec.json")
	writeFile(t, specFile, spec)

	good := filepath.Join(moduleRoot(t), "template.yaml")
	data := readRoot(t, "template.yaml")
	const events = "\n      Events:\n"
	control := bytes.Replace(data, []byte(events), []byte(events+
		"        Control:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: rate(1 day)\n"), 1)
	if bytes.Equal(control, data) {
		t.Fatal("template.yaml has no function Events to add the control's ScheduleV2 event to")
	}
	bad := filepath.Join(dir, "control-template.yaml")
	writeFile(t, bad, control)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--format", "parseable", "--override-spec", specFile, "--", good, bad)
	cmd.Dir = moduleRoot(t)
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("cfn-lint did not finish: %v\n%s", ctx.Err(), out)
	}
	var goodFindings, badFindings []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(line, good+":"):
			goodFindings = append(goodFindings, line)
		case strings.HasPrefix(line, bad+":") && strings.Contains(line, ":E3006:"):
			badFindings = append(badFindings, line)
		}
	}
	if len(goodFindings) > 0 {
		t.Errorf("template.yaml, transformed, against SAR's supported types:\n%s", strings.Join(goodFindings, "\n"))
	}
	if !strings.Contains(strings.Join(badFindings, "\n"), "AWS::Scheduler::Schedule") {
		t.Errorf("the control (a ScheduleV2 event) was not refused for AWS::Scheduler::Schedule; cfn-lint said:\n%s", out)
	}
}

// The types whose presence SAR makes a deployer acknowledge, and the
// capability each needs ("Acknowledging Application Capabilities";
// testdata/sar-supported-resources.NOTICE names the guide's source).
var sarCapabilities = map[string]string{
	"AWS::IAM::Group":                            "CAPABILITY_IAM",
	"AWS::IAM::InstanceProfile":                  "CAPABILITY_IAM",
	"AWS::IAM::Policy":                           "CAPABILITY_IAM",
	"AWS::IAM::Role":                             "CAPABILITY_IAM",
	"AWS::Lambda::LayerVersionPermission":        "CAPABILITY_RESOURCE_POLICY",
	"AWS::Lambda::Permission":                    "CAPABILITY_RESOURCE_POLICY",
	"AWS::Events::EventBusPolicy":                "CAPABILITY_RESOURCE_POLICY",
	"AWS::ApplicationAutoScaling::ScalingPolicy": "CAPABILITY_RESOURCE_POLICY",
	"AWS::S3::BucketPolicy":                      "CAPABILITY_RESOURCE_POLICY",
	"AWS::SQS::QueuePolicy":                      "CAPABILITY_RESOURCE_POLICY",
	"AWS::SNS::TopicPolicy":                      "CAPABILITY_RESOURCE_POLICY",
	"AWS::Serverless::Application":               "CAPABILITY_AUTO_EXPAND",
}

// The console guide names exactly the capabilities a deployer of the SAR
// application must acknowledge, each with the resources that need it.
func TestConsoleGuideNamesTheCapabilitiesTheTemplateNeeds(t *testing.T) {
	st := parseTemplate(t)
	need := map[string][]string{} // capability -> resource types
	for _, r := range st.symbolic.Resources {
		if c, ok := sarCapabilities[r.Type]; ok && !slices.Contains(need[c], r.Type) {
			need[c] = append(need[c], r.Type)
		}
	}
	guide := string(readRoot(t, filepath.Join("docs", "deploy-consoles.md")))
	for _, c := range []string{"CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY", "CAPABILITY_AUTO_EXPAND"} {
		types, needed := need[c]
		switch {
		case needed && !strings.Contains(guide, c):
			t.Errorf("docs/deploy-consoles.md does not say a deployer acknowledges %s (for %v)", c, types)
		case !needed && strings.Contains(guide, c):
			t.Errorf("docs/deploy-consoles.md names %s, which the template does not need", c)
		}
		for _, typ := range types {
			if !strings.Contains(guide, typ) {
				t.Errorf("docs/deploy-consoles.md does not name %s among what %s acknowledges", typ, c)
			}
		}
	}
}

// A one-click deploy from SAR is a first deploy, and a first deploy is a
// dry run: the template's DryRun default is "true", as the listing says.
func TestSARListingDeploysInDryRunByDefault(t *testing.T) {
	st := parseTemplate(t)
	if got := st.parameterDefault(t, "DryRun"); got != "true" {
		t.Errorf("DryRun default = %q: a SAR deploy with the defaults would cancel for real; want \"true\"", got)
	}
	var app sarApplication
	if err := sarMetadata(t).Decode(&app); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(app.Description), "dry run by default") {
		t.Errorf("%s Description does not tell the deployer it deploys in dry run: %q", sarKey, app.Description)
	}
}
