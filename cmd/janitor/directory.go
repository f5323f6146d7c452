package main

import (
	"flag"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
)

// directoryFlag is -directory, on the subcommands that reach a directory:
// it names the directory of invitations, and beats DIRECTORY.
type directoryFlag struct{ name string }

func (f *directoryFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "directory", "", "the directory of invitations: resource-directory or aws-organizations (default $"+config.EnvDirectory+", else resource-directory)")
}

// env returns getenv with DIRECTORY replaced by the flag, when given.
func (f *directoryFlag) env(getenv func(string) string) func(string) string {
	if f.name == "" {
		return getenv
	}
	return func(k string) string {
		if k == config.EnvDirectory {
			return f.name
		}
		return getenv(k)
	}
}

// kind returns the directory the flag, else DIRECTORY, names.
func (f *directoryFlag) kind(getenv func(string) string) (directory.Kind, error) {
	v := strings.TrimSpace(f.env(getenv)(config.EnvDirectory))
	if v == "" {
		return directory.Default(), nil
	}
	return directory.ParseKind(v)
}
