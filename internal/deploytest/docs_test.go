package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
)

// readme returns README.md, the product's front door.
func readme(t *testing.T) string {
	t.Helper()
	return string(readRoot(t, "README.md"))
}

// markdownFiles returns the module's documents, relative to its root:
// README.md, every docs/*.md and every other README.md under the root.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	root := moduleRoot(t)
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "dist", ".aws-sam", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".md") {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 2 {
		t.Fatalf("found only %v: want README.md and docs/*.md", out)
	}
	return out
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

func TestDocsMakeTargetsExist(t *testing.T) {
	mk := readRoot(t, "Makefile")
	for _, doc := range markdownFiles(t) {
		for _, m := range regexp.MustCompile("`make ([A-Za-z0-9_-]+)").FindAllStringSubmatch(string(readRoot(t, doc)), -1) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).Match(mk) {
				t.Errorf("%s mentions `make %s`, which the Makefile does not have", doc, m[1])
			}
		}
	}
}

// mdLink matches an inline Markdown link or image, capturing its target.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// fence matches a fenced code block, whose text is not Markdown.
var fence = regexp.MustCompile("(?ms)^```.*?^```")

// headingAnchors returns the anchors GitHub gives a Markdown document's
// headings: lower case, punctuation dropped, spaces to hyphens, and -1,
// -2, ... for repeats.
func headingAnchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for line := range strings.SplitSeq(fence.ReplaceAllString(text, ""), "\n") {
		h := strings.TrimLeft(line, "#")
		if len(h) == len(line) || len(line)-len(h) > 6 || !strings.HasPrefix(h, " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(h)) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// Every relative link of every document leads to a file of the module and,
// when it names an anchor in a Markdown file, to one of its headings: a
// section moved from one page to another must take its links along.
func TestDocsRelativeLinksResolve(t *testing.T) {
	root := moduleRoot(t)
	anchors := map[string]map[string]bool{}
	anchorsOf := func(doc string) map[string]bool {
		if anchors[doc] == nil {
			anchors[doc] = headingAnchors(string(readRoot(t, doc)))
		}
		return anchors[doc]
	}
	checked := 0
	for _, doc := range markdownFiles(t) {
		text := fence.ReplaceAllString(string(readRoot(t, doc)), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := doc
			if path != "" {
				file = filepath.ToSlash(filepath.Join(filepath.Dir(doc), path))
				if strings.HasPrefix(file, "../") {
					t.Errorf("%s links %s, outside the repository", doc, target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, file)); err != nil {
					t.Errorf("%s links %s: %s does not exist", doc, target, file)
					continue
				}
			}
			checked++
			if anchor != "" && strings.HasSuffix(file, ".md") && !anchorsOf(file)[anchor] {
				t.Errorf("%s links %s: %s has no heading with the anchor #%s", doc, target, file, anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no relative link at all: the link pattern is broken")
	}
}

func TestHeadingAnchorsAreGitHubs(t *testing.T) {
	got := headingAnchors("# Deploy\n## AWS: `sam build && sam deploy`\n```\n# not a heading\n```\n## 1. Create the secret first\n### Deploy\n#nope\n")
	for _, want := range []string{"deploy", "aws-sam-build--sam-deploy", "1-create-the-secret-first", "deploy-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	for _, bad := range []string{"not-a-heading", "nope"} {
		if got[bad] {
			t.Errorf("anchor %q for a line that is not a heading", bad)
		}
	}
}

// An operator who builds the stack by hand makes the same alarms: the
// console walkthrough names each alarm of the template; the SAM walkthrough
// names each alarm too, and each widget of its dashboard.
func TestDeployWalkthroughsListEveryAlarmAndDashboardWidget(t *testing.T) {
	st := parseTemplate(t)
	console := string(readRoot(t, filepath.Join("docs", "deploy-consoles.md")))
	sam := string(readRoot(t, filepath.Join("docs", "deploy-aws.md")))
	alarms := st.alarms()
	if len(alarms) == 0 {
		t.Fatal("template.yaml has no alarms")
	}
	for _, a := range alarms {
		if !strings.Contains(console, "`"+a.name+"`") {
			t.Errorf("docs/deploy-consoles.md does not list the alarm `%s`", a.name)
		}
		if !strings.Contains(sam, "`"+a.name+"`") {
			t.Errorf("docs/deploy-aws.md does not list the alarm `%s`", a.name)
		}
	}
	_, body := dashboardBody(t, st)
	for _, w := range body.Widgets {
		if !strings.Contains(sam, "*"+w.Properties.Title+"*") {
			t.Errorf("docs/deploy-aws.md does not describe the dashboard widget *%s*", w.Properties.Title)
		}
	}
}

// docs/reliability.md lists every fuzz target of the module: a new one is
// named there, a removed one leaves.
func TestReliabilityListsEveryFuzzTarget(t *testing.T) {
	root := moduleRoot(t)
	doc := string(readRoot(t, "docs/reliability.md"))
	fuzz := regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]*)\(`)
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "dist" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range fuzz.FindAllStringSubmatch(string(b), -1) {
			found[m[1]] = true
			if !strings.Contains(doc, "`"+m[1]+"`") {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("docs/reliability.md does not list the fuzz target %s (%s)", m[1], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("`(Fuzz[A-Za-z0-9_]+)`").FindAllStringSubmatch(doc, -1) {
		if !found[m[1]] {
			t.Errorf("docs/reliability.md lists %s, which no test file defines", m[1])
		}
	}
	if len(found) == 0 {
		t.Fatal("found no fuzz target at all")
	}
}
