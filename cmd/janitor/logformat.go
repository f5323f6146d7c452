package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
)

// Values of -log-format.
const (
	logAuto    = "auto"    // readable on a terminal, JSON lines otherwise
	logConsole = "console" // readable, colored on a terminal
	logJSON    = "json"    // JSON lines, as the functions write them
)

// logFormat is the -log-format flag every command that logs takes.
type logFormat struct{ value string }

func (f *logFormat) register(fs *flag.FlagSet) {
	f.value = logAuto
	fs.StringVar(&f.value, "log-format", logAuto,
		"log lines: auto (readable on a terminal, JSON lines when piped), console or json")
}

func (f *logFormat) check() error {
	switch f.value {
	case logAuto, logConsole, logJSON:
		return nil
	}
	return &exitError{exitUsage, fmt.Errorf("-log-format %q: want auto, console or json", f.value)}
}

// logger returns the logger writing to w in the chosen format. auto means
// console when w is a terminal. Colors only on a terminal, and never when
// NO_COLOR is set (https://no-color.org).
func (f *logFormat) logger(w io.Writer, level zerolog.Level, getenv func(string) string) zerolog.Logger {
	tty := isTerminal(w)
	if f.value == logJSON || f.value == logAuto && !tty {
		return logging.New(w, level)
	}
	return logging.NewConsole(w, level, tty && (getenv == nil || getenv("NO_COLOR") == ""))
}

// isTerminal reports whether w is a terminal. It asks the terminal driver
// (isatty), not the file mode: /dev/null is a character device too.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}
