package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/startup"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// cmdInvoke runs the AWS or FC handler in this process on an event file, so
// an operator can see what a payload does before sending it to the queue.
// The handler is built as the function builds it (startup.New).
func cmdInvoke(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("janitor invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	platform := fs.String("platform", "aws", "which function's handler: aws or fc")
	event := fs.String("event", "", "event file, in the shape the platform sends (see events/); - for stdin")
	var lf logFormat
	lf.register(fs)
	if err := fs.Parse(args); err != nil {
		return &exitError{2, nil}
	}
	if err := lf.check(); err != nil {
		return err
	}
	if *event == "" || fs.NArg() > 0 {
		return &exitError{2, fmt.Errorf("usage: janitor invoke -platform aws|fc -event FILE")}
	}
	if *platform != logging.PlatformAWS && *platform != logging.PlatformFC {
		return &exitError{2, fmt.Errorf("-platform %q: want aws or fc", *platform)}
	}
	payload, err := readEvent(*event)
	if err != nil {
		return &exitError{2, err}
	}
	h, err := startup.New(ctx, startup.Options{Platform: *platform, Getenv: getenv, Logger: func(level zerolog.Level) zerolog.Logger {
		return lf.logger(stderr, level, getenv)
	}})
	if err != nil {
		return startupError(err)
	}
	resp, err := invokeHandler(ctx, h, payload)
	if perr := printJSON(stdout, resp, err); perr != nil {
		return perr
	}
	if err != nil {
		return &exitError{1, nil}
	}
	return nil
}

// invokeHandler calls the handler of h's platform the way its SDK would.
func invokeHandler(ctx context.Context, h *handler.Handler, payload []byte) (any, error) {
	inv := handler.Invocation{ID: "local-invoke"}
	if h.Platform == logging.PlatformFC {
		return h.FC(ctx, inv, payload)
	}
	return h.AWS(ctx, inv, payload)
}

// startupError is the exit of a command whose handler could not be built:
// 2 for a refused configuration (a usage error), 1 for anything else.
func startupError(err error) error {
	if _, ok := errors.AsType[*config.SettingError](err); ok {
		return &exitError{2, err}
	}
	return err
}

// printJSON prints what the platform would answer: the response, or the
// error as Lambda and FC shape it.
func printJSON(w io.Writer, resp any, err error) error {
	if err != nil {
		resp = map[string]string{"errorMessage": err.Error(), "errorType": fmt.Sprintf("%T", err)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}

func readEvent(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	}
	return os.ReadFile(name)
}
