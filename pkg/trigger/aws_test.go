package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// decodeCase is one row of the AWS and FC tables: an event, and either
// the Decoded it makes or the error it gets.
type decodeCase struct {
	name    string
	in      string
	trigger string // also checked when an error is expected
	want    job
	wantErr error
	has     string
}

func runDecodeCases(t *testing.T, decode func([]byte) (Decoded, error), tests []decodeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := decode([]byte(tt.in))
			checkInvariants(t, d, err)
			if d.Trigger != tt.trigger {
				t.Errorf("Trigger = %q, want %q", d.Trigger, tt.trigger)
			}
			if tt.wantErr != nil || tt.has != "" {
				checkErr(t, "decode", err, tt.wantErr, tt.has)
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			checkJob(t, d.Job, tt.want)
		})
	}
}

// sqsEvent builds an SQS event of records given as messageId, body pairs.
func sqsEvent(idBody ...string) string {
	var recs []map[string]any
	for i := 0; i+1 < len(idBody); i += 2 {
		recs = append(recs, map[string]any{
			"messageId":      idBody[i],
			"receiptHandle":  "AQEB" + idBody[i],
			"body":           idBody[i+1],
			"attributes":     map[string]string{"ApproximateReceiveCount": "1"},
			"eventSource":    "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:q",
			"awsRegion":      "eu-central-1",
		})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return string(b)
}

// scheduled builds a Scheduled Event envelope; detail is raw JSON, or
// omitted when empty.
func scheduled(detail string) string {
	d := ""
	if detail != "" {
		d = `,"detail":` + detail
	}
	return `{"version":"0","id":"ev-1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"2026-07-26T03:00:00Z","region":"eu-central-1","resources":["arn:aws:events:eu-central-1:123456789012:rule/r"]` + d + `}`
}

func TestAWSSQS(t *testing.T) {
	ok := func(key string, ids ...string) item { return item{key: key, ids: ids} }
	bad := func(key string, err error, has string) item { return item{key: key, err: err, has: has} }
	runDecodeCases(t, AWS, []decodeCase{
		{"JSON, text and single-ID records", sqsEvent("m1", `{"handshakeIds":["`+id1+`","`+id2+`"]}`, "m2", id3, "m3", `{"handshakeId":"`+id1+`"}`), SQS,
			job{items: []item{ok("m1", id1, id2), ok("m2", id3), ok("m3", id1)}}, nil, ""},
		{"a bad record keeps the others", sqsEvent("m1", id1, "m2", `{"handshakeIDs":["`+id2+`"]}`, "m3", id3), SQS,
			job{items: []item{ok("m1", id1), bad("m2", ErrInvalidPayload, `unknown field "handshakeIDs" (did you mean "handshakeIds"?)`), ok("m3", id3)}}, nil, ""},
		{"an empty body names nothing", sqsEvent("m1", "", "m2", id1), SQS,
			job{items: []item{bad("m1", ErrInvalidPayload, "the message names no invitation"), ok("m2", id1)}}, nil, ""},
		{"an empty object names nothing", sqsEvent("m1", "{}"), SQS,
			job{items: []item{bad("m1", ErrInvalidPayload, "names no invitation")}}, nil, ""},
		{"a sweep from a queue is refused", sqsEvent("m1", `{"sweep":{"olderThan":"1h"}}`, "m2", id1), SQS,
			job{items: []item{bad("m1", ErrInvalidPayload, "a sweep is asked for by a timer, a schedule or a direct invocation"), ok("m2", id1)}}, nil, ""},
		{"SQS bodies are not base64", sqsEvent("m1", "aC1BYjEyQ2QzNEVmNTZHaDc4"), SQS,
			job{items: []item{ok("m1", "aC1BYjEyQ2QzNEVmNTZHaDc4")}}, nil, ""},
		{"every record a dry run: a dry-run batch", sqsEvent("m1", `{"handshakeId":"`+id1+`","dryRun":true}`, "m2", `{"handshakeId":"`+id2+`","dryRun":true}`), SQS,
			job{items: []item{ok("m1", id1), ok("m2", id2)}, dryRun: true}, nil, ""},
		{"a dry run batched with a real record goes back", sqsEvent("m1", `{"handshakeId":"`+id1+`","dryRun":true}`, "m2", id2), SQS,
			job{items: []item{bad("m1", ErrInvalidPayload, `shares its batch with messages that do not`), ok("m2", id2)}}, nil, ""},
		{"a dry run beside an undecodable record is still a dry run", sqsEvent("m1", `{"handshakeId":"`+id1+`","dryRun":true}`, "m2", "{"), SQS,
			job{items: []item{ok("m1", id1), bad("m2", ErrInvalidPayload, "not one")}, dryRun: true}, nil, ""},
		{"IDs over the limit across records", sqsEvent("m1", nIDs(600, ","), "m2", nIDs(401, ","), "m3", nIDs(400, ",")), SQS,
			job{items: []item{ok("m1", strings.Split(nIDs(600, ","), ",")...),
				bad("m2", ErrTooManyIDs, "names 401 invitations and the messages before it in this event 600, more than the limit of 1000"),
				ok("m3", strings.Split(nIDs(400, ","), ",")...)}}, nil, ""},
		{"a record over 256 KiB", sqsEvent("m1", strings.Repeat(" ", MaxPayloadBytes+1), "m2", id1), SQS,
			job{items: []item{bad("m1", ErrTooLarge, "262145 bytes"), ok("m2", id1)}}, nil, ""},
		{"a record without body", `{"Records":[{"messageId":"m1","eventSource":"aws:sqs"},{"messageId":"m2","eventSource":"aws:sqs","body":"` + id1 + `"}]}`, SQS,
			job{items: []item{bad("m1", ErrInvalidPayload, `no "body"`), ok("m2", id1)}}, nil, ""},
		{"a record without messageId", `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"` + id1 + `"},{"eventSource":"aws:sqs","body":"` + id2 + `"}]}`, SQS,
			job{items: []item{ok("m1", id1), bad("Records[1]", ErrUnsupportedEvent, `no "messageId"`)}}, nil, ""},
		{"a record that is not an object", `{"Records":[5,{"messageId":"m2","eventSource":"aws:sqs","body":"` + id1 + `"}]}`, SQS,
			job{items: []item{bad("Records[0]", ErrUnsupportedEvent, "not an SQS record"), ok("m2", id1)}}, nil, ""},
		{"a record of invalid UTF-8", `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"h-` + "\xff\xfe" + `"},{"messageId":"m2","eventSource":"aws:sqs","body":"` + id1 + `"}]}`, SQS,
			job{items: []item{bad("m1", ErrInvalidPayload, "the record is not valid UTF-8"), ok("m2", id1)}}, nil, ""},
		{"a record from another source", `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"` + id1 + `"},{"messageId":"m2","eventSource":"aws:kinesis","body":"` + id2 + `"}]}`, SQS,
			job{items: []item{ok("m1", id1), bad("m2", ErrUnsupportedEvent, `event source "aws:kinesis": want "aws:sqs"`)}}, nil, ""},
		{"an S3 event", `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}`, SQS,
			job{}, ErrUnsupportedEvent, `the records come from event source "aws:s3": want "aws:sqs"`},
		{"an SNS event", `{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","Sns":{"Message":"` + id1 + `"}}]}`, SQS,
			job{}, ErrUnsupportedEvent, `event source "aws:sns"`},
		{"records without eventSource", `{"Records":[5,{"messageId":"m1","body":"` + id1 + `"}]}`, SQS, job{}, ErrUnsupportedEvent, `the records have no "eventSource"`},
		{"no records", `{"Records":[]}`, SQS, job{}, ErrUnsupportedEvent, `"Records" is empty`},
		{"Records not an array", `{"Records":{"messageId":"m1"}}`, SQS, job{}, ErrUnsupportedEvent, `want an array of SQS records`},
	})
}

func TestAWSScheduledEvent(t *testing.T) {
	runDecodeCases(t, AWS, []decodeCase{
		{"detail {}", scheduled(`{}`), ScheduledEvent, job{sweep: sweep()}, nil, ""},
		{"detail absent", scheduled(""), ScheduledEvent, job{sweep: sweep()}, nil, ""},
		{"detail null", scheduled(`null`), ScheduledEvent, job{sweep: sweep()}, nil, ""},
		{`detail "{}"`, scheduled(`"{}"`), ScheduledEvent, job{sweep: sweep()}, nil, ""},
		{`detail ""`, scheduled(`""`), ScheduledEvent, job{sweep: sweep()}, nil, ""},
		{"detail { } with blanks", scheduled("{ \n }"), ScheduledEvent, job{sweep: sweep()}, nil, ""},
		{"detail names IDs", scheduled(`{"handshakeIds":["` + id1 + `","` + id2 + `"]}`), ScheduledEvent,
			job{items: []item{{key: "ev-1", ids: ids(id1, id2)}}}, nil, ""},
		{"detail a dry-run sweep override", scheduled(`{"sweep":{"olderThan":"2d","targetType":"Account"},"dryRun":true}`), ScheduledEvent,
			job{sweep: &janitor.Sweep{OlderThan: 48 * time.Hour, TargetType: "Account"}, dryRun: true}, nil, ""},
		{"detail a string of IDs", scheduled(`"` + id1 + ` ` + id2 + `"`), ScheduledEvent,
			job{items: []item{{key: "ev-1", ids: ids(id1, id2)}}}, nil, ""},
		{"detail a string of JSON", scheduled(`"{\"handshakeId\":\"` + id1 + `\"}"`), ScheduledEvent,
			job{items: []item{{key: "ev-1", ids: ids(id1)}}}, nil, ""},
		{"no id: keyed by the trigger", `{"detail-type":"Scheduled Event","detail":{"handshakeId":"` + id1 + `"}}`, ScheduledEvent,
			job{items: []item{{key: ScheduledEvent, ids: ids(id1)}}}, nil, ""},
		{"detail with an unknown field", scheduled(`{"handshakeIds":["` + id1 + `"],"limit":5}`), ScheduledEvent,
			job{}, ErrInvalidPayload, `the Scheduled Event's "detail": invalid payload: unknown field "limit"`},
		{"detail a number", scheduled(`5`), ScheduledEvent, job{}, ErrInvalidPayload, `"detail" is "5": want an object`},
		{"detail an array", scheduled(`["` + id1 + `"]`), ScheduledEvent, job{}, ErrInvalidPayload, `"detail" is`},
		{"another detail-type", `{"detail-type":"Object Created","source":"aws.s3","detail":{}}`, ScheduledEvent,
			job{}, ErrUnsupportedEvent, `detail-type "Object Created": want "Scheduled Event"`},
		{"detail-type not a string", `{"detail-type":7,"detail":{}}`, ScheduledEvent, job{}, ErrUnsupportedEvent, `detail-type "7"`},
		{"envelope of invalid UTF-8", scheduled(`{"handshakeId":"h-` + "\xff" + `"}`), ScheduledEvent, job{}, ErrInvalidPayload, "the event is not valid UTF-8"},
	})
}

// A Scheduler Input marked "scheduler" is reported as trigger schedule,
// apart from direct invocations; the mark is not part of the payload.
func TestAWSSchedulerInput(t *testing.T) {
	const mark = `"scheduler":{"executionId":"x-1","scheduleArn":"arn:aws:scheduler:eu-central-1:123456789012:schedule/default/s"}`
	runDecodeCases(t, AWS, []decodeCase{
		{"the template's sweep", `{` + mark + `,"sweep":{}}`, Schedule, job{sweep: sweep()}, nil, ""},
		{"the mark last", `{"sweep":{},` + mark + `}`, Schedule, job{sweep: sweep()}, nil, ""},
		{"placeholders not filled in (a console test)", `{"scheduler":{"executionId":"<aws.scheduler.execution-id>"},"sweep":{}}`, Schedule, job{sweep: sweep()}, nil, ""},
		{"an empty mark", `{"scheduler":{}}`, Schedule, job{sweep: sweep()}, nil, ""},
		{"a dry-run sweep override", `{"scheduler":{},"sweep":{"olderThan":"2d"},"dryRun":true}`, Schedule,
			job{sweep: &janitor.Sweep{OlderThan: 48 * time.Hour}, dryRun: true}, nil, ""},
		{"IDs keyed by the execution", `{` + mark + `,"handshakeIds":["` + id1 + `"]}`, Schedule,
			job{items: []item{{key: "x-1", ids: ids(id1)}}}, nil, ""},
		{"IDs without an execution: keyed by the trigger", `{"scheduler":{},"handshakeId":"` + id1 + `"}`, Schedule,
			job{items: []item{{key: Schedule, ids: ids(id1)}}}, nil, ""},
		{"an unknown field in the mark", `{"scheduler":{"executionID":"x"},"sweep":{}}`, Schedule, job{}, ErrInvalidPayload,
			`unknown field "executionID" (did you mean "executionId"?) in "scheduler"`},
		{"a mark that is not an object", `{"scheduler":true,"sweep":{}}`, Schedule, job{}, ErrInvalidPayload, `"scheduler" is "true": want an object`},
		{"a mark field that is not a string", `{"scheduler":{"executionId":7},"sweep":{}}`, Schedule, job{}, ErrInvalidPayload, `"scheduler".executionId is "7": want a string`},
		{"an unknown payload field", `{"scheduler":{},"sweep":{},"limit":5}`, Schedule, job{}, ErrInvalidPayload, `the Scheduler Input: invalid payload: unknown field "limit"`},
		{"the mark twice", `{"scheduler":{},"scheduler":{},"sweep":{}}`, Schedule, job{}, ErrInvalidPayload, `"scheduler" appears twice`},
		{"invalid UTF-8", `{"scheduler":{},"handshakeId":"h-` + "\xff" + `"}`, Schedule, job{}, ErrInvalidPayload, "the event is not valid UTF-8"},
	})
}

func TestAWSDirect(t *testing.T) {
	runDecodeCases(t, AWS, []decodeCase{
		{"payload object", `{"handshakeIds":["` + id1 + `"]}`, Direct, job{items: []item{{key: Direct, ids: ids(id1)}}}, nil, ""},
		{"Scheduler Input: a sweep override", `{"sweep":{"olderThan":"36h"}}`, Direct, job{sweep: &janitor.Sweep{OlderThan: 36 * time.Hour}}, nil, ""},
		{"JSON string of IDs", `"` + id1 + `,` + id2 + `"`, Direct, job{items: []item{{key: Direct, ids: ids(id1, id2)}}}, nil, ""},
		{"plain text", id1 + "\n" + id2, Direct, job{items: []item{{key: Direct, ids: ids(id1, id2)}}}, nil, ""},
		{"{}: a sweep", `{}`, Direct, job{sweep: sweep()}, nil, ""},
		{"empty: a sweep", ``, Direct, job{sweep: sweep()}, nil, ""},
		{"null: a sweep", `null`, Direct, job{sweep: sweep()}, nil, ""},
		{"console's default test event", `{"key1":"value1","key2":"value2","key3":"value3"}`, Direct, job{}, ErrInvalidPayload,
			`the event is not an SQS event ("Records") or an EventBridge event ("detail-type"), so it was read as a direct payload: invalid payload: unknown fields "key1", "key2", "key3"`},
		{"a JSON array", `[{"handshakeId":"` + id1 + `"}]`, "", job{}, ErrUnsupportedEvent, `is not a Lambda event this function reads: want an SQS event ("Records")`},
		{"broken JSON object", `{"Records":[`, "", job{}, ErrUnsupportedEvent, "starts like a JSON object but is not one"},
		{"deeply nested", strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), "", job{}, ErrUnsupportedEvent, "nested too deeply"},
		{"1 MB payload", `{"handshakeIds":["` + strings.Repeat("h", 1<<20) + `"]}`, Direct, job{}, ErrTooLarge, "over the limit of 262144"},
		{"10 MB of text", strings.Repeat(id1+",", (10<<20)/19), Direct, job{}, ErrTooLarge, "over the limit of 262144"},
		{"invalid UTF-8 text", "h-\xc0\xaf", Direct, job{}, ErrInvalidPayload, "not valid UTF-8"},
	})
}

func TestEventOverMaxEventBytesIsRefusedUnread(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxEventBytes+1)
	copy(big, sqsEvent("m1", id1))
	for name, decode := range map[string]func([]byte) (Decoded, error){"AWS": AWS, "FC": FC} {
		d, err := decode(big)
		checkErr(t, name, err, ErrTooLarge, fmt.Sprintf("the event is %d bytes, over the limit of %d (32 MiB)", MaxEventBytes+1, MaxEventBytes))
		if d.Trigger != "" {
			t.Errorf("%s: Trigger = %q for an event not read", name, d.Trigger)
		}
	}
}
