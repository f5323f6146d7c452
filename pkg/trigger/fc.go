package trigger

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

const acceptedFC = `an FC timer event ("triggerTime", "triggerName", "payload"), an MNS queue CloudEvent or an array of them ("specversion"), ` +
	`an MNS topic message in JSON format ("TopicOwner", "MessageId", "Message"), or a payload with no envelope`

// mnsQueueType is the CloudEvent type prefix of MNS queue messages
// ("mns:Queue:SendMessage").
const mnsQueueType = "mns:Queue:"

// cloudEvent is the part of an MNS queue CloudEvent the decoder reads.
type cloudEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// mnsQueueData is a CloudEvent's data for an MNS queue message.
type mnsQueueData struct {
	MessageID   string          `json:"messageId"`
	MessageBody json.RawMessage `json:"messageBody"`
}

// FC decodes a Function Compute event: a timer, an MNS queue CloudEvent or a
// batch of them, an MNS topic message (JSON format, or its body alone in
// STREAM format), or a direct payload. See the package comment for how the
// shape is recognised.
// fcDirectory is the directory of every Function Compute event: FC serves
// Alibaba Cloud Resource Directory only.
var fcDirectory = directory.ResourceDirectory

func FC(event []byte) (Decoded, error) {
	t, err := checkEvent(event)
	if err != nil {
		return Decoded{}, err
	}
	if len(t) == 0 {
		return direct(t, fcDirectory)
	}
	switch t[0] {
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(t, &raws); err != nil {
			return Decoded{}, fmt.Errorf("%w: the event starts like a JSON array but is not one (%s): want %s", ErrUnsupportedEvent, jsonError(err), acceptedFC)
		}
		if len(raws) == 0 {
			return Decoded{}, fmt.Errorf("%w: the event is an empty JSON array: want %s", ErrUnsupportedEvent, acceptedFC)
		}
		d, err := mnsQueue(raws)
		d.Trigger = MNSQueue
		return d, err
	case '{':
	default:
		// Text: a direct payload, or an MNS topic message in STREAM
		// format, which may be base64.
		body, err := messageBody(t)
		if err != nil {
			return Decoded{Trigger: Direct}, err
		}
		return direct(body, fcDirectory)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(t, &top); err != nil {
		return Decoded{}, fmt.Errorf("%w: the event starts like a JSON object but is not one (%s): want %s", ErrUnsupportedEvent, jsonError(err), acceptedFC)
	}
	if _, ok := top["specversion"]; ok {
		// One CloudEvent is one record: mnsQueue checks it for duplicate
		// keys as it checks each of a batch.
		d, err := mnsQueue([]json.RawMessage{t})
		d.Trigger = MNSQueue
		return d, err
	}
	_, timeOK := top["triggerTime"]
	_, nameOK := top["triggerName"]
	if timeOK && nameOK {
		if err := envelopeDuplicateKeys(t, ""); err != nil {
			return Decoded{Trigger: FCTimer}, err
		}
		d, err := fcTimerEvent(top, t)
		d.Trigger = FCTimer
		return d, err
	}
	_, owner := top["TopicOwner"]
	_, msgID := top["MessageId"]
	_, msg := top["Message"]
	if owner || msgID && msg {
		if err := envelopeDuplicateKeys(t, ""); err != nil {
			return Decoded{Trigger: MNSTopic}, err
		}
		d, err := mnsTopicEvent(top, t)
		d.Trigger = MNSTopic
		return d, err
	}
	d, err := direct(t, fcDirectory)
	if err != nil {
		err = fmt.Errorf(`the event is not a timer ("triggerTime", "triggerName"), an MNS queue CloudEvent ("specversion") or an MNS topic message ("TopicOwner", "MessageId", "Message"), so it was read as a direct payload: %w`, err)
	}
	return d, err
}

// mnsQueue decodes MNS queue CloudEvents, one Item each.
func mnsQueue(raws []json.RawMessage) (Decoded, error) {
	evs := make([]cloudEvent, len(raws))
	evErr := make([]error, len(raws))
	fromMNS := false
	for i, r := range raws {
		if err := checkUTF8("the CloudEvent", r); err != nil {
			evErr[i] = err
			_ = json.Unmarshal(r, &evs[i]) // for its id, if it can be read
		} else if err := json.Unmarshal(r, &evs[i]); err != nil {
			evErr[i] = fmt.Errorf("%w: the element is not a CloudEvent (%s)", ErrUnsupportedEvent, jsonError(err))
		} else if err := checkDuplicateKeys(r); err != nil {
			evErr[i] = fmt.Errorf("%w: in the CloudEvent, %w", ErrInvalidPayload, err)
		}
		if strings.HasPrefix(evs[i].Type, mnsQueueType) {
			fromMNS = true
		}
	}
	if !fromMNS {
		return Decoded{}, fmt.Errorf(`%w: CloudEvents of type %s: want "mns:Queue:SendMessage" (an MNS queue trigger)`, ErrUnsupportedEvent, handshake.Quote(evs[0].Type, quoteMax))
	}
	b := batch{k: fcDirectory}
	for i, ev := range evs {
		var data mnsQueueData
		dataErr := error(nil)
		if d := trim(ev.Data); len(d) == 0 || d[0] != '{' || json.Unmarshal(d, &data) != nil {
			dataErr = fmt.Errorf(`%w: the CloudEvent's "data" is %s: want an object with "messageId" and "messageBody"`, ErrInvalidPayload, handshake.Quote(string(ev.Data), quoteMax))
		}
		key := data.MessageID
		if key == "" {
			key = ev.ID
		}
		if key == "" {
			key = fmt.Sprintf("[%d]", i)
		}
		switch {
		case evErr[i] != nil:
			b.fail(key, evErr[i])
		case !strings.HasPrefix(ev.Type, mnsQueueType):
			b.fail(key, fmt.Errorf(`%w: a CloudEvent of type %s: want "mns:Queue:SendMessage"`, ErrUnsupportedEvent, handshake.Quote(ev.Type, quoteMax)))
		case dataErr != nil:
			b.fail(key, dataErr)
		default:
			body, err := bodyOf(data.MessageBody, `"data.messageBody"`)
			b.record(key, body, err)
		}
	}
	return Decoded{Job: b.job()}, nil
}

// bodyOf returns the payload of an MNS message body: a JSON string (read by
// messageBody's rule), or an object, as a trigger that decodes the message
// may deliver it.
func bodyOf(raw json.RawMessage, field string) ([]byte, error) {
	t := trim(raw)
	switch {
	case len(t) == 0 || isNull(t):
		return nil, fmt.Errorf("%w: the message has no %s", ErrInvalidPayload, field)
	case t[0] == '{':
		return t, nil
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, fmt.Errorf("%w: %s is not a valid JSON string (%s)", ErrInvalidPayload, field, jsonError(err))
		}
		return messageBody([]byte(s))
	}
	return nil, fmt.Errorf("%w: %s is %s: want a string (the message, plain or base64) or a JSON object", ErrInvalidPayload, field, handshake.Quote(string(t), quoteMax))
}

