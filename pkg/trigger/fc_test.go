package trigger

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// timer builds an FC timer event; payload is raw JSON, or omitted when empty.
func timer(payload string) string {
	p := ""
	if payload != "" {
		p = `,"payload":` + payload
	}
	return `{"triggerTime":"2026-07-26T03:00:00Z","triggerName":"t1"` + p + `}`
}

// jsonString returns s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// mimeB64 is base64 in lines of 76 characters ending in CRLF, as MIME has it.
func mimeB64(s string) string {
	e := b64(s)
	var b strings.Builder
	for len(e) > 76 {
		b.WriteString(e[:76] + "\r\n")
		e = e[76:]
	}
	b.WriteString(e)
	return b.String()
}

// cloudEvent builds an MNS queue CloudEvent whose data.messageBody is body
// (raw JSON), as FC's documentation shows it.
func mnsEvent(messageID, body string) string {
	return `{"id":"ce-` + messageID + `","source":"MNS-Function-t","specversion":"1.0","type":"mns:Queue:SendMessage",` +
		`"datacontenttype":"application/json; charset=utf-8","subject":"acs:mns:cn-hangzhou:1234567890123456:queues/q",` +
		`"time":"2026-07-26T03:00:00.093Z","aliyunaccountid":"1234567890123456","aliyunpublishtime":"2026-07-26T03:00:00.120Z",` +
		`"aliyunoriginalaccountid":"1234567890123456","aliyuneventbusname":"MNS-Function-t","aliyunregionid":"cn-hangzhou",` +
		`"aliyunpublishaddr":"42.120.XX.XX","data":{"requestId":"606EA3074344430D4C81AAAA","messageId":"` + messageID + `","messageBody":` + body + `}}`
}

// topic builds an MNS topic message in JSON format; message is raw JSON.
func topic(messageID, message string) string {
	return `{"TopicOwner":"1234567890123456","Message":` + message + `,"Subscriber":"1234567890123456","PublishTime":1658235558094,` +
		`"SubscriptionName":"test-5bf13c7e","MessageMD5":"652BF0E6297840015247C3AAAAAAAAAA","TopicName":"fc-example","MessageId":"` + messageID + `"}`
}

func TestFCTimer(t *testing.T) {
	runDecodeCases(t, FC, []decodeCase{
		{"empty payload: a sweep", timer(`""`), FCTimer, job{sweep: sweep()}, nil, ""},
		{"no payload: a sweep", timer(""), FCTimer, job{sweep: sweep()}, nil, ""},
		{"null payload: a sweep", timer(`null`), FCTimer, job{sweep: sweep()}, nil, ""},
		{"blank payload: a sweep", timer(`" \n "`), FCTimer, job{sweep: sweep()}, nil, ""},
		{"payload {}: a sweep", timer(`"{}"`), FCTimer, job{sweep: sweep()}, nil, ""},
		{"payload a dry-run sweep", timer(jsonString(`{"dryRun":true}`)), FCTimer, job{sweep: sweep(), dryRun: true}, nil, ""},
		{"payload a sweep override", timer(jsonString(`{"sweep":{"olderThan":"14d","targetEntity":"*@example.com"}}`)), FCTimer,
			job{sweep: &janitor.Sweep{OlderThan: 14 * 24 * time.Hour, TargetEntity: glob("*@example.com")}}, nil, ""},
		{"payload IDs as text", timer(jsonString(id1 + ", " + id2)), FCTimer, job{items: []item{{key: "t1", ids: ids(id1, id2)}}}, nil, ""},
		{"payload IDs as JSON", timer(jsonString(`{"handshakeIds":["` + id1 + `"],"dryRun":true}`)), FCTimer,
			job{items: []item{{key: "t1", ids: ids(id1)}}, dryRun: true}, nil, ""},
		{"payload an object in a hand-written test event", timer(`{"handshakeId":"` + id1 + `"}`), FCTimer, job{items: []item{{key: "t1", ids: ids(id1)}}}, nil, ""},
		{"no triggerName: keyed by the trigger", `{"triggerTime":"2026-07-26T03:00:00Z","triggerName":"","payload":"` + id1 + `"}`, FCTimer,
			job{items: []item{{key: FCTimer, ids: ids(id1)}}}, nil, ""},
		{"the documented sample", `{"triggerTime":"2018-02-09T05:49:00Z","triggerName":"timer-trigger","payload":"awesome-fc"}`, FCTimer,
			job{items: []item{{key: "timer-trigger", ids: ids("awesome-fc")}}}, nil, ""},
		{"payload with an unknown field", timer(jsonString(`{"ids":["` + id1 + `"]}`)), FCTimer, job{}, ErrInvalidPayload, `the timer's "payload": invalid payload: unknown field "ids"`},
		{"payload a number", timer(`42`), FCTimer, job{}, ErrInvalidPayload, `"payload" is "42": want a string`},
		{"payload of 10 MB", timer(jsonString(strings.Repeat(id1+"\n", (10<<20)/19))), FCTimer, job{}, ErrTooLarge, "over the limit of 262144"},
		{"payload of invalid UTF-8", timer(`"h-` + "\xff" + `"`), FCTimer, job{}, ErrInvalidPayload, "the timer event is not valid UTF-8"},
		{"triggerName not a string", `{"triggerTime":"x","triggerName":5,"payload":""}`, FCTimer, job{}, ErrUnsupportedEvent, `the timer's "triggerName" is "5", want a string`},
	})
}

