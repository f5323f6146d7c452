package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckDuplicateKeys(t *testing.T) {
	tests := []struct {
		in       string
		key      string // "" when no duplicate
		path     string
		wantNone bool
	}{
		{in: `{"a":1,"b":2}`, wantNone: true},
		{in: `{"a":{"a":1},"b":[{"a":1},{"a":2}]}`, wantNone: true}, // the same key in different objects
		{in: `[1,"a",{"x":null}]`, wantNone: true},
		{in: `not json {"a":1,"a":2`, wantNone: true}, // not JSON: the decoders say so
		{in: `{"a":1,"a":2}`, key: "a"},
		{in: `{"dryRun":true,"handshakeIds":[],"dryRun":false}`, key: "dryRun"},
		{in: `{"dryRun":true,"DryRun":false}`, key: "DryRun"},      // Go's decoder matches struct fields so
		{in: `{"dryRun":true,"dry\u0052un":false}`, key: "dryRun"}, // escapes are read first
		{in: `{"sweep":{"olderThan":"7d","olderThan":"1h"}}`, key: "olderThan", path: "sweep"},
		{in: `{"Records":[{"a":1},{"body":"x","body":"y"}]}`, key: "body", path: "Records[1]"},
		{in: `[[],[{"k":1,"k":1}]]`, key: "k", path: "[1][0]"},
		{in: `{"a":[1,{"b":{"c":0,"c":0}}]}`, key: "c", path: "a[1].b"},
		{in: `{"x":{"y":1},"z":2,"x":3}`, key: "x"},
	}
	for _, tt := range tests {
		err := checkDuplicateKeys([]byte(tt.in))
		if tt.wantNone {
			if err != nil {
				t.Errorf("%s: %v, want no error", tt.in, err)
			}
			continue
		}
		dup, ok := errors.AsType[*DuplicateKeyError](err)
		if !ok || !errors.Is(err, ErrDuplicateKey) {
			t.Errorf("%s: %v, want a *DuplicateKeyError", tt.in, err)
			continue
		}
		if dup.Key != tt.key || dup.Path != tt.path {
			t.Errorf("%s: key %q at %q, want %q at %q", tt.in, dup.Key, dup.Path, tt.key, tt.path)
		}
		if !strings.Contains(err.Error(), `"`+tt.key+`"`) {
			t.Errorf("%s: error %q does not name the key", tt.in, err)
		}
	}
}

