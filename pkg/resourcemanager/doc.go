// Package resourcemanager is handshake-janitor's one client of the Alibaba
// Cloud Resource Manager API (version 2020-03-31, RPC style).
//
// It signs requests itself with ACS3-HMAC-SHA256 (checked byte for byte
// against the official OpenAPI client in tests, which production code never
// links), calls CancelHandshake and ListHandshakesForResourceDirectory (the
// only actions production needs, see Actions) over one reused net/http
// client, and classifies errors. Its calls go through one pacing.Pacer:
// the client says what an answer was (a throttle, worth retrying, final),
// and the Pacer keeps to the client-side rate limit, retries with backoff
// and keeps to the deadline.Budget of the call's context, whose API
// timeout bounds every attempt.
//
// No secret or token ever appears in an error string: Credentials redact
// themselves when printed, and API error messages are scrubbed of the
// credentials that signed the request.
package resourcemanager
