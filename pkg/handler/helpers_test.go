package handler_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// id returns a valid handshake ID that differs for every n.
func id(n int) string { return fmt.Sprintf("h-Hand%012d", n) }

// countingProvider hands out fixed credentials and counts the calls.
type countingProvider struct {
	c     resourcemanager.Credentials
	calls atomic.Int64
}

func (p *countingProvider) Credentials(context.Context) (resourcemanager.Credentials, error) {
	p.calls.Add(1)
	return p.c, nil
}

// env is one handler against its own emulator over real HTTP on 127.0.0.1.
type env struct {
	emu      *rmemu.Server
	url      string
	logs     *testkit.LogBuffer
	provider *countingProvider
	h        *handler.Handler
}

type envOptions struct {
	platform         string
	emu              rmemu.Options
	maxCancellations int           // zero: config.DefaultMaxCancellations
	apiTimeout       time.Duration // the handler's, T of the deadline budget
}

// newEnv builds a Handler as handler.New does, with a client tuned for
// tests: few attempts, high rate limit.
func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	emu, hs := testkit.Emulator(t, o.emu)
	prov := &countingProvider{c: testkit.Credentials}
	client := testkit.Client(t, hs.URL, resourcemanager.Options{
		Credentials: prov,
		MaxAttempts: 2,
	})
	logs := &testkit.LogBuffer{}
	return &env{
		emu:      emu,
		url:      hs.URL,
		logs:     logs,
		provider: prov,
		h: &handler.Handler{
			Platform:   o.platform,
			Logger:     logging.New(logs, zerolog.DebugLevel),
			APITimeout: o.apiTimeout,
			Engine: &janitor.Engine{
				API:              client,
				Concurrency:      4,
				MaxCancellations: cmp.Or(o.maxCancellations, config.DefaultMaxCancellations),
				Now:              time.Now,
			},
		},
	}
}

// seed adds Pending invitations created age ago.
func (e *env) seed(t *testing.T, age time.Duration, ids ...string) {
	t.Helper()
	e.seedStatus(t, handshake.StatusPending, age, ids...)
}

func (e *env) seedStatus(t *testing.T, st handshake.Status, age time.Duration, ids ...string) {
	t.Helper()
	now := time.Now()
	for _, s := range ids {
		h := handshake.Handshake{HandshakeID: s, Status: st, TargetEntity: "1000000000000001",
			CreateTime: now.Add(-age), ExpireTime: now.Add(rmemu.ValidFor)}
		if err := e.emu.Seed(h); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) wantStatus(t *testing.T, id string, want handshake.Status) {
	t.Helper()
	if got := e.emu.Status(id); got != want {
		t.Errorf("emulator: %s is %q, want %q", id, got, want)
	}
}

// callsFor returns the emulator's calls that named id.
func (e *env) callsFor(id string) []rmemu.Call {
	var out []rmemu.Call
	for _, c := range e.emu.Calls() {
		if c.HandshakeID == id {
			out = append(out, c)
		}
	}
	return out
}

// sqsEvent is an SQS batch; each record is {messageId, body}.
func sqsEvent(t *testing.T, records ...[2]string) []byte {
	t.Helper()
	var rs []map[string]any
	for _, r := range records {
		rs = append(rs, map[string]any{
			"messageId":      r[0],
			"receiptHandle":  "AQEB" + r[0],
			"body":           r[1],
			"attributes":     map[string]string{"ApproximateReceiveCount": "1"},
			"eventSource":    "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:handshake-janitor",
			"awsRegion":      "eu-central-1",
		})
	}
	return mustJSON(t, map[string]any{"Records": rs})
}

// mnsBatch is an MNS queue trigger batch (event stream mode): an array of
// CloudEvents; each message is {messageId, body}, the body sent decoded.
func mnsBatch(t *testing.T, msgs ...[2]string) []byte {
	t.Helper()
	var evs []map[string]any
	for i, m := range msgs {
		evs = append(evs, map[string]any{
			"id":          fmt.Sprintf("ce-%d", i),
			"source":      "MNS-handshake-janitor-mns-queue",
			"specversion": "1.0",
			"type":        "mns:Queue:SendMessage",
			"subject":     "acs:mns:cn-hangzhou:1234567890123456:queues/handshake-janitor",
			"data":        map[string]string{"requestId": "req-" + m[0], "messageId": m[0], "messageBody": m[1]},
		})
	}
	return mustJSON(t, evs)
}

// mnsTopic is an MNS topic message in JSON format.
func mnsTopic(t *testing.T, messageID, body string) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{
		"TopicOwner": "1234567890123456", "TopicName": "handshake-janitor", "Subscriber": "1234567890123456",
		"SubscriptionName": "handshake-janitor-fc", "MessageId": messageID, "Message": body,
		"PublishTime": 1785035262094,
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ids is a direct payload naming the IDs.
func ids(t *testing.T, list ...string) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"handshakeIds": list})
}

func asReport(t *testing.T, resp any, err error) *janitor.Report {
	t.Helper()
	if err != nil {
		t.Fatalf("error %v, want a Report", err)
	}
	r, ok := resp.(*janitor.Report)
	if !ok {
		t.Fatalf("response is %T, want *janitor.Report", resp)
	}
	return r
}
