// Package janitor is handshake-janitor's engine: it turns a Job (the
// invitations a trigger named, or a sweep policy) into a Report with exactly
// one Result per distinct invitation, cancelling through the Resource Manager
// API with bounded concurrency, within the invocation's deadline, and logging
// every Result. It knows nothing of the platform it runs on: adapters decode
// events into a Job and turn the Report into the platform's response.
//
// # Outcomes
//
// Every distinct ID of a Job gets one of the outcomes of handshake.Outcomes:
// cancelled (Status from the response), skipped (409
// HandshakeStatusMismatch: already final, so a redelivered message is
// harmless), not_found (404), invalid (fails handshake.ParseID, or the
// service rejects the ID; no call is made for the former), dry_run, and
// failed (retries exhausted, a non-retryable error, or the deadline), with
// the API's code in ErrorCode. IDs are deduplicated as written: one call per
// distinct string, its Result shared by every record naming it.
//
// # Selection
//
// A sweep selects every Pending invitation in its scope (Sweep.TargetType,
// Sweep.TargetEntity) that is stale (created before now minus OlderThan) or
// whose target the target policy (Sweep.AllowedTargets, else
// Engine.AllowedTargets) does not allow, whatever its age. Every Result
// says why: ReasonStale, ReasonTargetNotAllowed (also when stale), or
// ReasonNamed for the invitations a Job's Items name, which are cancelled
// whatever the policy. The target goes with the Result, an e-mail address
// redacted unless Engine.LogTargets. The blast-radius guard counts all
// that a sweep selects.
//
// # Decisions
//
//   - A sweep whose listing fails part-way cancels nothing and Run returns an
//     error wrapping ErrListing: acting on part of the directory would make
//     the outcome depend on where the failure fell, while a retried sweep is
//     idempotent.
//   - A real sweep selecting more than MaxCancellations cancels nothing and
//     Run returns a *GuardError. The selected invitations are listed as
//     dry_run with ErrorCode MaxCancellationsExceeded (they were not
//     attempted, so not failed), and the Report carries a warning. A dry run
//     is never refused; it warns that a real run would be.
//   - MaxCancellations 0 (the zero Engine's too) allows no real
//     cancellation: a real Job naming a valid invitation is refused the
//     same way, and its records go back to their queue.
//   - A listed record that cannot be read (a *handshake.RecordError) is
//     named in a warning and left alone; the rest are swept.
//   - A Job with a record not known to be on its first delivery
//     (Item.Deliveries) and more than ListingPage invitations to cancel
//     first lists the directory and skips, without a call, the ones it
//     shows final.
//   - "Older than" is strict: an invitation exactly OlderThan old is kept.
//     Age counts from Engine.Now, never from a trigger's timestamp.
//   - A skipped (by a 409) or not_found Result carries no Status: the 409 does not say
//     which final status the invitation has, and a listed Pending is stale.
//   - Time is spent as the invocation's deadline.Budget says (pkg/deadline
//     states the rules): no call starts too close to the deadline, calls in
//     flight are cut off before it, and Run returns before it even if a call
//     ignores its context. Whatever is not finished is failed with ErrorCode
//     DeadlineExceeded (Canceled when the context was cancelled), so the
//     platform redelivers it; every answer that arrived before the stop is
//     recorded as it is.
//   - A record that names no invitation and decoded fine is not redelivered;
//     it is logged as a warning.
//   - An invalid input is shown in its Result cut to 64 bytes.
package janitor
