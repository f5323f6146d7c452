// Package trigger decodes the events that start handshake-janitor into a
// janitor.Job. Its decoders are pure functions: bytes in, a Job or an error
// out, no I/O, no panic on any input. They know the platforms' event shapes
// but import no platform SDK.
//
// # Payloads
//
// Wherever an event carries a payload (an SQS body, an EventBridge detail, a
// Scheduler Input, an FC timer payload, an MNS message, a direct invocation)
// it is read the same way:
//
//   - a JSON object {"handshakeIds":["h-...",...]} and/or {"handshakeId":"h-..."},
//     optionally with "dryRun":true;
//   - a JSON object {"sweep":{"olderThan":"72h","targetType":"Account","targetEntity":"*@example.com"}},
//     optionally with "dryRun":true, where every sweep field is optional and
//     overrides the configured policy for this run ("olderThan" is read by
//     config.ParseDuration, "targetType" by handshake.ParseTargetType,
//     "targetEntity" by janitor.ParseGlob; "allowedTargets", an array of
//     target patterns, replaces ALLOWED_TARGETS);
//   - plain text: one ID, or IDs separated by commas, spaces or newlines;
//   - a JSON string, whose content is read as plain text or as the JSON
//     object above (a Lambda payload must be JSON, so this is how plain IDs
//     reach a Lambda function directly);
//   - nothing: empty, only blanks, null, {} or {"dryRun":true} — a sweep
//     with the configured policy where a sweep may be asked for (timers,
//     schedules, direct invocations).
//
// JSON objects are strict: an unknown field is an error that names it and
// lists the accepted ones, so a misspelt "handshakeID" is never mistaken for
// an empty request. Everything read as JSON (an envelope, a record, a
// payload) is refused when an object in it, at any depth, holds a key twice
// (checkDuplicateKeys): in a record of a batch only that record is refused.
// IDs pass through as the sender spelled them; the engine
// validates each with handshake.ParseID and reports the bad ones invalid.
//
// A queue or topic record names invitations: a sweep or an empty message
// from a queue is a record error (sweeps come from timers, schedules and
// direct invocations, and a sweep cannot be redelivered per record). Records
// of one batch share one Job: "dryRun":true holds for the batch when every
// record asks for it; a dry-run record batched with real ones is a record
// error, so that it goes back to the queue rather than being cancelled for real.
//
// # Recognising an event
//
// The first non-blank byte decides between a JSON object, a JSON array and
// anything else; then the top-level keys of an object, matched exactly.
// Envelope fields not listed here are ignored (platforms add fields); only
// the payload is strict.
//
// AWS:
//
//   - an object with "Records": an SQS event; every record whose eventSource
//     is "aws:sqs" is one Item keyed by its messageId, its body read as a
//     payload as it is (SQS bodies are text, never base64) (Trigger "sqs");
//     records from no SQS source at all are refused as a whole;
//   - an object with "detail-type": an EventBridge event; "Scheduled
//     Event", whose "detail" (absent, null, {}, "" or "{}" means a sweep)
//     is a payload (Trigger "scheduled-event"), or an AWS Organizations
//     invite event (Trigger "invite-event", below);
//   - an object with "scheduler": an EventBridge Scheduler target's Input,
//     which arrives verbatim with no envelope, marked by that member (an
//     object of optional strings "executionId" and "scheduleArn", which
//     Scheduler fills in from <aws.scheduler.execution-id> and
//     <aws.scheduler.schedule-arn>); the object's other members are the
//     payload (Trigger "schedule"), keyed by executionId when given;
//   - anything else is a direct payload (Trigger "direct"), such as the
//     console's test event, or a Scheduler Input with no "scheduler" mark.
//
// An invite event has "source" "aws.organizations", "detail-type" "AWS API
// Call via CloudTrail", and a detail whose "eventSource" is
// "organizations.amazonaws.com" and "eventName" "InviteAccountToOrganization".
// It makes a Job with Check set: one Item keyed by the event's "id", naming
// the handshake at "detail.responseElements.handshake.id". Only that ID is
// read: the rest of the record (CloudTrail writes its timestamps as "Jan 18,
// 2017 9:41:16 PM") is not, since the engine decides from the handshake's
// current record. An event whose detail has an "errorCode" records a call
// that failed: it names no invitation, and its Job only warns (no call is
// made). Another CloudTrail event of AWS Organizations is refused.
//
// Function Compute:
//
//   - a JSON array: a batch of CloudEvents (an MNS queue trigger in event
//     stream mode); an object with "specversion": one CloudEvent (event
//     mode). Each event of type "mns:Queue:..." is one Item keyed by
//     data.messageId (else the event's id) (Trigger "mns-queue"); events
//     of no MNS queue type at all are refused as a whole;
//   - an object with "triggerTime" and "triggerName": a timer; its "payload"
//     is a payload, empty meaning a sweep (Trigger "fc-timer");
//   - an object with "TopicOwner", or with "MessageId" and "Message": an MNS
//     topic message in JSON format, one Item keyed by MessageId (Trigger
//     "mns-topic");
//   - anything else is a direct payload (Trigger "direct"). An MNS topic
//     trigger in STREAM format delivers the message body alone, so it reads
//     as a direct payload.
//
// A payload with no queue behind it (timer, schedule, direct) makes one
// Item keyed by the triggerName, the Scheduled Event's id, the Scheduler's
// executionId (else "schedule"), or "direct".
//
// An MNS message body (queue or topic, and a direct FC payload, which may be
// a STREAM topic message) is read as the payload itself when it starts like
// JSON or holds any byte outside the standard base64 alphabet, as every
// handshake ID does ('-'), and so do the separators and JSON. Otherwise it is
// decoded as standard base64 (line breaks ignored), which is how MNS carries
// a message unless the trigger decodes it first (IsBase64Decode).
//
// # Limits
//
// An event over MaxEventBytes, a payload over MaxPayloadBytes, or a payload
// naming more than MaxIDs invitations is refused. In a batch the limit on
// IDs holds for the whole event: a record that would take the total over it
// is a record error and goes back to the queue, to be taken by a later
// invocation. Text must be valid UTF-8.
//
// # Errors
//
// An event whose shape is not recognised, or a timer, schedule or direct
// payload that cannot be read, is an error wrapping ErrUnsupportedEvent,
// ErrInvalidPayload, ErrTooLarge or ErrTooManyIDs. A queue or topic record
// that cannot be read becomes janitor.Item{Key: messageId, Err: err}, and the
// other records still decode. Every error quotes what was seen (bounded, with
// handshake.Quote) and says what is accepted.
package trigger