// A duplicated key is refused on every trigger, at any depth, with an error
// naming it: the whole event when it is in an envelope or a payload with no
// queue behind it, only the record when it is in a record of a batch.
func TestDuplicateKeysAreRefusedOnEveryTrigger(t *testing.T) {
	dupDry := `{"handshakeIds":["` + id1 + `"],"dryRun":true,"dryRun":false}`
	dupSweep := `{"sweep":{"allowedTargets":["*@example.com"],"allowedTargets":["*@*"]}}`
	recordErr := func(key string) item { return item{key: key, err: ErrDuplicateKey, has: `"dryRun"`} }
	aws := []decodeCase{
		{"direct invoke", dupDry, Direct, job{}, ErrDuplicateKey, `"dryRun"`},
		{"console invoke, a JSON string", jsonString(dupDry), Direct, job{}, ErrDuplicateKey, `"dryRun"`},
		{"schedule input, nested", dupSweep, Direct, job{}, ErrDuplicateKey, `"allowedTargets"`},
		{"scheduler input, its sweep", `{"scheduler":{"executionId":"e1"},"sweep":{"dryRun":true},"sweep":{}}`, Schedule, job{}, ErrDuplicateKey, `"sweep"`},
		{"scheduler input, its marker", `{"scheduler":{"executionId":"e1","executionId":"e2"},"sweep":{}}`, Schedule, job{}, ErrDuplicateKey, `"executionId"`},
		{"scheduled event detail", scheduled(dupSweep), ScheduledEvent, job{}, ErrDuplicateKey, `"allowedTargets"`},
		{"scheduled event detail as a string", scheduled(jsonString(dupDry)), ScheduledEvent, job{}, ErrDuplicateKey, `"dryRun"`},
		{"scheduled event envelope", strings.Replace(scheduled(`{}`), `"detail":{}`, `"detail":{},"detail":{"handshakeId":"`+id1+`"}`, 1), ScheduledEvent, job{}, ErrDuplicateKey, `"detail"`},
		{"sqs body: only that record", sqsEvent("m1", dupDry, "m2", id2), SQS,
			job{items: []item{recordErr("m1"), {key: "m2", ids: ids(id2)}}}, nil, ""},
		{"sqs record envelope: only that record", strings.Replace(sqsEvent("m1", id1, "m2", id2), `"body":"`+id2+`"`, `"body":"`+id2+`","body":"`+id3+`"`, 1), SQS,
			job{items: []item{{key: "m1", ids: ids(id1)}, {key: "m2", err: ErrDuplicateKey, has: `"body"`}}}, nil, ""},
		{"sqs top level", `{"Records":[],"Records":` + sqsEvent("m1", id1)[len(`{"Records":`):], SQS, job{}, ErrDuplicateKey, `"Records"`},
	}
	runDecodeCases(t, AWS, aws)

	fc := []decodeCase{
		{"direct invoke", dupDry, Direct, job{}, ErrDuplicateKey, `"dryRun"`},
		{"timer payload", timer(jsonString(dupDry)), FCTimer, job{}, ErrDuplicateKey, `"dryRun"`},
		{"timer payload as an object", timer(dupSweep), FCTimer, job{}, ErrDuplicateKey, `"allowedTargets"`},
		{"timer envelope", strings.Replace(timer(`""`), `"payload":""`, `"payload":"","payload":"`+id1+`"`, 1), FCTimer, job{}, ErrDuplicateKey, `"payload"`},
		{"mns body, base64: only that record", "[" + mnsEvent("m1", jsonString(b64(dupDry))) + "," + mnsEvent("m2", jsonString(id2)) + "]", MNSQueue,
			job{items: []item{recordErr("m1"), {key: "m2", ids: ids(id2)}}}, nil, ""},
		{"mns body, plain", mnsEvent("m1", jsonString(dupDry)), MNSQueue, job{items: []item{recordErr("m1")}}, nil, ""},
		{"mns body, an object", mnsEvent("m1", dupDry), MNSQueue, job{items: []item{recordErr("m1")}}, nil, ""},
		{"mns topic message", topic("t1", jsonString(b64(dupDry))), MNSTopic, job{items: []item{recordErr("t1")}}, nil, ""},
		{"mns topic envelope", strings.Replace(topic("t1", jsonString(id1)), `"TopicName"`, `"Message":"`+id2+`","TopicName"`, 1), MNSTopic, job{}, ErrDuplicateKey, `"Message"`},
	}
	runDecodeCases(t, FC, fc)
}

// FuzzCheckDuplicateKeys compares checkDuplicateKeys with a recursive
// oracle over any valid JSON text.
func FuzzCheckDuplicateKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":1,"B":2}}`, `[{"x":[{"y":1,"y":2}]}]`, `{"a":"\u0061","\u0061":1}`, `{}`, `[]`, `1`} {
		f.Add([]byte(s))
	}
	for _, s := range payloadSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkDuplicateKeys(b)
		if !json.Valid(b) {
			return
		}
		if want := hasDuplicateKey(t, b); (err != nil) != want {
			t.Fatalf("checkDuplicateKeys(%q) = %v, oracle says duplicate: %v", b, err, want)
		}
	})
}

// hasDuplicateKey is the oracle: valid JSON text raw holds an object with
// a key twice (keys compared as checkDuplicateKeys compares them).
func hasDuplicateKey(t *testing.T, raw []byte) bool {
	t.Helper()
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		dup := false
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			k := strings.ToLower(strings.ToUpper(tok.(string)))
			dup = dup || seen[k]
			seen[k] = true
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			dup = dup || hasDuplicateKey(t, v)
		}
		return dup
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			t.Fatal(err)
		}
		for _, e := range elems {
			if hasDuplicateKey(t, e) {
				return true
			}
		}
	}
	return false
}

// An SQS record's ApproximateReceiveCount is its Item's Deliveries; missing
// or unreadable, 0 (unknown).
func TestSQSRecordDeliveriesAreItsReceiveCount(t *testing.T) {
	ev := sqsEvent("m1", id1, "m2", id2, "m3", id3)
	ev = strings.Replace(ev, `"ApproximateReceiveCount":"1"`, `"ApproximateReceiveCount":"3"`, 1)
	ev = strings.Replace(ev, `{"ApproximateReceiveCount":"1"}`, `{"ApproximateReceiveCount":"x"}`, 1)
	d, err := AWS([]byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, it := range d.Job.Items {
		got = append(got, it.Deliveries)
	}
	if len(got) != 3 || got[0] != 3 || got[1] != 0 || got[2] != 1 {
		t.Errorf("Deliveries = %v, want [3 0 1]", got)
	}
}
