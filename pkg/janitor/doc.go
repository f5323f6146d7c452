// Package janitor is handshake-janitor's engine: it turns a Job (the
// invitations a trigger named, or a sweep policy) into a Report with exactly
// one Result per distinct invitation, cancelling through a directory of
// invitations (directory.Directory: Resource Directory or AWS
// Organizations) with bounded concurrency, within the invocation's
// deadline, and logging every Result. It knows nothing of the platform it
// runs on, nor of a directory's API words: adapters decode events into a
// Job and turn the Report into the platform's response, and the directory
// classifies its answers into directory.Verdicts.
//
// # Outcomes
//
// Every distinct ID of a Job gets one of the outcomes of handshake.Outcomes:
// cancelled (Status from the response), skipped (the directory says it is
// already finished, so a redelivered message is harmless; or a checked
// invitation left open), not_found, invalid (fails the directory's ParseID,
// or the service rejects the ID; no call is made for the former), dry_run,
// and failed (retries exhausted, a non-retryable error, or the deadline),
// with the directory's code in ErrorCode. IDs are deduplicated as written: one call per
// distinct string, its Result shared by every record naming it.
//
// # Selection
//
// A sweep selects every open invitation in its scope (Sweep.TargetType,
// Sweep.TargetEntity) that is stale (created before now minus OlderThan) or
// whose target the target policy (Sweep.AllowedTargets, else
// Engine.AllowedTargets) does not allow, whatever its age. Every Result
// says why: ReasonStale, ReasonTargetNotAllowed (also when stale), or
// ReasonNamed for the invitations a Job's Items name, which are cancelled
// whatever the policy. The target goes with the Result, an e-mail address
// redacted unless Engine.LogTargets. The blast-radius guard counts all
// that a sweep selects.
//
// # Checks
//
// A Job with Check (an AWS Organizations invite event) names invitations to
// check against the target policy (Engine.AllowedTargets) at once. With no
// policy each is skipped with ReasonNoPolicy and no call is made. Otherwise
// its current record is read (directory.Describer): the record, not the
// event, decides, since the invitation may have been accepted, declined or
// cancelled since, and then cancelling costs nothing. Open and not allowed:
// cancelled (dry_run in a dry run), reason target_not_allowed. Allowed:
// skipped, reason allowed. Finished: skipped, reason finished, or
// target_not_allowed when its target is not allowed (an invitation that
// should not have been sent, already accepted, say: Status tells). A record
// that cannot be read gives not_found, invalid or failed, reason checked.
// A Result's Attempts count the requests of both calls (the read, then the
// cancel), its APIRequestID is the last call's. A directory that cannot
// read records refuses a checking Job; the guard (MaxCancellations) holds
// as for named invitations.
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
//   - A skipped or not_found Result carries no Status unless the answer
//     gave one: "already finished" does not say which way, and a status a
//     sweep listed is stale.
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
