package reliability

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
	"github.com/handshake-janitor/handshake-janitor/pkg/trigger"
)

// Valid IDs the hostile events mix in, seeded Pending: they are the only
// IDs any request may carry.
const (
	goodA = "h-Ab12Cd34Ef56Gh78"
	goodB = "h-Zx98Yw76Vu54Ts32"
)

// injections are IDs crafted to smuggle something into a request, a header
// or a log line, or to pass for a valid ID.
var injections = []string{
	"h-abc&Action=DeleteAccount",
	goodA + "&Action=DeleteAccount",
	goodA + "\nAction=DeleteAccount",
	goodA + "\r\nX-Acs-Action: DeleteAccount",
	goodA + "%26Action%3DDeleteAccount",
	"h-Ab12Cd34Ef56Gh7=",
	"h-Ab12Cd34Ef56Gh7%",
	"h-Ab12Cd34/../../x",
	goodA + "\x00",
	"h-Ab12Cd34Ef56Gh7８",       // fullwidth digit eight
	"h-Аb12Cd34Ef56Gh78",       // Cyrillic A
	"һ-Ab12Cd34Ef56Gh78",       // Cyrillic shha
	"h‐Ab12Cd34Ef56Gh78",       // Unicode hyphen
	"h-Ab12Cd34Ef56G\u200bh7",  // zero-width space
	"h-Ab12Cd34Ef56Gh7\u0301",  // combining accent
	"\ufeff" + goodA,           // byte order mark
	"h-Ab12Cd34Ef56Gh78\u202e", // right-to-left override
	"H-AB12CD34EF56GH78x",
	"h-" + strings.Repeat("A", 100_000), // an ID of 100 KB
}

// hostileCase is one event and what the handler must make of it.
type hostileCase struct {
	name     string
	platform string
	event    []byte

	wantErr       error    // the handler's error wraps it; nil: no error expected unless wantRedeliver
	wantInvalid   []string // reported invalid (as the Result shows it, cut to 64 bytes)
	wantCancelled []string
	wantRedeliver []string // SQS batchItemFailures, or the record keys an FC error names
}

