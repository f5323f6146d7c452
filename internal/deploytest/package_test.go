package deploytest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// standIn is the source of both stand-in functions: `make release` is
// tested on the real Makefile, zipdist and internal/version, with mains that
// print the version the build stamped and need nothing else, so the test
// depends on no other package compiling.
const standIn = `package main

import (
	"fmt"

	"github.com/handshake-janitor/handshake-janitor/internal/version"
)

func main() { fmt.Println(version.String()) }
`

// releaseInputs are the files `make release` reads besides the Go sources:
// the module, the release version, the template and what its SAR metadata
// names, and the Serverless Devs application.
var releaseInputs = []string{
	"Makefile", "go.mod", "go.sum", "CHANGELOG.md", "template.yaml", "LICENSE",
	filepath.Join("docs", "sar-readme.md"),
	filepath.Join("deploy", "aliyun", "registry", "publish.yaml"),
	filepath.Join("deploy", "aliyun", "registry", "readme.md"),
	filepath.Join("deploy", "aliyun", "registry", "src", "s.yaml"),
}

// scratchModule copies what `make release` needs (releaseInputs, and the
// sources of internal/cmd/zipdist and internal/version) into a new
// directory, with stand-in mains under functions/aws and functions/fc. The
// real dist/ is left alone.
func scratchModule(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	dir := t.TempDir()
	copyFile := func(rel string) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, rel), b)
	}
	for _, rel := range releaseInputs {
		copyFile(rel)
	}
	for _, pkg := range []string{filepath.Join("internal", "cmd", "zipdist"), filepath.Join("internal", "version")} {
		srcs, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		if err != nil || len(srcs) == 0 {
			t.Fatalf("no %s sources: %v", pkg, err)
		}
		for _, p := range srcs {
			if !strings.HasSuffix(p, "_test.go") {
				rel, _ := filepath.Rel(root, p)
				copyFile(rel)
			}
		}
	}
	writeFile(t, filepath.Join(dir, "functions", "aws", "main.go"), []byte(standIn))
	writeFile(t, filepath.Join(dir, "functions", "fc", "main.go"), []byte(standIn))
	return dir
}

// gitTag makes dir a git repository with one commit, tagged tag.
func gitTag(t *testing.T, dir, tag string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH: the version stamp from git describe is not tested here")
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "scratch"},
		{"tag", tag},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeTarget runs `make target` in dir under the given umask, from a clean
// dist/, and returns every file it wrote under dist/ (by slash path), with
// its content.
func makeTarget(t *testing.T, dir, umask, target string, vars ...string) map[string][]byte {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, "dist")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := makeCmd(t, ctx, dir, append([]string{target}, vars...)...)
	// Run make from sh with the umask set: the files must not depend on it.
	cmd.Args = append([]string{"/bin/sh", "-c", `umask "$1" && shift && exec "$@"`, "sh", umask}, cmd.Args...)
	cmd.Path = "/bin/sh"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s %v (umask %s): %v\n%s", target, vars, umask, err, out)
	}
	out := map[string][]byte{}
	dist := filepath.Join(dir, "dist")
	err := filepath.WalkDir(dist, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dist, path)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entry is what a console needs of an archive's one file.
type entry struct {
	name    string
	mode    fs.FileMode
	machine elf.Machine
}

func zipEntries(t *testing.T, name string, b []byte) []entry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []entry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s/%s: %v", name, f.Name, err)
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s/%s: %v", name, f.Name, err)
		}
		e := entry{name: f.Name, mode: f.Mode()}
		if ef, err := elf.NewFile(bytes.NewReader(content)); err == nil {
			e.machine = ef.Machine
		}
		out = append(out, e)
	}
	return out
}

