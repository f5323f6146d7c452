// Package resourcemanager is handshake-janitor's one client of the Alibaba
// Cloud Resource Manager API (version 2020-03-31, RPC style).
//
// It signs requests itself with ACS3-HMAC-SHA256 (checked byte for byte
// against the official OpenAPI client in tests, which production code never
// links), calls CancelHandshake and ListHandshakesForResourceDirectory (the
// only actions production needs, see Actions) over one reused net/http
// client, classifies errors, retries what is worth retrying with
// exponential backoff and full jitter, stops before a context deadline, and
// keeps to a client-side rate limit that backs off when the service
// throttles.
//
// No secret or token ever appears in an error string: Credentials redact
// themselves when printed, and API error messages are scrubbed of the
// credentials that signed the request.
package resourcemanager
