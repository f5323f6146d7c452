package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: what a process started from a terminal
// has as its stderr (slave), and what the terminal reads (master).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("cannot unlock a pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("cannot name a pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("cannot open the pseudo-terminal's slave: %v", err)
	}
	return m, s
}

func TestLogsOnATerminalAreReadableAndColored(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	if !isTerminal(slave) {
		t.Fatal("a pseudo-terminal not taken for a terminal")
	}
	read := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, master) // ends with EIO once the slave is closed
		read <- buf.String()
	}()
	code, _ := cancelWithLogFormat(t, "", slave)
	slave.Close()
	out := <-read
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, `"outcome"`) {
		t.Errorf("JSON on a terminal:\n%s", out)
	}
	for _, want := range []string{"\x1b[32mcancelled", "\x1b[1mh-Pending000000001", "\x1b[33mnot_found", "invocation summary"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}

	master2, slave2 := openPTY(t)
	defer master2.Close()
	t.Setenv("NO_COLOR", "1")
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, master2)
		read <- buf.String()
	}()
	_, getenv := emulatorEnv(t, pending("h-Pending000000002", 1))
	noColor := func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return getenv(k)
	}
	run(t.Context(), []string{"cancel", "h-Pending000000002"}, io.Discard, slave2, noColor)
	slave2.Close()
	if out := <-read; strings.Contains(out, "\x1b[") || !strings.Contains(out, "cancelled h-Pending000000002") {
		t.Errorf("NO_COLOR: want readable lines without color codes:\n%q", out)
	}
}
