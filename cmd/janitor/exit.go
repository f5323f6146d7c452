package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// The exit codes, the same for every command.
const (
	// exitOK: every invitation finished (cancelled, skipped, not_found,
	// invalid or dry_run), or -h/--help.
	exitOK = 0
	// exitFailed: an invitation failed (run again to retry it), the run
	// was refused (the blast-radius guard, a listing that failed: nothing
	// was cancelled), or a runtime error; for invoke, the handler answered
	// with an error or an SQS record to redeliver.
	exitFailed = 1
	// exitUsage: bad usage or configuration (a flag, a variable, no
	// credentials, an event file); found before any API call.
	exitUsage = 2
	// exitInterrupted: SIGINT or SIGTERM left invitations unfinished,
	// reported failed with error code Canceled.
	exitInterrupted = 130
)

// parse parses args into fs. -h or --help prints the usage on stdout and
// ends the command with exitOK; a bad flag prints the error and the usage on
// stderr, exitUsage. Afterwards fs writes to stderr.
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = stdout.Write(out.Bytes())
		return &exitError{exitOK, nil}
	case err != nil:
		_, _ = stderr.Write(out.Bytes())
		return &exitError{exitUsage, nil}
	}
	return nil
}

// errorLine is err as the CLI prints it: with one "janitor: " prefix, the
// engine's errors already having theirs.
func errorLine(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "janitor: ") {
		return msg
	}
	return "janitor: " + msg
}

// override is a flag that sets a variable for one run: config.Load checks
// its value by the variable's rule, and an error names the flag.
type override struct {
	flag, env string
	value     string
	set       bool
}

// register defines the flag on fs. An empty value is refused: leaving the
// flag out is how to get the variable's value.
func (o *override) register(fs *flag.FlagSet, usage string) {
	fs.Func(o.flag, usage, func(v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("empty value: give one, or leave -%s out to use %s", o.flag, o.env)
		}
		o.value, o.set = v, true
		return nil
	})
}

// loadConfig loads the configuration from getenv, with the overrides that
// were set in place of their variables. A bad value is an exitUsage error
// naming the variable, or the flag that gave it.
func loadConfig(getenv func(string) string, overrides ...*override) (config.Config, error) {
	get := func(k string) string {
		for _, o := range overrides {
			if o.set && o.env == k {
				return o.value
			}
		}
		return getenv(k)
	}
	cfg, err := config.Load(get)
	if err == nil {
		return cfg, nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for i, e := range errs {
		var se *config.SettingError
		if !errors.As(e, &se) {
			continue
		}
		for _, o := range overrides {
			if o.set && o.env == se.Name {
				named := *se
				named.Name = "-" + o.flag
				errs[i] = &named
			}
		}
	}
	return config.Config{}, &exitError{exitUsage, errors.Join(errs...)}
}

// requireCredentials resolves creds once, before any API call: a CLI with
// no credentials is a configuration error (exitUsage), not an invitation
// failed per call.
func requireCredentials(ctx context.Context, creds resourcemanager.CredentialsProvider) error {
	if _, err := creds.Credentials(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &exitError{exitUsage, fmt.Errorf("no Alibaba Cloud credentials: set %s and %s (and %s for STS), or a profile the credentials-go default chain reads: %w",
			config.EnvAccessKeyID, config.EnvAccessKeySecret, config.EnvSecurityToken, err)}
	}
	return nil
}