func jsonIDs(ids ...string) string {
	b, err := json.Marshal(map[string][]string{"handshakeIds": ids})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sqsOf(bodies ...string) []byte {
	var msgs []*queueMessage
	for i, b := range bodies {
		msgs = append(msgs, &queueMessage{id: fmt.Sprintf("m%d", i+1), body: b, receives: 1})
	}
	return sqsBatch(msgs)
}

func fcTimerOf(payload string) []byte {
	b, _ := json.Marshal(map[string]string{"triggerTime": "2026-07-26T03:00:00Z", "triggerName": "t", "payload": payload})
	return b
}

func mnsOf(bodies ...string) []byte {
	var evs []map[string]any
	for i, b := range bodies {
		evs = append(evs, map[string]any{
			"id": fmt.Sprintf("ev%d", i+1), "source": "MNS-q", "specversion": "1.0", "type": "mns:Queue:SendMessage",
			"data": map[string]string{"messageId": fmt.Sprintf("m%d", i+1), "messageBody": b},
		})
	}
	out, _ := json.Marshal(evs)
	return out
}

func hostileCases() []hostileCase {
	tenMB := strings.Repeat(goodA+",", 10<<20/19)
	nested := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)
	nestedObj := strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)
	manyIDs := strings.TrimSuffix(strings.Repeat(goodA+",", trigger.MaxIDs+1), ",")
	display := func(s string) string { // how a Result shows an invalid input
		if len(s) <= 64 {
			return s
		}
		return s[:64] + "..."
	}
	var shown []string
	for _, s := range injections {
		shown = append(shown, display(s))
	}
	var cs []hostileCase
	for _, p := range []string{logging.PlatformAWS, logging.PlatformFC} {
		cs = append(cs,
			hostileCase{name: "direct payload of 10 MB", platform: p, event: []byte(tenMB), wantErr: trigger.ErrTooLarge},
			hostileCase{name: "event of 33 MB", platform: p, event: []byte(`{"handshakeIds":["` + strings.Repeat("a", 33<<20) + `"]}`), wantErr: trigger.ErrTooLarge},
			hostileCase{name: "deeply nested arrays", platform: p, event: []byte(nested), wantErr: trigger.ErrUnsupportedEvent},
			hostileCase{name: "deeply nested objects", platform: p, event: []byte(nestedObj), wantErr: trigger.ErrUnsupportedEvent},
			hostileCase{name: "nested IDs", platform: p, event: []byte(`{"handshakeIds":` + nested + `}`), wantErr: trigger.ErrUnsupportedEvent},
			hostileCase{name: "invalid UTF-8", platform: p, event: []byte("h-Ab12Cd34Ef56Gh78,\xff\xfe\xfd"), wantErr: trigger.ErrInvalidPayload},
			hostileCase{name: "binary garbage", platform: p, event: []byte("\x00\x01\x02\x03\x1b[31m\x7f\x80"), wantErr: trigger.ErrInvalidPayload},
			hostileCase{name: "more IDs than the limit", platform: p, event: []byte(manyIDs), wantErr: trigger.ErrTooManyIDs},
			hostileCase{name: "injection attempts as JSON", platform: p, event: []byte(jsonIDs(append(slices.Clone(injections), goodB)...)),
				wantInvalid: shown, wantCancelled: []string{goodB}},
			// As plain text, separators split: the valid ID in
			// "h-...\nAction=X" is a valid ID, the rest is invalid.
			hostileCase{name: "injection attempts as text", platform: p, event: []byte("h-abc&Action=DeleteAccount," + goodA + "\nAction=DeleteAccount"),
				wantInvalid: []string{"h-abc&Action=DeleteAccount", "Action=DeleteAccount"}, wantCancelled: []string{goodA}},
		)
	}
	cs = append(cs,
		// AWS: SQS records.
		hostileCase{name: "SQS record over 256 KiB", platform: logging.PlatformAWS, event: sqsOf(strings.Repeat(goodB+" ", 300<<10/19), goodA),
			wantRedeliver: []string{"m1"}, wantCancelled: []string{goodA}},
		hostileCase{name: "SQS record with invalid UTF-8", platform: logging.PlatformAWS,
			event:         []byte(strings.Replace(string(sqsOf("PLACEHOLDER", goodA)), "PLACEHOLDER", "h-\xff\xfe", 1)),
			wantRedeliver: []string{"m1"}, wantCancelled: []string{goodA}},
		hostileCase{name: "SQS record nested deep", platform: logging.PlatformAWS, event: sqsOf(`{"handshakeIds":`+nested+`}`, goodA),
			wantRedeliver: []string{"m1"}, wantCancelled: []string{goodA}},
		hostileCase{name: "SQS records with injections", platform: logging.PlatformAWS, event: sqsOf(jsonIDs(injections...), goodA),
			wantInvalid: shown, wantRedeliver: []string{"m1"}, wantCancelled: []string{goodA}},
		hostileCase{name: "SQS body that is base64", platform: logging.PlatformAWS, event: sqsOf(base64.StdEncoding.EncodeToString([]byte(goodB))),
			wantInvalid: []string{base64.StdEncoding.EncodeToString([]byte(goodB))}, wantRedeliver: []string{"m1"}},
		hostileCase{name: "EventBridge detail of 10 MB", platform: logging.PlatformAWS,
			event: []byte(`{"detail-type":"Scheduled Event","source":"aws.events","id":"e1","detail":"` + strings.Repeat("x", 10<<20) + `"}`), wantErr: trigger.ErrTooLarge},
		// FC: timers and MNS.
		hostileCase{name: "timer payload of 10 MB", platform: logging.PlatformFC, event: fcTimerOf(tenMB), wantErr: trigger.ErrTooLarge},
		hostileCase{name: "timer payload of 1 MB", platform: logging.PlatformFC, event: fcTimerOf(tenMB[:1<<20]), wantErr: trigger.ErrTooLarge},
		hostileCase{name: "timer payload nested deep", platform: logging.PlatformFC, event: fcTimerOf(nestedObj[:200_000]), wantErr: trigger.ErrInvalidPayload},
		hostileCase{name: "timer payload with injections", platform: logging.PlatformFC, event: fcTimerOf(jsonIDs(injections...)), wantInvalid: shown},
		hostileCase{name: "MNS body: base64 that is not", platform: logging.PlatformFC, event: mnsOf("aGVsbG8", "////", goodA),
			wantRedeliver: []string{"m1", "m2"}, wantCancelled: []string{goodA}},
		hostileCase{name: "MNS body: base64 of text that is no ID", platform: logging.PlatformFC, event: mnsOf(base64.StdEncoding.EncodeToString([]byte("hello world&Action=DeleteAccount"))),
			wantInvalid: []string{"hello", "world&Action=DeleteAccount"}, wantRedeliver: []string{"m1"}},
		hostileCase{name: "MNS body: base64 of injections", platform: logging.PlatformFC, event: mnsOf(base64.StdEncoding.EncodeToString([]byte(jsonIDs(injections...))), goodB),
			wantInvalid: shown, wantRedeliver: []string{"m1"}, wantCancelled: []string{goodB}},
		hostileCase{name: "MNS body of 10 MB", platform: logging.PlatformFC, event: mnsOf(tenMB, goodB),
			wantRedeliver: []string{"m1"}, wantCancelled: []string{goodB}},
		hostileCase{name: "MNS topic message with invalid UTF-8", platform: logging.PlatformFC,
			event: []byte(`{"TopicOwner":"1","MessageId":"t1","Message":"h-` + "\xff" + goodA + `"}`), wantRedeliver: []string{"t1"}},
	)
	return cs
}

