// Package reliability holds handshake-janitor's end-to-end reliability and
// security tests; it has no code of its own. Each test runs the real engine,
// handlers and API client over HTTP on 127.0.0.1 against the emulator
// (pkg/rmemu) with faults injected, and asserts the engine's guarantees
// (pkg/janitor's package comment, deadline.Budget):
//
//   - chaos_test.go: a 2,000-invitation run through throttling, 5xx answers,
//     connections dropped after the cancel was applied, and latency: every
//     input gets exactly one Result, nothing Pending is left without a failed
//     Result, and a second run cancels nothing new;
//   - redelivery_test.go: an SQS queue simulated around the AWS handler,
//     redelivering batchItemFailures up to maxReceiveCount while faults
//     clear: nothing is lost, nothing is cancelled twice;
//   - hostile_test.go: oversized, deeply nested, non-UTF-8, non-base64 and
//     injection payloads through the AWS and FC handlers: a clear error or
//     invalid, no panic, and no API request carrying anything but a
//     validated ID;
//   - credentials_test.go: every sample event with known secret and token
//     values, which must appear in no log line, error or response; plain
//     http only to loopback hosts; TLS verification never disabled.
//
// The CLI's shutdown on SIGINT and SIGTERM is tested in
// cmd/janitor/shutdown_test.go, and the fuzz targets live beside the
// parsers they fuzz.
package reliability
