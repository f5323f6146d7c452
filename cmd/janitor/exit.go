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
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
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

// requireCredentials resolves the credentials-go default chain once, before any API call: a CLI with
// no credentials is a configuration error (exitUsage), not an invitation
// failed per call.
// Only Resource Directory's client reads that chain: with DIRECTORY
// aws-organizations (getenv's) there is nothing to check here.
func requireCredentials(ctx context.Context, getenv func(string) string) error {
	if d := getenv(config.EnvDirectory); d != "" && d != directory.ResourceDirectory.Name {
		return nil
	}
	creds, err := resourcemanager.DefaultCredentials()
	if err != nil {
		return err
	}
	if _, err := creds.Credentials(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &exitError{exitUsage, fmt.Errorf("no Alibaba Cloud credentials: set %s and %s (and %s for STS), or a profile the credentials-go default chain reads: %w",
			config.EnvAccessKeyID, config.EnvAccessKeySecret, config.EnvSecurityToken, err)}
	}
	return nil
}
