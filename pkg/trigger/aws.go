package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

const acceptedAWS = `an SQS event ("Records"), an EventBridge "Scheduled Event" or AWS Organizations invite event ("detail-type"), a Scheduler Input marked "scheduler", or a payload with no envelope`

// sqsRecord is the part of an SQS record the decoder reads.
type sqsRecord struct {
	MessageID   string  `json:"messageId"`
	EventSource string  `json:"eventSource"`
	Body        *string `json:"body"`
	Attributes  struct {
		ApproximateReceiveCount string `json:"ApproximateReceiveCount"`
	} `json:"attributes"`
}

// deliveries is the record's ApproximateReceiveCount, or 0 when it is
// missing or not a positive number.
func (r sqsRecord) deliveries() int {
	n, err := strconv.Atoi(r.Attributes.ApproximateReceiveCount)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// AWS decodes a Lambda event for a function serving the default directory
// (directory.Default): AWSFor(event, directory.Default()).
func AWS(event []byte) (Decoded, error) { return AWSFor(event, directory.Default()) }

// AWSFor decodes a Lambda event for a function serving directory k: an SQS
// batch, an EventBridge Scheduled Event, an AWS Organizations invite event,
// or a direct payload (a Scheduler target's Input, the console's test
// event). See the package comment for how the shape is recognised. k
// validates the target patterns a sweep payload gives.
func AWSFor(event []byte, k directory.Kind) (Decoded, error) {
	t, err := checkEvent(event)
	if err != nil {
		return Decoded{}, err
	}
	if len(t) == 0 || t[0] != '{' {
		if len(t) > 0 && t[0] == '[' {
			return Decoded{}, fmt.Errorf("%w: a JSON array %s is not a Lambda event this function reads: want %s",
				ErrUnsupportedEvent, handshake.Quote(string(t), quoteMax), acceptedAWS)
		}
		return direct(t, k)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(t, &top); err != nil {
		return Decoded{}, fmt.Errorf("%w: the event starts like a JSON object but is not one (%s): want %s",
			ErrUnsupportedEvent, jsonError(err), acceptedAWS)
	}
	if raw, ok := top["Records"]; ok {
		if err := envelopeDuplicateKeys(t, "Records["); err != nil {
			return Decoded{Trigger: SQS}, err
		}
		d, err := awsSQS(raw, k)
		d.Trigger = SQS
		return d, err
	}
	if raw, ok := top[schedulerField]; ok {
		if err := envelopeDuplicateKeys(t, ""); err != nil {
			return Decoded{Trigger: Schedule}, err
		}
		d, err := awsScheduler(t, raw, k)
		d.Trigger = Schedule
		return d, err
	}
	if _, ok := top["detail-type"]; ok {
		if err := checkUTF8("the event", t); err != nil {
			return Decoded{Trigger: ScheduledEvent}, err
		}
		trig := ScheduledEvent
		if isInviteEvent(top) {
			trig = InviteEvent
		}
		if err := envelopeDuplicateKeys(t, ""); err != nil {
			return Decoded{Trigger: trig}, err
		}
		if trig == InviteEvent {
			d, err := inviteEvent(top)
			d.Trigger = InviteEvent
			return d, err
		}
		d, err := awsScheduled(top, k)
		d.Trigger = ScheduledEvent
		return d, err
	}
	d, err := direct(t, k)
	if err != nil {
		err = fmt.Errorf(`the event is not an SQS event ("Records") or an EventBridge event ("detail-type"), so it was read as a direct payload: %w`, err)
	}
	return d, err
}

// awsSQS decodes the Records of an SQS event.
func awsSQS(raw json.RawMessage, k directory.Kind) (Decoded, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		return Decoded{}, fmt.Errorf(`%w: "Records" is %s, want an array of SQS records`, ErrUnsupportedEvent, handshake.Quote(string(raw), quoteMax))
	}
	if len(raws) == 0 {
		return Decoded{}, fmt.Errorf(`%w: "Records" is empty: want at least one SQS record`, ErrUnsupportedEvent)
	}
	recs := make([]sqsRecord, len(raws))
	recErr := make([]error, len(raws))
	fromSQS := false
	for i, r := range raws {
		if err := checkUTF8("the record", r); err != nil {
			recErr[i] = err
			// Its messageId, if it can be read, still names it.
			_ = json.Unmarshal(r, &recs[i])
		} else if err := json.Unmarshal(r, &recs[i]); err != nil {
			recErr[i] = fmt.Errorf("%w: the record is not an SQS record (%s)", ErrUnsupportedEvent, jsonError(err))
		} else if err := checkDuplicateKeys(r); err != nil {
			recErr[i] = fmt.Errorf("%w: in the record, %w", ErrInvalidPayload, err)
		}
		if recs[i].EventSource == "aws:sqs" {
			fromSQS = true
		}
	}
	if !fromSQS {
		seen := ""
		for i := range recs {
			if recs[i].EventSource != "" {
				seen = recs[i].EventSource
				break
			}
		}
		if seen == "" {
			return Decoded{}, fmt.Errorf(`%w: the records have no "eventSource": want SQS records ("eventSource":"aws:sqs")`, ErrUnsupportedEvent)
		}
		return Decoded{}, fmt.Errorf(`%w: the records come from event source %s: want "aws:sqs" (an SQS queue)`, ErrUnsupportedEvent, handshake.Quote(seen, quoteMax))
	}
	b := batch{k: k}
	for i, rec := range recs {
		key := rec.MessageID
		if key == "" {
			// Lambda treats an unknown itemIdentifier as a failure of the
			// whole batch, which is right for a record it cannot name.
			key = fmt.Sprintf("Records[%d]", i)
			if recErr[i] == nil {
				recErr[i] = fmt.Errorf(`%w: the record has no "messageId"`, ErrUnsupportedEvent)
			}
		}
		switch {
		case recErr[i] != nil:
			b.fail(key, recErr[i])
		case rec.EventSource != "aws:sqs":
			b.fail(key, fmt.Errorf(`%w: the record comes from event source %s: want "aws:sqs"`, ErrUnsupportedEvent, handshake.Quote(rec.EventSource, quoteMax)))
		case rec.Body == nil:
			b.fail(key, fmt.Errorf(`%w: the record has no "body"`, ErrInvalidPayload))
		default:
			b.record(key, []byte(*rec.Body), nil)
			b.items[len(b.items)-1].Deliveries = rec.deliveries()
		}
	}
	return Decoded{Job: b.job()}, nil
}

// awsScheduled decodes an EventBridge event, of which only a Scheduled
// Event is accepted. Its detail, when not empty, is a payload.
func awsScheduled(top map[string]json.RawMessage, k directory.Kind) (Decoded, error) {
	var dt string
	if err := json.Unmarshal(top["detail-type"], &dt); err != nil {
		dt = string(top["detail-type"])
	}
	if dt != "Scheduled Event" {
		return Decoded{}, fmt.Errorf(`%w: an EventBridge event with detail-type %s: want "Scheduled Event" (a schedule rule), or a Scheduler target's Input with no envelope`,
			ErrUnsupportedEvent, handshake.Quote(dt, quoteMax))
	}
	key := ScheduledEvent
	if raw, ok := top["id"]; ok {
		var id string
		if json.Unmarshal(raw, &id) == nil && id != "" {
			key = id
		}
	}
	var p payload
	raw := trim(top["detail"])
	switch {
	case len(raw) == 0 || isNull(raw):
		// no detail: a sweep
	case raw[0] == '{':
		var err error
		if p, err = parsePayload(raw, k); err != nil {
			return Decoded{}, fmt.Errorf(`the Scheduled Event's "detail": %w`, err)
		}
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Decoded{}, fmt.Errorf(`%w: "detail" is not a valid JSON string (%s)`, ErrInvalidPayload, jsonError(err))
		}
		var err error
		if p, err = parsePayload([]byte(s), k); err != nil {
			return Decoded{}, fmt.Errorf(`the Scheduled Event's "detail": %w`, err)
		}
	default:
		return Decoded{}, fmt.Errorf(`%w: "detail" is %s: want an object (a payload), or {} for a sweep`, ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
	}
	return Decoded{Job: p.job(key)}, nil
}

// schedulerField marks an EventBridge Scheduler target's Input: the
// template's schedule sends {"scheduler":{...},"sweep":{}}.
const schedulerField = "scheduler"

// schedulerFields are the fields of the "scheduler" member: context
// attributes Scheduler fills in (<aws.scheduler.execution-id>,
// <aws.scheduler.schedule-arn>), both optional.
var schedulerFields = []string{"executionId", "scheduleArn"}

// awsScheduler decodes a Scheduler Input marked by its "scheduler" member:
// the other members are the payload, and the run's executionId, when
// given, keys its Item.
func awsScheduler(event []byte, raw json.RawMessage, k directory.Kind) (Decoded, error) {
	if err := checkUTF8("the event", event); err != nil {
		return Decoded{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Decoded{}, fmt.Errorf(`%w: "scheduler" is %s: want an object such as {"executionId":"<aws.scheduler.execution-id>"}`,
			ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
	}
	if err := unknownFields(m, schedulerFields, `"scheduler"`); err != nil {
		return Decoded{}, err
	}
	key := Schedule
	for _, f := range schedulerFields {
		var v string
		if r, ok := m[f]; ok && json.Unmarshal(r, &v) != nil {
			return Decoded{}, fmt.Errorf(`%w: "scheduler".%s is %s: want a string`, ErrInvalidPayload, f, handshake.Quote(string(r), quoteMax))
		}
		if f == "executionId" && v != "" {
			key = v
		}
	}
	rest, err := withoutMember(event, schedulerField)
	if err != nil {
		return Decoded{}, fmt.Errorf("%w: the Scheduler Input (%s); %s", ErrInvalidPayload, err, acceptedPayload)
	}
	p, err := parsePayload(rest, k)
	if err != nil {
		return Decoded{}, fmt.Errorf("the Scheduler Input: %w", err)
	}
	return Decoded{Job: p.job(key)}, nil
}

// withoutMember returns the JSON object obj without its member name, the
// other members as they were written, in order (a member named twice stays
// twice, for the payload's own check). A second name is an error.
func withoutMember(obj []byte, name string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := []byte{'{'}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string) // inside an object, the decoder yields keys as strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("member %s: %s", handshake.Quote(key, quoteMax), jsonError(err))
		}
		if key == name {
			if seen {
				return nil, fmt.Errorf("member %q appears twice", name)
			}
			seen = true
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(key)
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}'), nil
}

// envelopeDuplicateKeys applies checkDuplicateKeys to an event envelope t.
// A duplicate under recordsAt (such as "Records[", the records of a batch),
// when not empty, is left to that record's own check, so that only the
// record is refused.
func envelopeDuplicateKeys(t []byte, recordsAt string) error {
	err := checkDuplicateKeys(t)
	if dup, ok := errors.AsType[*DuplicateKeyError](err); ok {
		if recordsAt != "" && strings.HasPrefix(dup.Path, recordsAt) {
			return nil
		}
		return fmt.Errorf("%w: in the event, %w", ErrInvalidPayload, err)
	}
	return nil
}

// direct decodes a payload with no envelope.
func direct(t []byte, k directory.Kind) (Decoded, error) {
	p, err := parsePayload(t, k)
	if err != nil {
		return Decoded{Trigger: Direct}, err
	}
	return Decoded{Trigger: Direct, Job: p.job(Direct)}, nil
}

// checkEvent applies the size limit every event is held to and returns it
// trimmed.
func checkEvent(event []byte) ([]byte, error) {
	if len(event) > MaxEventBytes {
		return nil, fmt.Errorf("%w: the event is %d bytes, over the limit of %d (32 MiB)", ErrTooLarge, len(event), MaxEventBytes)
	}
	return trim(event), nil
}

// checkUTF8 refuses an envelope that is not valid UTF-8. The JSON decoder
// would read a bad byte in a string as U+FFFD and carry on; the sender
// should hear about it instead. A batch is checked record by record, so
// that one bad record spoils only itself.
func checkUTF8(what string, b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: %s is not valid UTF-8 (bad byte at offset %d)", ErrInvalidPayload, what, badUTF8(b))
	}
	return nil
}
