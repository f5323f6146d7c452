// Command zipdist writes a reproducible zip archive of release files, for
// upload in the Lambda and Function Compute consoles (`make package`).
//
//	zipdist -o dist/handshake-janitor-fc.zip dist/fc/main
//
// Each file is stored at the archive's root under its base name. The same
// inputs always give the same bytes: entries are sorted by name, every entry
// has the same timestamp (1980-01-01 00:00:00 UTC, the zip format's epoch,
// or SOURCE_DATE_EPOCH when set), and permissions are normalised to 0755 for
// a file with any execute bit and 0644 otherwise, whatever the umask or the
// file system. No owner, no directory entries, no comment. The archive is
// written beside its final name and renamed into place, so a failed run
// leaves no half-written archive.
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// epoch is the timestamp of every entry unless SOURCE_DATE_EPOCH says
// otherwise: the earliest time a zip (MS-DOS) timestamp can hold.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "archive to write (required)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: zipdist -o ARCHIVE.zip FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	mtime, err := modTime(os.Getenv("SOURCE_DATE_EPOCH"))
	if err == nil {
		err = writeFile(*out, flag.Args(), mtime)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zipdist:", err)
		os.Exit(1)
	}
}

// modTime returns the entries' timestamp: epoch, or the Unix time in
// SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/).
func modTime(sourceDateEpoch string) (time.Time, error) {
	if sourceDateEpoch == "" {
		return epoch, nil
	}
	sec, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
	t := time.Unix(sec, 0).UTC()
	if err != nil || t.Before(epoch) || t.Year() > 2107 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want Unix seconds between 1980 and 2107 (the zip format's range)", sourceDateEpoch)
	}
	return t, nil
}

// writeFile writes the archive of paths to out, atomically.
func writeFile(out string, paths []string, mtime time.Time) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp, paths, mtime); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// write writes the archive of paths to w.
func write(w io.Writer, paths []string, mtime time.Time) error {
	type entry struct {
		name, path string
		mode       fs.FileMode
	}
	var entries []entry
	seen := map[string]string{}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file; zipdist archives files only", p)
		}
		name := filepath.Base(p)
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("%s and %s would both be stored as %q at the archive's root", prev, p, name)
		}
		seen[name] = p
		mode := fs.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		entries = append(entries, entry{name, p, mode})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(e.mode)
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if err := copyFile(dst, e.path); err != nil {
			return err
		}
	}
	return zw.Close()
}

func copyFile(dst io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, f)
	return errors.Join(err, f.Close())
}