func TestHostileInputGetsAClearErrorOrInvalidAndNeverReachesTheAPI(t *testing.T) {
	t.Parallel()
	for _, c := range hostileCases() {
		t.Run(c.platform+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			emu := rmemu.New(rmemu.Options{})
			if err := emu.Seed(pending(goodA), pending(goodB)); err != nil {
				t.Fatal(err)
			}
			rec, srv := recordedEmulator(t, emu)
			h, logs := newHandler(t, c.platform, srv.URL, nil, testCredentials)
			resp, err := invokeSafely(t, h, c.platform, c.event)

			// The API saw nothing but validated IDs, and only the valid
			// IDs of the event.
			sent := checkWire(t, rec.requests())
			for _, id := range sent {
				if id != goodA && id != goodB {
					t.Errorf("the API was called with %q, which the event did not name as a valid ID", id)
				}
			}
			for _, call := range emu.Calls() { // and as the emulator understood them
				if _, err := handshake.ParseID(call.HandshakeID); call.HandshakeID != "" && err != nil || !apiActions[call.Action] {
					t.Errorf("the emulator logged %s with HandshakeId %q", call.Action, call.HandshakeID)
				}
			}
			for _, id := range c.wantCancelled {
				if emu.Status(id) != handshake.StatusCancelled {
					t.Errorf("%s was not cancelled: a hostile record must not spoil its batch", id)
				}
			}

			// A clear error, bounded, on one line; or none.
			switch {
			case c.wantErr != nil:
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want one wrapping %v", clip(err), c.wantErr)
				}
				if len(sent) != 0 {
					t.Errorf("an event refused as a whole still made %d API calls", len(sent))
				}
				checkMessage(t, err.Error())
			case c.platform == logging.PlatformFC && len(c.wantRedeliver) > 0:
				var re *handler.RedeliverError
				if !errors.As(err, &re) {
					t.Fatalf("error %v, want a *handler.RedeliverError naming %v", clip(err), c.wantRedeliver)
				}
				var keys []string
				for _, it := range re.Items {
					keys = append(keys, it.Key)
				}
				if !slices.Equal(keys, c.wantRedeliver) {
					t.Errorf("records to redeliver %v, want %v", keys, c.wantRedeliver)
				}
				checkMessage(t, err.Error())
			case err != nil:
				t.Fatalf("unexpected error: %v", clip(err))
			}
			if c.platform == logging.PlatformAWS && len(c.wantRedeliver) > 0 {
				r, ok := resp.(*events.SQSEventResponse)
				if !ok {
					t.Fatalf("response %T, want *events.SQSEventResponse", resp)
				}
				var keys []string
				for _, f := range r.BatchItemFailures {
					keys = append(keys, f.ItemIdentifier)
				}
				if !slices.Equal(keys, c.wantRedeliver) {
					t.Errorf("batchItemFailures %v, want %v", keys, c.wantRedeliver)
				}
			}

			// Every invalid input is reported invalid, in the log lines and
			// in a Report when there is one.
			outcome := make(map[string]handshake.Outcome)
			for _, r := range results(t, logs) {
				outcome[r.ID] = r.Outcome
			}
			if rep, ok := resp.(*janitor.Report); ok {
				for _, r := range rep.Results {
					if outcome[r.HandshakeID] != r.Outcome {
						t.Errorf("Report says %q is %s, the log line says %s", r.HandshakeID, r.Outcome, outcome[r.HandshakeID])
					}
				}
			}
			for _, s := range c.wantInvalid {
				if outcome[s] != handshake.OutcomeInvalid {
					t.Errorf("%.80q reported %q, want invalid", s, outcome[s])
				}
			}
			checkLogLines(t, logs)
		})
	}
}

