package reliability

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/handshake-janitor/handshake-janitor/pkg/handler"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// Queue settings of the redelivery run, as template.yaml would set them.
const (
	maxReceiveCount = 3  // the redrive policy: the 3rd failed receive dead-letters
	sqsBatchSize    = 10 // records per invocation, Lambda's default for SQS
)

// queueMessage is one SQS message and its delivery history.
type queueMessage struct {
	id       string
	body     string
	ids      []string // the IDs the body names, as written
	receives int

	lastInvocation string // the invocation that received it last
}

// sqsRecord and sqsEvent are the Lambda SQS event's shape.
type sqsRecord struct {
	MessageID      string            `json:"messageId"`
	ReceiptHandle  string            `json:"receiptHandle"`
	Body           string            `json:"body"`
	Attributes     map[string]string `json:"attributes"`
	EventSource    string            `json:"eventSource"`
	EventSourceARN string            `json:"eventSourceARN"`
	AWSRegion      string            `json:"awsRegion"`
}

type sqsEvent struct {
	Records []sqsRecord `json:"Records"`
}

func sqsBatch(msgs []*queueMessage) []byte {
	var ev sqsEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, sqsRecord{
			MessageID:      m.id,
			ReceiptHandle:  "rh-" + m.id + "-" + strconv.Itoa(m.receives),
			Body:           m.body,
			Attributes:     map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)},
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:eu-central-1:123456789012:handshake-janitor",
			AWSRegion:      "eu-central-1",
		})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// queue simulates an SQS queue with a redrive policy in front of a Lambda
// function: it delivers visible messages in batches, to concurrent
// invocations as Lambda's poller does, deletes what the function did not
// list in batchItemFailures, makes the rest visible again, and moves a
// message to the dead-letter queue once it was received maxReceiveCount
// times and failed.
type queue struct {
	visible    []*queueMessage
	deleted    []*queueMessage
	deadLetter []*queueMessage
	invoked    int
}

// invokeFunc runs one invocation on an SQS event: it returns the
// function's answer and the invocation's ID.
type invokeFunc func(invocationID string, payload []byte) (*events.SQSEventResponse, error)

// round delivers every visible message once.
func (q *queue) round(t *testing.T, invoke invokeFunc) {
	t.Helper()
	type delivery struct {
		msgs []*queueMessage
		resp *events.SQSEventResponse
		err  error
	}
	var ds []*delivery
	for batch := q.visible; len(batch) > 0; {
		msgs := batch[:min(sqsBatchSize, len(batch))]
		batch = batch[len(msgs):]
		ds = append(ds, &delivery{msgs: msgs})
	}
	q.visible = nil
	var wg sync.WaitGroup
	for _, d := range ds {
		q.invoked++
		inv := fmt.Sprintf("inv-%03d", q.invoked)
		for _, m := range d.msgs {
			m.receives++
			m.lastInvocation = inv
		}
		payload := sqsBatch(d.msgs)
		wg.Go(func() { d.resp, d.err = invoke(inv, payload) })
	}
	wg.Wait()
	for _, d := range ds {
		failed := make(map[string]bool)
		if d.err != nil {
			// The invocation failed as a whole: every record comes back.
			t.Logf("invocation failed, the whole batch comes back: %v", d.err)
			for _, m := range d.msgs {
				failed[m.id] = true
			}
		} else {
			for _, f := range d.resp.BatchItemFailures {
				if !slices.ContainsFunc(d.msgs, func(m *queueMessage) bool { return m.id == f.ItemIdentifier }) {
					t.Errorf("batchItemFailures names %q, which is not in the batch", f.ItemIdentifier)
				}
				failed[f.ItemIdentifier] = true
			}
		}
		for _, m := range d.msgs {
			switch {
			case !failed[m.id]:
				q.deleted = append(q.deleted, m)
			case m.receives >= maxReceiveCount:
				q.deadLetter = append(q.deadLetter, m)
			default:
				q.visible = append(q.visible, m)
			}
		}
	}
}

