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
