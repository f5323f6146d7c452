package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/events"
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
	platform := fs.String("platform", "aws", "which function's handler: aws or fc")
	event := fs.String("event", "", fmt.Sprintf("event file, in the shape the platform sends (see events/), at most %d MiB; - for stdin", maxEventBytes>>20))
	var lf logFormat
	lf.register(fs)
	var dir directoryFlag
	dir.register(fs)
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := lf.check(); err != nil {
		return err
	}
	if *event == "" || fs.NArg() > 0 {
		return &exitError{exitUsage, fmt.Errorf("usage: janitor invoke -platform aws|fc -event FILE")}
	}
	if *platform != logging.PlatformAWS && *platform != logging.PlatformFC {
		return &exitError{exitUsage, fmt.Errorf("-platform %q: want aws or fc", *platform)}
	}
	payload, err := readEvent(*event, os.Stdin)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	getenv = dir.env(getenv)
	h, err := startup.New(ctx, startup.Options{Platform: *platform, Getenv: getenv, Logger: func(level zerolog.Level) zerolog.Logger {
		return lf.logger(stderr, level, getenv)
	}})
	if err != nil {
		return startupError(err)
	}
	if *platform != logging.PlatformAWS || getenv(config.EnvCredentialsSecretID) == "" {
		// The default chain, as the function's: resolved before any call.
		if err := requireCredentials(ctx, getenv); err != nil {
			return err
		}
	}
	resp, err := invokeHandler(ctx, h, payload)
	if perr := printJSON(stdout, resp, err); perr != nil {
		return perr
	}
	redeliver := 0
	if sqs, ok := resp.(*events.SQSEventResponse); ok {
		redeliver = len(sqs.BatchItemFailures)
	}
	switch {
	case ctx.Err() != nil && (err != nil || redeliver > 0):
		return &exitError{exitInterrupted, errors.New("interrupted: what was not finished is reported failed (Canceled): run again to retry it")}
	case err != nil:
		return &exitError{exitFailed, nil} // the answer above says why
	case redeliver > 0:
		return &exitError{exitFailed, fmt.Errorf("%d SQS record(s) to redeliver (batchItemFailures); run again to retry them", redeliver)}
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
		return &exitError{exitUsage, err}
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

// maxEventBytes bounds an event, read from a file or standard input: the
// largest payload either platform delivers is 6 MB (a synchronous Lambda
// invocation).
const maxEventBytes = 16 << 20

// readEvent reads the event file name, or stdin for "-", refusing one over
// maxEventBytes without reading further.
func readEvent(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else {
		name = "standard input"
	}
	b, err := io.ReadAll(io.LimitReader(r, maxEventBytes+1))
	if err != nil {
		return nil, fmt.Errorf("-event %s: %w", name, err)
	}
	if len(b) > maxEventBytes {
		return nil, fmt.Errorf("-event %s: larger than %d MiB: want an event as the platform sends it", name, maxEventBytes>>20)
	}
	return b, nil
}