func TestFCMNSQueue(t *testing.T) {
	ok := func(key string, ids ...string) item { return item{key: key, ids: ids} }
	bad := func(key string, err error, has string) item { return item{key: key, err: err, has: has} }
	batch := func(events ...string) string { return "[" + strings.Join(events, ",") + "]" }
	runDecodeCases(t, FC, []decodeCase{
		{"base64 JSON body", mnsEvent("m1", jsonString(b64(`{"handshakeIds":["`+id1+`","`+id2+`"]}`))), MNSQueue,
			job{items: []item{ok("m1", id1, id2)}}, nil, ""},
		{"base64 text body", mnsEvent("m1", jsonString(b64(id1+"\n"+id2))), MNSQueue, job{items: []item{ok("m1", id1, id2)}}, nil, ""},
		{"base64 with line breaks", mnsEvent("m1", jsonString(b64(strings.Repeat(id1+",", 5))[:40]+"\r\n"+b64(strings.Repeat(id1+",", 5))[40:])), MNSQueue,
			job{items: []item{ok("m1", id1, id1, id1, id1, id1)}}, nil, ""},
		{"decoded JSON body", mnsEvent("m1", jsonString(`{"handshakeId":"`+id1+`"}`)), MNSQueue, job{items: []item{ok("m1", id1)}}, nil, ""},
		{"decoded plain ID", mnsEvent("m1", jsonString(id1)), MNSQueue, job{items: []item{ok("m1", id1)}}, nil, ""},
		{"decoded IDs with spaces", mnsEvent("m1", jsonString(" "+id1+" "+id2+" ")), MNSQueue, job{items: []item{ok("m1", id1, id2)}}, nil, ""},
		{"body delivered as a JSON object", mnsEvent("m1", `{"handshakeIds":["`+id1+`"]}`), MNSQueue, job{items: []item{ok("m1", id1)}}, nil, ""},
		{"the documented sample: body TEST", mnsEvent("m1", `"TEST"`), MNSQueue,
			job{items: []item{bad("m1", ErrInvalidPayload, `the message body "TEST" decodes from base64 to bytes that are not UTF-8 text`)}}, nil, ""},
		{"body neither payload nor base64", mnsEvent("m1", `"abcde"`), MNSQueue,
			job{items: []item{bad("m1", ErrInvalidPayload, `the message body "abcde" is neither a payload (a JSON object, or handshake IDs) nor standard base64`)}}, nil, ""},
		{"base64 of binary", mnsEvent("m1", jsonString(base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0x00, 0x01}))), MNSQueue,
			job{items: []item{bad("m1", ErrInvalidPayload, "not UTF-8 text")}}, nil, ""},
		{"base64 of a sweep", mnsEvent("m1", jsonString(b64(`{"sweep":{}}`))), MNSQueue,
			job{items: []item{bad("m1", ErrInvalidPayload, "a sweep is asked for by a timer")}}, nil, ""},
		{"empty body", mnsEvent("m1", `""`), MNSQueue, job{items: []item{bad("m1", ErrInvalidPayload, "names no invitation")}}, nil, ""},
		{"no body", strings.Replace(mnsEvent("m1", `""`), `,"messageBody":""`, "", 1), MNSQueue,
			job{items: []item{bad("m1", ErrInvalidPayload, `the message has no "data.messageBody"`)}}, nil, ""},
		{"body a number", mnsEvent("m1", `12`), MNSQueue, job{items: []item{bad("m1", ErrInvalidPayload, `"data.messageBody" is "12": want a string`)}}, nil, ""},
		{"base64 body over the limit", mnsEvent("m1", jsonString(b64(strings.Repeat(" ", MaxPayloadBytes+10)))), MNSQueue,
			job{items: []item{bad("m1", ErrTooLarge, "over the limit")}}, nil, ""},
		{"data not an object", `{"specversion":"1.0","id":"ce-1","type":"mns:Queue:SendMessage","data":"` + id1 + `"}`, MNSQueue,
			job{items: []item{bad("ce-1", ErrInvalidPayload, `the CloudEvent's "data" is`)}}, nil, ""},
		{"no messageId: keyed by the event id", `{"specversion":"1.0","id":"ce-1","type":"mns:Queue:SendMessage","data":{"messageBody":"` + id1 + `"}}`, MNSQueue,
			job{items: []item{ok("ce-1", id1)}}, nil, ""},
		{"no id at all: keyed by position", `[{"specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageBody":"` + id1 + `"}}]`, MNSQueue,
			job{items: []item{ok("[0]", id1)}}, nil, ""},
		{"a batch keeps its good records", batch(mnsEvent("m1", jsonString(id1)), mnsEvent("m2", `"abcde"`), mnsEvent("m3", jsonString(b64(id2)))), MNSQueue,
			job{items: []item{ok("m1", id1), bad("m2", ErrInvalidPayload, "nor standard base64"), ok("m3", id2)}}, nil, ""},
		{"a batch of all dry runs", batch(mnsEvent("m1", jsonString(`{"handshakeId":"`+id1+`","dryRun":true}`)), mnsEvent("m2", jsonString(b64(`{"handshakeId":"`+id2+`","dryRun":true}`)))), MNSQueue,
			job{items: []item{ok("m1", id1), ok("m2", id2)}, dryRun: true}, nil, ""},
		{"a dry run in a real batch goes back", batch(mnsEvent("m1", jsonString(id1)), mnsEvent("m2", jsonString(`{"handshakeId":"`+id2+`","dryRun":true}`))), MNSQueue,
			job{items: []item{ok("m1", id1), bad("m2", ErrInvalidPayload, "dryRun")}}, nil, ""},
		{"IDs over the limit across a batch", batch(mnsEvent("m1", jsonString(nIDs(999, " "))), mnsEvent("m2", jsonString(id1+" "+id2)), mnsEvent("m3", jsonString(id3))), MNSQueue,
			job{items: []item{ok("m1", strings.Fields(nIDs(999, " "))...), bad("m2", ErrTooManyIDs, "names 2 invitations and the messages before it in this event 999"), ok("m3", id3)}}, nil, ""},
		{"an element of another type", batch(mnsEvent("m1", jsonString(id1)), `{"specversion":"1.0","id":"k1","type":"alikafka:Topic:Message","data":{"value":"x"}}`), MNSQueue,
			job{items: []item{ok("m1", id1), bad("k1", ErrUnsupportedEvent, `type "alikafka:Topic:Message": want "mns:Queue:SendMessage"`)}}, nil, ""},
		{"an element that is not an object", batch(mnsEvent("m1", jsonString(id1)), `7`), MNSQueue,
			job{items: []item{ok("m1", id1), bad("[1]", ErrUnsupportedEvent, "the element is not a CloudEvent")}}, nil, ""},
		{"an element of invalid UTF-8", batch(mnsEvent("m1", `"h-`+"\xff"+`"`), mnsEvent("m2", jsonString(id2))), MNSQueue,
			job{items: []item{bad("m1", ErrInvalidPayload, "the CloudEvent is not valid UTF-8"), ok("m2", id2)}}, nil, ""},
		{"CloudEvents of another source", `{"specversion":"1.0","id":"o1","type":"oss:ObjectCreated:PutObject","data":{}}`, MNSQueue,
			job{}, ErrUnsupportedEvent, `CloudEvents of type "oss:ObjectCreated:PutObject": want "mns:Queue:SendMessage"`},
		{"an array of numbers", `[1,2,3]`, MNSQueue, job{}, ErrUnsupportedEvent, `CloudEvents of type ""`},
		{"an empty array", `[]`, "", job{}, ErrUnsupportedEvent, "the event is an empty JSON array"},
		{"a broken array", `[{"specversion":`, "", job{}, ErrUnsupportedEvent, "starts like a JSON array but is not one"},
		{"a deeply nested array", strings.Repeat("[", 50000) + strings.Repeat("]", 50000), "", job{}, ErrUnsupportedEvent, "nested too deeply"},
	})
}

