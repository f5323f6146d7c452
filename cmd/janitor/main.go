// Command janitor is handshake-janitor for operators: it cancels stale
// Resource Directory invitations from a terminal (sweep, cancel), runs the
// function's handler on an event file (invoke), serves the Resource Manager
// emulator (emulator), and shows the whole product end to end with no cloud
// account (demo, which `make run` calls).
//
// Configuration comes from the same environment variables as the function
// (config.Variables lists them). Logs go to stderr: readable on a terminal, JSON lines as
// the functions write them when piped or with -log-format json. Results go
// to stdout.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"

	"github.com/handshake-janitor/handshake-janitor/internal/version"
)

const usage = `usage: janitor <command> [flags]

commands:
  sweep     cancel the stale Pending invitations of the resource directory
  cancel    cancel the invitations named on the command line
  invoke    run the function's handler on an event file, in this process
  emulator  serve the Resource Manager emulator on 127.0.0.1
  demo      run every sample event against an in-process emulator (make run)
  version   print the version of this build (also: janitor --version)

Run 'janitor <command> -h' for a command's flags.
`

// exitError carries a process exit code through the commands.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	// The first SIGINT or SIGTERM cancels ctx: the engine starts no new
	// cancellation and lets the calls in flight finish; the second stops
	// them now (interrupt.go).
	ctx, stop := interruptContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code (see exitCodes).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "sweep":
		err = cmdSweep(ctx, args[1:], stdout, stderr, getenv)
	case "cancel":
		err = cmdCancel(ctx, args[1:], stdout, stderr, getenv)
	case "invoke":
		err = cmdInvoke(ctx, args[1:], stdout, stderr, getenv)
	case "emulator":
		err = cmdEmulator(ctx, args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr, getenv)
	case "version", "-version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "janitor: %s takes no arguments, got %q\n", args[0], args[1:])
			return exitUsage
		}
		fmt.Fprintf(stdout, "janitor %s (%s %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "janitor: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ee *exitError
	if errors.As(err, &ee) {
		code, err = ee.code, ee.err
	}
	if err != nil {
		fmt.Fprintln(stderr, errorLine(err))
	}
	return code
}
