package trigger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Run with, for example: go test -run '^$' -fuzz '^FuzzFC$' -fuzztime 1m ./pkg/trigger
// The seeds (every sample in events/ and the shapes below) run under plain
// go test; crashers found by fuzzing are kept in testdata/fuzz.

// seeds adds every sample event and a few hand-made shapes to f.
func seeds(f *testing.F, extra ...string) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples in %s: %v", eventsDir, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// payloadSeeds are payloads, valid or not, for every decoder.
var payloadSeeds = []string{
	"", "null", "{}", `""`, id1, id1 + "," + id2 + "\n" + id3, `"` + id1 + `"`,
	`{"handshakeIds":["` + id1 + `"],"dryRun":true}`, `{"handshakeId":"h-abc&Action=Delete"}`,
	`{"sweep":{"olderThan":"7d","targetType":"Email","targetEntity":"*@example.com"}}`,
	`{"sweep":{"olderThan":"-5h"}}`, `{"HandshakeIds":[1]}`, `[` + id1 + `]`, "h-\xff\xfe", `{"a":` + "[[[[[[[[[[[[" + `}`,
	b64(id1), "aGVsbG8=", "TEST", "\uFEFF" + id1,
}

// sameDecoded reports whether two decodings of one input agree.
func sameDecoded(a, b Decoded, errA, errB error) bool {
	if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
		return false
	}
	if a.Trigger != b.Trigger || a.Job.DryRun != b.Job.DryRun || !reflect.DeepEqual(a.Job.Sweep, b.Job.Sweep) || len(a.Job.Items) != len(b.Job.Items) {
		return false
	}
	for i := range a.Job.Items {
		x, y := a.Job.Items[i], b.Job.Items[i]
		if x.Key != y.Key || !reflect.DeepEqual(x.IDs, y.IDs) || (x.Err == nil) != (y.Err == nil) || x.Err != nil && x.Err.Error() != y.Err.Error() {
			return false
		}
	}
	return true
}

func fuzzDecoder(f *testing.F, decode func([]byte) (Decoded, error)) {
	f.Fuzz(func(t *testing.T, event []byte) {
		d, err := decode(event)
		checkInvariants(t, d, err)
		d2, err2 := decode(event)
		if !sameDecoded(d, d2, err, err2) {
			t.Fatalf("two decodings of one event differ: %+v, %v / %+v, %v", d, err, d2, err2)
		}
	})
}

func FuzzAWS(f *testing.F) {
	var extra []string
	for _, p := range payloadSeeds {
		extra = append(extra, sqsEvent("m1", p, "m2", id1), scheduled(jsonString(p)))
	}
	extra = append(extra, scheduled(""), scheduled(`{"handshakeId":"`+id1+`"}`), `{"Records":[5]}`, `{"detail-type":"x"}`, `[{}]`)
	seeds(f, append(extra, payloadSeeds...)...)
	fuzzDecoder(f, AWS)
}

func FuzzFC(f *testing.F) {
	var extra []string
	for _, p := range payloadSeeds {
		extra = append(extra, timer(jsonString(p)), mnsEvent("m1", jsonString(p)), "["+mnsEvent("m1", jsonString(p))+","+mnsEvent("m2", jsonString(b64(p)))+"]",
			topic("t1", jsonString(p)))
	}
	extra = append(extra, `[1]`, `[]`, `{"specversion":"1.0"}`, `{"TopicOwner":"x"}`, `{"triggerTime":1,"triggerName":2}`)
	seeds(f, append(extra, payloadSeeds...)...)
	fuzzDecoder(f, FC)
}

func FuzzPayload(f *testing.F) {
	seeds(f, payloadSeeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		job, err := parseDirect(b)
		checkInvariants(t, Decoded{Trigger: Direct, Job: job}, err)
		if err != nil || job.Sweep != nil {
			return
		}
		// The IDs a payload names, sent again as {"handshakeIds":[...]},
		// name the same IDs: nothing is lost or made up on the way.
		ids := job.Items[0].IDs
		again, err := json.Marshal(map[string]any{"handshakeIds": ids, "dryRun": job.DryRun})
		if err != nil || len(again) > MaxPayloadBytes {
			return
		}
		job2, err := parseDirect(again)
		if err != nil {
			t.Fatalf("re-encoded payload %.200q refused: %v", again, err)
		}
		if len(job2.Items) != 1 || !reflect.DeepEqual(job2.Items[0].IDs, ids) || job2.DryRun != job.DryRun {
			t.Fatalf("re-encoded payload names %+v (dry run %v), want %q (dry run %v)", job2.Items, job2.DryRun, ids, job.DryRun)
		}
	})
}