// invokeSafely runs the platform's handler, turning a panic into a test
// failure with its stack.
func invokeSafely(t *testing.T, h *handler.Handler, platform string, event []byte) (resp any, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("the %s handler panicked: %v\n%s", platform, p, debug.Stack())
		}
	}()
	inv := handler.Invocation{ID: "hostile"}
	if platform == logging.PlatformFC {
		return h.FC(t.Context(), inv, event)
	}
	return h.AWS(t.Context(), inv, event)
}

// maxMessage bounds an error message about hostile input: it names the
// problem and quotes a little, it does not echo the input.
const maxMessage = 8 << 10

// checkMessage asserts an error message is bounded, valid UTF-8 and on one
// line with no control character, so it cannot forge log lines.
func checkMessage(t *testing.T, msg string) {
	t.Helper()
	if len(msg) > maxMessage {
		t.Errorf("error message is %d bytes, want at most %d: %.200q", len(msg), maxMessage, msg)
	}
	if !utf8.ValidString(msg) {
		t.Errorf("error message is not valid UTF-8: %.200q", msg)
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f {
			t.Errorf("error message holds control character %U: %.200q", r, msg)
			break
		}
	}
	if !strings.Contains(msg, "want") && !strings.Contains(msg, "limit") && !strings.Contains(msg, "redeliver") {
		t.Errorf("error message does not say what is accepted: %.300q", msg)
	}
}

// maxLogLine bounds one log line: a Result shows at most 64 bytes of an
// invalid input, an error a bounded quote.
const maxLogLine = 16 << 10

// checkLogLines asserts every line is one JSON object of bounded size.
func checkLogLines(t *testing.T, logs *testkit.LogBuffer) {
	t.Helper()
	for i, line := range strings.SplitAfter(string(logs.Bytes()), "\n") {
		if len(line) > maxLogLine {
			t.Errorf("log line %d is %d bytes, want at most %d: %.200q", i, len(line), maxLogLine, line)
		}
	}
	logs.Lines(t) // each a JSON object
}

func clip(err error) string {
	if err == nil {
		return "<nil>"
	}
	return handshake.Quote(err.Error(), 300)
}
