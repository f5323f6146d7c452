package version

import (
	"runtime/debug"
	"testing"
)

func TestResolvePrefersTheStampThenTheBuildInfo(t *testing.T) {
	info := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/handshake-janitor/handshake-janitor", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	const rev = "4b08e82c1a2b3c4d5e6f708192a3b4c5d6e7f809"
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"stamped from a tag", "0.1.0", info("(devel)"), true, "0.1.0"},
		{"stamped after a tag, dirty", "0.1.0-3-g4b08e82-dirty", info("v0.1.0"), true, "0.1.0-3-g4b08e82-dirty"},
		{"stamped wins over the module version", "0.2.0-dev", info("v0.1.0"), true, "0.2.0-dev"},
		{"blank stamp is no stamp", "  ", info("v0.1.0"), true, "0.1.0"},
		{"go install of a tag", "", info("v0.1.0"), true, "0.1.0"},
		{"pseudo-version of a checkout", "", info("v0.0.0-20261206141150-4b08e82c1a2b+dirty"), true, "0.0.0-20261206141150-4b08e82c1a2b+dirty"},
		{"devel with a commit", "", info("(devel)", "vcs.revision", rev, "vcs.modified", "false"), true, "dev+4b08e82c1a2b"},
		{"devel with a dirty commit", "", info("(devel)", "vcs.revision", rev, "vcs.modified", "true"), true, "dev+4b08e82c1a2b.dirty"},
		{"devel with a short revision", "", info("", "vcs.revision", "abc"), true, "dev+abc"},
		{"devel without VCS", "", info("(devel)"), true, "dev"},
		{"no build information", "", nil, false, "dev"},
	}
	for _, tt := range tests {
		if got := resolve(tt.stamped, tt.bi, tt.ok); got != tt.want {
			t.Errorf("%s: resolve(%q, ...) = %q, want %q", tt.name, tt.stamped, got, tt.want)
		}
	}
}

func TestStringIsNeverEmpty(t *testing.T) {
	// A test binary is not stamped: String falls back, and says something.
	first := String()
	if first == "" {
		t.Fatal("String() is empty")
	}
	if again := String(); again != first {
		t.Errorf("String() = %q, then %q: it changes between calls", first, again)
	}
}