func TestFCMNSTopic(t *testing.T) {
	runDecodeCases(t, FC, []decodeCase{
		{"JSON message", topic("t1", jsonString(`{"handshakeIds":["`+id1+`","`+id2+`"]}`)), MNSTopic, job{items: []item{{key: "t1", ids: ids(id1, id2)}}}, nil, ""},
		{"plain message", topic("t1", jsonString(id1)), MNSTopic, job{items: []item{{key: "t1", ids: ids(id1)}}}, nil, ""},
		{"base64 message", topic("t1", jsonString(b64(id1+","+id2))), MNSTopic, job{items: []item{{key: "t1", ids: ids(id1, id2)}}}, nil, ""},
		{"dry-run message", topic("t1", jsonString(`{"handshakeId":"`+id1+`","dryRun":true}`)), MNSTopic, job{items: []item{{key: "t1", ids: ids(id1)}}, dryRun: true}, nil, ""},
		{"the documented sample (PublishTime a number)", topic("3405CA51807661353B3xxxxxxxx", `"mock mns message"`), MNSTopic,
			job{items: []item{{key: "3405CA51807661353B3xxxxxxxx", ids: ids("mock", "mns", "message")}}}, nil, ""},
		{"PublishTime a string is no matter", strings.Replace(topic("t1", jsonString(id1)), "1658235558094", `"2022-07-19T12:59:18Z"`, 1), MNSTopic,
			job{items: []item{{key: "t1", ids: ids(id1)}}}, nil, ""},
		{"MessageId and Message only", `{"MessageId":"t1","Message":"` + id1 + `"}`, MNSTopic, job{items: []item{{key: "t1", ids: ids(id1)}}}, nil, ""},
		{"no MessageId: keyed by the trigger", `{"TopicOwner":"1","Message":"` + id1 + `"}`, MNSTopic, job{items: []item{{key: MNSTopic, ids: ids(id1)}}}, nil, ""},
		{"no Message", `{"TopicOwner":"1","MessageId":"t1"}`, MNSTopic, job{items: []item{{key: "t1", err: ErrInvalidPayload, has: `the message has no "Message"`}}}, nil, ""},
		{"message not base64", topic("t1", `"abc"`), MNSTopic, job{items: []item{{key: "t1", err: ErrInvalidPayload, has: "nor standard base64"}}}, nil, ""},
		{"message a sweep", topic("t1", jsonString(`{"sweep":{}}`)), MNSTopic, job{items: []item{{key: "t1", err: ErrInvalidPayload, has: "a sweep is asked for"}}}, nil, ""},
		{"message of invalid UTF-8", topic("t1", `"h-`+"\xff"+`"`), MNSTopic, job{items: []item{{key: "t1", err: ErrInvalidPayload, has: "the MNS topic message is not valid UTF-8"}}}, nil, ""},
		{"MessageId not a string", `{"TopicOwner":"1","MessageId":5,"Message":"x"}`, MNSTopic, job{}, ErrUnsupportedEvent, `the MNS topic message's "MessageId" is "5", want a string`},
	})
}

