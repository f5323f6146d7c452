// Package emulator is the directory-neutral machinery shared by the local
// directory API emulators (pkg/rmemu, pkg/orgemu): serving on loopback only,
// and the call log with its counters. It knows no API's words: each emulator
// names its own actions, error codes and wire formats and passes them in.
package emulator
