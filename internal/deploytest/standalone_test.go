package deploytest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoFileReachesOutsideTheRepository walks every file of the module and
// fails on one that names the design notes or the folder the project was
// planned in: a user who clones the repository has neither, so the README
// (or docs/) must own what they said.
func TestNoFileReachesOutsideTheRepository(t *testing.T) {
	root := moduleRoot(t)
	// Built from parts so this file does not name them itself.
	forbidden := []string{"DESIGN" + ".md", ".." + "/shared"}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "dist" || name == ".aws-sam" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".prof") || strings.HasSuffix(name, ".zip") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range forbidden {
			if strings.Contains(string(b), f) {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s names %q, which is not in the repository", rel, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
