package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
)

// readme returns README.md, the product's front door.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadmeDocumentsEveryConfigurationVariable(t *testing.T) {
	text := readme(t)
	for _, v := range config.Variables {
		// The credential variables are documented together, by their
		// shared prefix and suffixes.
		short := strings.TrimPrefix(v.Name, "ALIBABA_CLOUD")
		if !strings.Contains(text, "`"+v.Name+"`") && !strings.Contains(text, "`"+short+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
		if v.Default != "" && !v.Secret && !strings.Contains(text, "`"+v.Default+"`") {
			t.Errorf("README.md does not give %s's default %q", v.Name, v.Default)
		}
	}
}

func TestReadmeNamesEverySampleEvent(t *testing.T) {
	text := readme(t)
	files, err := filepath.Glob(filepath.Join(moduleRoot(t), "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, f := range files {
		if name := filepath.Base(f); !strings.Contains(text, name) {
			t.Errorf("README.md does not mention events/%s", name)
		}
	}
}

func TestReadmeMakeTargetsExist(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(moduleRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("`make ([a-z-]+)`").FindAllStringSubmatch(readme(t), -1) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).Match(mk) {
			t.Errorf("README.md mentions `make %s`, which the Makefile does not have", m[1])
		}
	}
}

// readmeSection returns the text of README's "## name" section, up to the
// next "## " heading.
func readmeSection(t *testing.T, name string) string {
	t.Helper()
	text := readme(t)
	_, rest, ok := strings.Cut(text, "\n## "+name+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", name)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// An operator who builds the stack by hand makes the same alarms: the
// console walkthrough (docs/deploy-consoles.md, linked from the README's
// section of that name) names each alarm of the template, and the README's
// Deploy section each widget of its dashboard.
func TestReadmeListsEveryAlarmInTheConsoleWalkthroughAndEveryDashboardWidget(t *testing.T) {
	st := parseTemplate(t)
	if !strings.Contains(readmeSection(t, "Deploy from the web consoles"), "(docs/deploy-consoles.md)") {
		t.Error("README's console section does not link docs/deploy-consoles.md")
	}
	console := string(readRoot(t, filepath.Join("docs", "deploy-consoles.md")))
	alarms := st.alarms()
	if len(alarms) == 0 {
		t.Fatal("template.yaml has no alarms")
	}
	for _, a := range alarms {
		if !strings.Contains(console, "`"+a.name+"`") {
			t.Errorf("docs/deploy-consoles.md does not list the alarm `%s`", a.name)
		}
	}
	deploy := readmeSection(t, "Deploy")
	_, body := dashboardBody(t, st)
	for _, w := range body.Widgets {
		if !strings.Contains(deploy, "*"+w.Properties.Title+"*") {
			t.Errorf("README's Deploy section does not describe the dashboard widget *%s*", w.Properties.Title)
		}
	}
}
