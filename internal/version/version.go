// Package version says which build of handshake-janitor is running.
//
// The Makefile stamps the version at link time from `git describe --tags
// --always --dirty` (a tag v0.1.0 gives 0.1.0; a tree without tags gives the
// release version of CHANGELOG.md with "-dev" and the commit, a tree
// without git the release version with "-dev"). A build that is not stamped
// (`go build`, `go install`, `go test`) reports what the Go toolchain
// recorded instead.
package version

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Version is set by the linker and by nothing else:
//
//	go build -ldflags '-X github.com/handshake-janitor/handshake-janitor/internal/version.Version=0.1.0'
//
// Read it with String, which also covers a build that did not set it.
var Version string

// String returns the version of this build: Version when the build stamped
// it; otherwise the main module's version from the build information
// without its leading "v" (`go install ...@v0.1.0` records v0.1.0, a build
// in a git checkout a pseudo-version); otherwise "dev", with the commit the
// toolchain recorded when there is one ("dev+4b08e82c1a2b", "+dirty" when
// the tree had changes). It is never empty.
func String() string { return resolved() }

var resolved = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	return resolve(Version, bi, ok)
})

// resolve is String's rule, with its inputs as arguments.
func resolve(stamped string, bi *debug.BuildInfo, ok bool) string {
	if v := strings.TrimSpace(stamped); v != "" {
		return v
	}
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return strings.TrimPrefix(v, "v")
	}
	var revision string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		return "dev"
	}
	v := "dev+" + revision[:min(12, len(revision))]
	if modified {
		v += ".dirty"
	}
	return v
}
