package deploytest

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// standIn is the source of both stand-in functions: `make package` is
// tested on the real Makefile and zipdist, with mains that need nothing but
// the standard library, so the test depends on no other package compiling.
const standIn = `package main

import "fmt"

func main() { fmt.Println("stand-in") }
`

// scratchModule copies what `make package` needs (the Makefile, go.mod,
// go.sum and internal/cmd/zipdist) into a new directory, with stand-in
// mains under functions/aws and functions/fc. The real dist/ is left alone.
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
	for _, rel := range []string{"Makefile", "go.mod", "go.sum"} {
		copyFile(rel)
	}
	zipdist, err := filepath.Glob(filepath.Join(root, "internal", "cmd", "zipdist", "*.go"))
	if err != nil || len(zipdist) == 0 {
		t.Fatalf("no internal/cmd/zipdist sources: %v", err)
	}
	for _, p := range zipdist {
		if !strings.HasSuffix(p, "_test.go") {
			rel, _ := filepath.Rel(root, p)
			copyFile(rel)
		}
	}
	writeFile(t, filepath.Join(dir, "functions", "aws", "main.go"), []byte(standIn))
	writeFile(t, filepath.Join(dir, "functions", "fc", "main.go"), []byte(standIn))
	return dir
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

// makePackage runs `make package` in dir under the given umask, from a
// clean dist/, and returns the archives it wrote, by name.
func makePackage(t *testing.T, dir, umask string, vars ...string) map[string][]byte {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, "dist")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := makeCmd(t, ctx, dir, append([]string{"package"}, vars...)...)
	// Run make from sh with the umask set: the archives must not depend on it.
	cmd.Args = append([]string{"/bin/sh", "-c", `umask "$1" && shift && exec "$@"`, "sh", umask}, cmd.Args...)
	cmd.Path = "/bin/sh"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package %v (umask %s): %v\n%s", vars, umask, err, out)
	}
	zips, err := filepath.Glob(filepath.Join(dir, "dist", "*.zip"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, z := range zips {
		b, err := os.ReadFile(z)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(z)] = b
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

func TestMakePackageWritesReproducibleConsoleArchives(t *testing.T) {
	t.Parallel() // a subprocess of its own: let it overlap the rest
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to run make under a chosen umask")
	}
	dir := scratchModule(t)

	first := makePackage(t, dir, "022")
	if got := keys(first); !slices.Equal(got, []string{"handshake-janitor-aws-arm64.zip", "handshake-janitor-fc.zip"}) {
		t.Fatalf("make package wrote %v, want handshake-janitor-aws-arm64.zip and handshake-janitor-fc.zip", got)
	}
	want := map[string][]entry{
		// Lambda runs the file named bootstrap at the archive's root.
		"handshake-janitor-aws-arm64.zip": {{"bootstrap", 0o755, elf.EM_AARCH64}},
		// FC's go1 runtime runs the handler, main, at the root; amd64 only.
		"handshake-janitor-fc.zip": {{"main", 0o755, elf.EM_X86_64}},
	}
	for name, b := range first {
		if got := zipEntries(t, name, b); !slices.Equal(got, want[name]) {
			t.Errorf("%s holds %+v, want %+v", name, got, want[name])
		}
	}

	// Rebuilt from a clean dist/ under another umask: the same bytes.
	second := makePackage(t, dir, "077")
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s differs between two builds of the same source (%d and %d bytes): not reproducible", name, len(b), len(second[name]))
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