func TestRedeliveryLosesNothingAndCancelsNothingTwice(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 2026))

	// The invitations: Pending ones with faults that clear after a few
	// calls (503s, throttles), answers dropped after the cancel, and a few
	// that fail every call; some already final; some unknown.
	var seed []handshake.Handshake
	var pendingIDs, finalIDs, unknownIDs []string
	for range 60 {
		id := randomID(rng)
		seed = append(seed, pending(id))
		pendingIDs = append(pendingIDs, id)
	}
	for i := range 6 {
		id := randomID(rng)
		seed = append(seed, final(id, []handshake.Status{handshake.StatusAccepted, handshake.StatusCancelled, handshake.StatusExpired}[i%3]))
		finalIDs = append(finalIDs, id)
	}
	for range 3 {
		unknownIDs = append(unknownIDs, randomID(rng))
	}
	invalidIDs := []string{"h-abc&Action=DeleteAccount", "h-Ab12Cd34Ef56Gh7８"}
	emu, srv := emulator(t, rmemu.Options{RandSeed: 11}, seed...)

	hopeless := map[string]bool{} // fail every call: their messages must be dead-lettered
	for i, id := range pendingIDs {
		switch i % 6 {
		case 0:
			emu.FailNext(id, 1+rng.IntN(9)) // clears within two deliveries of 5 attempts
		case 1:
			emu.FailNext(id, 5) // fails the first delivery, succeeds at the second
		case 2:
			emu.DropAfterCancel(id) // cancelled, answer lost: the retry is answered 409
		}
	}
	for _, id := range pendingIDs[len(pendingIDs)-3:] {
		emu.FailAlways(id)
		hopeless[id] = true
	}
	for _, id := range invalidIDs {
		hopeless[id] = true
	}

	// The messages: one to four IDs each, as JSON or plain text; every ID
	// named at least once, some twice, and one message sent twice (SQS
	// delivers at least once).
	named := slices.Concat(pendingIDs, finalIDs, unknownIDs, invalidIDs)
	rng.Shuffle(len(named), func(i, j int) { named[i], named[j] = named[j], named[i] })
	for range 12 {
		named = append(named, named[rng.IntN(len(named))])
	}
	q := &queue{}
	for i := 0; i < len(named); {
		n := min(1+rng.IntN(4), len(named)-i)
		ids := named[i : i+n]
		i += n
		body := strings.Join(ids, "\n")
		if rng.IntN(2) == 0 {
			b, _ := json.Marshal(map[string][]string{"handshakeIds": ids})
			body = string(b)
		}
		q.visible = append(q.visible, &queueMessage{id: fmt.Sprintf("msg-%03d", len(q.visible)), body: body, ids: ids})
	}
	dup := *q.visible[0]
	dup.id = "msg-dup"
	q.visible = append(q.visible, &dup)
	messages := slices.Clone(q.visible)

	h, logs := newHandler(t, logging.PlatformAWS, srv.URL, nil, testCredentials)
	// Faults that clear over time: the random 5xx rate falls each round.
	rates := []float64{0.3, 0.1, 0}
	start := time.Now()
	rounds := 0
	for ; len(q.visible) > 0 && rounds < maxReceiveCount; rounds++ {
		emu.SetFaults(rmemu.Faults{ErrorRate: rates[min(rounds, len(rates)-1)], Latency: time.Millisecond})
		q.round(t, func(id string, payload []byte) (*events.SQSEventResponse, error) {
			out, err := h.AWS(t.Context(), handler.Invocation{ID: id}, payload)
			if err != nil {
				return nil, err
			}
			resp, ok := out.(*events.SQSEventResponse)
			if !ok {
				return nil, fmt.Errorf("AWS handler answered an SQS batch with %T, want *events.SQSEventResponse", out)
			}
			return resp, nil
		})
	}
	took := time.Since(start)
	if len(q.visible) != 0 {
		t.Fatalf("%d messages still on the queue after %d rounds", len(q.visible), rounds)
	}
	// What each invocation reported for each ID, from the log lines.
	outcomes := make(map[string]map[string]handshake.Outcome) // invocation -> ID -> outcome
	everyOutcome := make(map[string][]handshake.Outcome)      // ID -> outcomes, all deliveries
	for _, m := range logs.Lines(t) {
		inv, _ := m[logging.FieldInvocationID].(string)
		id, isResult := m[logging.FieldHandshakeID].(string)
		if !isResult {
			continue
		}
		o, _ := m[logging.FieldOutcome].(string)
		if outcomes[inv] == nil {
			outcomes[inv] = make(map[string]handshake.Outcome)
		}
		outcomes[inv][id] = handshake.Outcome(o)
		everyOutcome[id] = append(everyOutcome[id], handshake.Outcome(o))
	}

	// Nothing lost: every message was deleted or dead-lettered, once.
	if got := len(q.deleted) + len(q.deadLetter); got != len(messages) {
		t.Errorf("%d messages deleted or dead-lettered, want all %d", got, len(messages))
	}
	where := make(map[string]string)
	for _, m := range q.deleted {
		where[m.id] = "deleted"
	}
	for _, m := range q.deadLetter {
		if where[m.id] != "" {
			t.Errorf("message %s both deleted and dead-lettered", m.id)
		}
		where[m.id] = "dead-letter"
	}
	for _, m := range messages {
		wantDLQ := slices.ContainsFunc(m.ids, func(id string) bool { return hopeless[id] })
		if got := where[m.id]; (got == "dead-letter") != wantDLQ {
			t.Errorf("message %s naming %q ended %s (after %d receives); dead-letter wanted: %v", m.id, m.ids, got, m.receives, wantDLQ)
		}
		if where[m.id] == "deleted" {
			for _, id := range m.ids {
				switch o := outcomes[m.lastInvocation][id]; o {
				case handshake.OutcomeCancelled, handshake.OutcomeSkipped, handshake.OutcomeNotFound:
				default:
					t.Errorf("message %s deleted after %s, which reported %s %q", m.id, m.lastInvocation, id, o)
				}
			}
		}
	}

	// Nothing cancelled twice, nothing cancelled that should not be, every
	// Pending one named by a deleted message cancelled.
	calls := cancelCalls(emu)
	ok := applied(calls)
	for _, c := range calls {
		if _, err := handshake.ParseID(c.HandshakeID); err != nil {
			t.Errorf("the API was called with %q", c.HandshakeID)
		}
	}
	skippedAgain := 0
	for _, id := range pendingIDs {
		switch {
		case ok[id] > 1:
			t.Errorf("%s cancelled %d times", id, ok[id])
		case hopeless[id]:
			if s := emu.Status(id); s != handshake.StatusPending || ok[id] != 0 {
				t.Errorf("%s failed every call, yet is %s", id, s)
			}
		default:
			if s := emu.Status(id); s != handshake.StatusCancelled || ok[id] != 1 {
				t.Errorf("%s: status %s after %d applied cancels, want Cancelled once", id, s, ok[id])
			}
		}
		if slices.Contains(everyOutcome[id], handshake.OutcomeSkipped) {
			skippedAgain++
		}
	}
	for _, id := range finalIDs {
		if ok[id] != 0 || !slices.Contains(everyOutcome[id], handshake.OutcomeSkipped) {
			t.Errorf("already final %s: %d applied cancels, outcomes %v, want skipped", id, ok[id], everyOutcome[id])
		}
	}
	for _, id := range unknownIDs {
		if !slices.Contains(everyOutcome[id], handshake.OutcomeNotFound) {
			t.Errorf("unknown %s: outcomes %v, want not_found", id, everyOutcome[id])
		}
	}
	st := emu.Stats()
	t.Logf("redelivery: %d messages, %d rounds, %d invocations in %s; %d deleted, %d dead-lettered; %d requests (%d 5xx, %d throttled, %d dropped); "+
		"%d Pending invitations cancelled exactly once, %d of them also reported skipped (redelivered after success, or retried after a dropped answer)",
		len(messages), rounds, q.invoked, took.Round(time.Millisecond), len(q.deleted), len(q.deadLetter), st.Requests, st.ServerError, st.Throttled, st.Dropped,
		len(ok), skippedAgain)
}