// fcTimerEvent decodes a timer event, whose fields are top; its payload,
// when not empty, is a payload.
func fcTimerEvent(top map[string]json.RawMessage, t []byte) (Decoded, error) {
	if err := checkUTF8("the timer event", t); err != nil {
		return Decoded{}, err
	}
	var name string
	if err := json.Unmarshal(top["triggerName"], &name); err != nil {
		return Decoded{}, fmt.Errorf(`%w: the timer's "triggerName" is %s, want a string`, ErrUnsupportedEvent, handshake.Quote(string(top["triggerName"]), quoteMax))
	}
	key := name
	if key == "" {
		key = FCTimer
	}
	var p payload
	raw := trim(top["payload"])
	switch {
	case len(raw) == 0 || isNull(raw):
	case raw[0] == '"' || raw[0] == '{':
		// A string, as FC sends it; an object, as a hand-written test
		// event may have it.
		body := []byte(raw)
		if raw[0] == '"' {
			if len(raw) > 6*MaxPayloadBytes+2 {
				// Over the limit however it is escaped: not worth unquoting.
				return Decoded{}, fmt.Errorf(`the timer's "payload": %w: the payload is at least %d bytes (%d as a JSON string), over the limit of %d (256 KiB)`,
					ErrTooLarge, len(raw)/6, len(raw), MaxPayloadBytes)
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return Decoded{}, fmt.Errorf(`%w: the timer's "payload" is not a valid JSON string (%s)`, ErrInvalidPayload, jsonError(err))
			}
			body = []byte(s)
		}
		var err error
		if p, err = parsePayload(body, fcDirectory); err != nil {
			return Decoded{}, fmt.Errorf(`the timer's "payload": %w`, err)
		}
	default:
		return Decoded{}, fmt.Errorf(`%w: the timer's "payload" is %s: want a string (a payload, or empty for a sweep)`, ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
	}
	return Decoded{Job: p.job(key)}, nil
}

// mnsTopicEvent decodes an MNS topic message in JSON format, whose fields
// are top: one Item keyed by MessageId. PublishTime (a number of
// milliseconds) and the rest are not needed.
func mnsTopicEvent(top map[string]json.RawMessage, t []byte) (Decoded, error) {
	var key string
	if raw, ok := top["MessageId"]; ok {
		if err := json.Unmarshal(raw, &key); err != nil {
			return Decoded{}, fmt.Errorf(`%w: the MNS topic message's "MessageId" is %s, want a string`, ErrUnsupportedEvent, handshake.Quote(string(raw), quoteMax))
		}
	}
	if key == "" {
		key = MNSTopic
	}
	b := batch{k: fcDirectory}
	if err := checkUTF8("the MNS topic message", t); err != nil {
		b.fail(key, err)
	} else {
		body, err := bodyOf(top["Message"], `"Message"`)
		b.record(key, body, err)
	}
	return Decoded{Job: b.job()}, nil
}