// `make release` writes the console archives, their sums, the SAR template
// and the registry application; the same commit gives the same bytes
// whatever the umask; the binaries carry the version of the git tag.
func TestMakeReleaseWritesReproducibleArchivesSumsAndTemplates(t *testing.T) {
	t.Parallel() // a subprocess of its own: let it overlap the rest
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to run make under a chosen umask")
	}
	dir := scratchModule(t)
	const tag, tagged = "v9.8.7", "9.8.7" // not CHANGELOG.md's: the tag wins
	gitTag(t, dir, tag)

	first := makeTarget(t, dir, "022", "release")
	want := []string{
		"SHA256SUMS", "aws/bootstrap", "fc/main",
		"handshake-janitor-aws-arm64.zip", "handshake-janitor-fc.zip",
		"registry/handshake-janitor/publish.yaml", "registry/handshake-janitor/readme.md",
		"registry/handshake-janitor/src/code/main", "registry/handshake-janitor/src/s.yaml",
		"sar/LICENSE", "sar/docs/sar-readme.md", "sar/template.yaml",
	}
	if got := keys(first); !slices.Equal(got, want) {
		t.Fatalf("make release wrote %v, want %v", got, want)
	}

	// The archives: one executable at the root, for each console.
	wantEntries := map[string][]entry{
		// Lambda runs the file named bootstrap at the archive's root.
		"handshake-janitor-aws-arm64.zip": {{"bootstrap", 0o755, elf.EM_AARCH64}},
		// FC's go1 runtime runs the handler, main, at the root; amd64 only.
		"handshake-janitor-fc.zip": {{"main", 0o755, elf.EM_X86_64}},
	}
	for name, w := range wantEntries {
		if got := zipEntries(t, name, first[name]); !slices.Equal(got, w) {
			t.Errorf("%s holds %+v, want %+v", name, got, w)
		}
	}

	// SHA256SUMS: sha256sum's format, one line per archive, right sums.
	var sums []string
	for _, name := range slices.Sorted(maps.Keys(wantEntries)) {
		sums = append(sums, fmt.Sprintf("%x  %s", sha256.Sum256(first[name]), name))
	}
	if got := strings.TrimSpace(string(first["SHA256SUMS"])); got != strings.Join(sums, "\n") {
		t.Errorf("SHA256SUMS =\n%s\nwant\n%s", got, strings.Join(sums, "\n"))
	}

	// The version: the tag's, in the binaries (the FC stand-in runs here
	// when this machine can run linux/amd64).
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		out, err := exec.Command(filepath.Join(dir, "dist", "fc", "main")).Output()
		if err != nil || strings.TrimSpace(string(out)) != tagged {
			t.Errorf("the FC binary of a tree tagged %s says %q (%v), want %s", tag, out, err, tagged)
		}
	}
	if !bytes.Contains(first["aws/bootstrap"], []byte(tagged)) {
		t.Errorf("the AWS binary does not hold the version %s", tagged)
	}

	// The SAR template: template.yaml with the code in the arm64 archive,
	// and the files its metadata names beside it, at the same paths.
	tmpl := readRoot(t, "template.yaml")
	wantTmpl := bytes.Replace(tmpl, []byte("\n      CodeUri: .\n"), []byte("\n      CodeUri: ../handshake-janitor-aws-arm64.zip\n"), 1)
	if bytes.Equal(wantTmpl, tmpl) || !bytes.Equal(first["sar/template.yaml"], wantTmpl) {
		t.Errorf("dist/sar/template.yaml is not template.yaml with CodeUri ../handshake-janitor-aws-arm64.zip")
	}
	for _, field := range []string{"LicenseUrl", "ReadmeUrl"} {
		rel := mappingValue(sarMetadata(t), field).Value
		if !bytes.Equal(first["sar/"+rel], readRoot(t, filepath.FromSlash(rel))) {
			t.Errorf("dist/sar/%s (the %s) is not a copy of %s", rel, field, rel)
		}
	}

	// The registry application: the package as in the repository, with the
	// FC binary where src/s.yaml's code points.
	for _, rel := range []string{"publish.yaml", "readme.md", "src/s.yaml"} {
		if !bytes.Equal(first["registry/handshake-janitor/"+rel], readRoot(t, filepath.Join(registryDir, filepath.FromSlash(rel)))) {
			t.Errorf("dist/registry/handshake-janitor/%s is not a copy of %s", rel, filepath.Join(registryDir, rel))
		}
	}
	if !bytes.Equal(first["registry/handshake-janitor/src/code/main"], first["fc/main"]) {
		t.Error("dist/registry/handshake-janitor/src/code/main is not the FC binary")
	}
	if fi, err := os.Stat(filepath.Join(dir, "dist", "registry", "handshake-janitor", "src", "code", "main")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("the registry's code/main is not executable: %v", err)
	}

	// Rebuilt from a clean dist/ under another umask: the same bytes.
	second := makeTarget(t, dir, "077", "release")
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("dist/%s differs between two releases of the same commit (%d and %d bytes): not reproducible", name, len(b), len(second[name]))
		}
	}

	// AWS_ARCH=amd64 builds an x86_64 bootstrap into an archive named so
	// (read from the commands make would run: a third build proves nothing
	// more).
	cmds := makeDryRun(t, "package", "AWS_ARCH=amd64")
	for _, want := range []string{"GOARCH=amd64", "-o dist/aws/bootstrap", "-o dist/handshake-janitor-aws-amd64.zip dist/aws/bootstrap"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("make -n package AWS_ARCH=amd64 runs:\n%s\nwhich lacks %q", cmds, want)
		}
	}
}

// Without a tag the binaries say the release version, -dev, and the commit;
// without git, the release version and -dev; never nothing.
func TestMakeVersionFallsBackWithoutATagAndWithoutGit(t *testing.T) {
	release := releaseVersion(t)
	dir := scratchModule(t)
	if got := makeVariablesIn(t, dir)["VERSION"]; got != release+"-dev" {
		t.Errorf("without git, VERSION = %q, want %s-dev", got, release)
	}
	gitTag(t, dir, "not-a-version")
	got := makeVariablesIn(t, dir)["VERSION"]
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(release) + `-dev\+[0-9a-f]{7,}$`).MatchString(got) {
		t.Errorf("untagged, VERSION = %q, want %s-dev+COMMIT", got, release)
	}
	writeFile(t, filepath.Join(dir, "Makefile"), append(readRoot(t, "Makefile"), "\n# changed\n"...))
	if got := makeVariablesIn(t, dir)["VERSION"]; !strings.HasSuffix(got, "-dirty") {
		t.Errorf("with a changed tracked file, VERSION = %q, want a -dirty suffix", got)
	}
}