import (
	"errors"

	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// Trigger names, as reported in Decoded.Trigger and the `trigger` log field.
const (
	SQS            = "sqs"             // AWS: an SQS batch
	ScheduledEvent = "scheduled-event" // AWS: an EventBridge (CloudWatch Events) "Scheduled Event" envelope
	Schedule       = "schedule"        // AWS: an EventBridge Scheduler Input marked with "scheduler"
	Direct         = "direct"          // a payload with no envelope: direct invocation, unmarked Scheduler Input, MNS topic STREAM body
	FCTimer        = "fc-timer"        // FC: a timer trigger
	MNSQueue       = "mns-queue"       // FC: an MNS queue trigger (one CloudEvent or a batch)
	MNSTopic       = "mns-topic"       // FC: an MNS topic trigger in JSON format
	InviteEvent    = "invite-event"    // AWS: a CloudTrail InviteAccountToOrganization event through EventBridge
)

// Limits on what one event may carry.
const (
	// MaxPayloadBytes bounds one payload: a record's body, a timer's
	// payload, an EventBridge detail, a direct invocation. It is SQS's own
	// largest message.
	MaxPayloadBytes = 256 << 10
	// MaxIDs bounds the invitations one event may name, all records
	// together.
	MaxIDs = 1000
	// MaxEventBytes bounds a whole event (a batch of records). It is
	// Function Compute's largest synchronous request; Lambda's is smaller.
	MaxEventBytes = 32 << 20
)

// Errors wrapped by the decoders, for errors.Is.
var (
	// ErrUnsupportedEvent: the event is not one of the shapes this package
	// reads (an S3 event, an EventBridge event that is not a schedule...).
	ErrUnsupportedEvent = errors.New("unsupported event")
	// ErrInvalidPayload: the payload does not follow the payload grammar.
	ErrInvalidPayload = errors.New("invalid payload")
	// ErrTooLarge: the event or a payload is over its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrTooManyIDs: the payload, or the event, names more than MaxIDs
	// invitations.
	ErrTooManyIDs = errors.New("too many invitations")
)

// Decoded is a decoded event: the trigger it came from and the Job it asks
// for. Trigger is set whenever the event's shape was recognised, even when
// the decoder also returns an error, so the caller can log it.
type Decoded struct {
	Trigger string
	Job     janitor.Job
}

// quoteMax bounds how much of a hostile value an error quotes.
const quoteMax = 64
