package main

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tree writes files (name -> content) into a new directory with the given
// permission for executables and for the rest, and the given mtime.
func tree(t *testing.T, files map[string]string, execPerm, filePerm fs.FileMode, mtime time.Time) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for name, content := range files {
		p := filepath.Join(dir, name)
		perm := filePerm
		if name == "bootstrap" || name == "main" {
			perm = execPerm
		}
		if err := os.WriteFile(p, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil { // beat the umask
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

func archive(t *testing.T, paths []string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "a.zip")
	if err := writeFile(out, paths, epoch); err != nil {
		t.Fatalf("writeFile: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameInputsGiveTheSameBytesWhateverTheFileMetadata(t *testing.T) {
	files := map[string]string{"bootstrap": strings.Repeat("\x7fELF binary ", 5000), "NOTICE": "notice\n"}
	a := tree(t, files, 0o755, 0o644, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	b := tree(t, files, 0o700, 0o600, time.Date(2031, 1, 2, 3, 4, 5, 0, time.Local))

	first := archive(t, []string{a["bootstrap"], a["NOTICE"]})
	second := archive(t, []string{b["NOTICE"], b["bootstrap"]}) // other order, modes, times
	if !bytes.Equal(first, second) {
		t.Fatalf("archives differ (%d and %d bytes): not reproducible", len(first), len(second))
	}
	if again := archive(t, []string{a["bootstrap"], a["NOTICE"]}); !bytes.Equal(first, again) {
		t.Fatal("the same files archived twice give different bytes")
	}
}

func TestEntriesSitAtTheRootWithExecBitsAndFixedTime(t *testing.T) {
	files := map[string]string{"main": "fc binary", "bootstrap": "lambda binary", "README.txt": "read me"}
	p := tree(t, files, 0o750, 0o640, time.Now())
	b := archive(t, []string{p["main"], p["README.txt"], p["bootstrap"]})

	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("archive does not read back: %v", err)
	}
	want := []struct {
		name string
		mode fs.FileMode
	}{{"README.txt", 0o644}, {"bootstrap", 0o755}, {"main", 0o755}}
	if len(zr.File) != len(want) {
		t.Fatalf("archive has %d entries, want %d", len(zr.File), len(want))
	}
	for i, f := range zr.File {
		if f.Name != want[i].name {
			t.Errorf("entry %d = %q, want %q (sorted, at the root)", i, f.Name, want[i].name)
		}
		if f.Mode() != want[i].mode {
			t.Errorf("%s mode = %v, want %v", f.Name, f.Mode(), want[i].mode)
		}
		if f.CreatorVersion>>8 != 3 { // Unix, so unzip and the consoles honour the mode
			t.Errorf("%s creator = %d, want 3 (Unix)", f.Name, f.CreatorVersion>>8)
		}
		if !f.Modified.Equal(epoch) {
			t.Errorf("%s modified = %v, want %v", f.Name, f.Modified, epoch)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != files[f.Name] {
			t.Errorf("%s content = %q, %v; want %q", f.Name, got, err, files[f.Name])
		}
	}
}

func TestBadInputsLeaveNoArchive(t *testing.T) {
	p := tree(t, map[string]string{"bootstrap": "x"}, 0o755, 0o644, time.Now())
	other := tree(t, map[string]string{"bootstrap": "y"}, 0o755, 0o644, time.Now())
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing file", []string{filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"directory", []string{t.TempDir()}, "not a regular file"},
		{"same base name twice", []string{p["bootstrap"], other["bootstrap"]}, `both be stored as "bootstrap"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := writeFile(filepath.Join(dir, "a.zip"), tt.paths, epoch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("writeFile error = %v, want one containing %q", err, tt.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("failed run left %d files behind (%s...)", len(left), left[0].Name())
			}
		})
	}
}

func TestModTimeHonoursSourceDateEpoch(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", epoch, false},
		{"1700000000", time.Unix(1700000000, 0).UTC(), false},
		{"0", time.Time{}, true},          // before the zip epoch
		{"-5", time.Time{}, true},         // negative
		{"soon", time.Time{}, true},       // not a number
		{"1e9", time.Time{}, true},        // not an integer
		{"9999999999", time.Time{}, true}, // past 2107
	}
	for _, tt := range tests {
		got, err := modTime(tt.in)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("modTime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
			t.Errorf("modTime(%q) error %q does not name SOURCE_DATE_EPOCH", tt.in, err)
		}
	}
}