func TestFCDirectAndStream(t *testing.T) {
	direct := func(ids ...string) job { return job{items: []item{{key: Direct, ids: ids}}} }
	runDecodeCases(t, FC, []decodeCase{
		{"payload object", `{"handshakeIds":["` + id1 + `"]}`, Direct, direct(id1), nil, ""},
		{"plain text (a STREAM topic message)", id1 + "\n" + id2, Direct, direct(id1, id2), nil, ""},
		{"base64 text (a STREAM topic message)", b64(id1 + "," + id2), Direct, direct(id1, id2), nil, ""},
		{"base64 JSON", b64(`{"handshakeId":"` + id1 + `"}`), Direct, direct(id1), nil, ""},
		{"the documented STREAM sample", "hello topic", Direct, direct("hello", "topic"), nil, ""},
		{"JSON string", `"` + id1 + `"`, Direct, direct(id1), nil, ""},
		{"empty: a sweep", "", Direct, job{sweep: sweep()}, nil, ""},
		{"{}: a sweep", "{}", Direct, job{sweep: sweep()}, nil, ""},
		{"a sweep override", `{"sweep":{"olderThan":"12h"},"dryRun":true}`, Direct, job{sweep: &janitor.Sweep{OlderThan: 12 * time.Hour}, dryRun: true}, nil, ""},
		{"unknown field", `{"triggerTime":"2026-07-26T03:00:00Z","payload":""}`, Direct, job{}, ErrInvalidPayload,
			`so it was read as a direct payload: invalid payload: unknown fields "payload", "triggerTime"`},
		{"an AWS SQS event", sqsEvent("m1", id1), Direct, job{}, ErrInvalidPayload, `unknown field "Records"`},
		{"text that is not base64", "TEST!", Direct, direct("TEST!"), nil, ""},
		{"a word that is bad base64", "abcde", Direct, job{}, ErrInvalidPayload, "neither a payload"},
		{"binary", "\x00\x01\x02\xff", Direct, job{}, ErrInvalidPayload, "not valid UTF-8"},
		{"10 MB of text", strings.Repeat(id1+" ", (10<<20)/19), Direct, job{}, ErrTooLarge, "over the limit of 262144"},
		{"10 MB of base64", strings.Repeat("QUJD", (10<<20)/4), Direct, job{}, ErrTooLarge, "over the limit of 262144"},
		{"base64 of 256 KiB and more", b64(strings.Repeat(" ", MaxPayloadBytes) + id1), Direct, job{}, ErrTooLarge, "the payload is 262162 bytes, over the limit of 262144"},
		{"base64 of 256 KiB, with line breaks", mimeB64(strings.Repeat(" ", MaxPayloadBytes-len(id1)) + id1), Direct, direct(id1), nil, ""},
	})
}
