package resourcemanager

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// The one-pass JSON decoding (decode.go) must read every answer exactly as
// decoding into the handshake types does: same values, and an error for
// the same inputs.

var decodeSeeds = []string{
	okBody,
	`{"RequestId":"R","Handshake":{"HandshakeId":"h-abcdEFGH12345678","ResourceDirectoryId":"rd-1","MasterAccountId":"1","MasterAccountName":"A","TargetEntity":"a@example.com","TargetType":"Email","Note":"n","Status":"Pending","CreateTime":"2024-01-02T03:04:05Z","ModifyTime":"2024-01-02T03:04:05Z","ExpireTime":"2024-01-16T03:04:05Z"}}`,
	`{"RequestId":"R","Handshake":{"CreateTime":"2024-01-02T11:04:05+08:00"}}`,
	`{"RequestId":"R","Handshake":{"CreateTime":"2024-01-02T03:04:05.123Z"}}`,
	`{"RequestId":"R","Handshake":{"CreateTime":"yesterday"}}`,
	`{"RequestId":"R","Handshake":{"CreateTime":5}}`,
	`{"RequestId":"R","Handshake":null}`,
	`{"RequestId":"R"}`,
	`{"requestid":"R","handshake":{"handshakeid":"h-x","status":"Cancelled"}}`,
	`{"RequestId":"R","PageNumber":2,"PageSize":100,"TotalCount":250,"Handshakes":{"Handshake":[{"HandshakeId":"h-1","CreateTime":"2024-01-02T03:04:05Z"},{"HandshakeId":"h-2","Status":"Expired"}]}}`,
	`{"RequestId":"R","TotalCount":0,"Handshakes":{"Handshake":[]}}`,
	`{"RequestId":"R","Handshakes":{"Handshake":null}}`,
	`{"RequestId":"R","Handshakes":{"Handshake":[{"ExpireTime":"bad"}]}}`,
	`{"RequestId":"R","Handshakes":{"Handshake":[null]}}`,
	`{"RequestId":"R","Handshakes":{"Handshake":[{"Status":"Pending"},{"Note":"x"},{}]}}`,
	`{"RequestId":"R","TotalCount":"many"}`,
	`[]`,
	`null`,
	`{`,
	``,
}

func checkDecodeMatches(t *testing.T, body string) {
	t.Helper()
	// The reference: the answers' shapes decoded by encoding/json into the
	// domain types (handshake.Handshake's own UnmarshalJSON).
	var refH struct {
		RequestID string              `json:"RequestId"`
		Handshake handshake.Handshake `json:"Handshake"`
	}
	var newH handshakeResponse
	errRef, errNew := json.Unmarshal([]byte(body), &refH), newH.decodeJSON([]byte(body))
	if (errRef == nil) != (errNew == nil) {
		t.Fatalf("handshake answer %q: error %v, want %v", body, errNew, errRef)
	}
	if errRef == nil && (refH.RequestID != newH.RequestID || !reflect.DeepEqual(refH.Handshake, newH.Handshake)) {
		t.Fatalf("handshake answer %q:\n got %+v\nwant %+v", body, newH, refH)
	}
	// A list record that handshake.Handshake cannot read is set apart as
	// Malformed, with its ID; the rest are read.
	var refL struct {
		RequestID  string `json:"RequestId"`
		Handshakes struct {
			Handshake []json.RawMessage `json:"Handshake"`
		} `json:"Handshakes"`
	}
	var newL listResponse
	errRef, errNew = json.Unmarshal([]byte(body), &refL), newL.decodeJSON([]byte(body))
	if errRef == nil {
		// The list's shape is what fails a page: every record an object.
		var shape struct {
			Handshakes struct {
				Handshake []handshake.Wire `json:"Handshake"`
			} `json:"Handshakes"`
		}
		errRef = json.Unmarshal([]byte(body), &shape)
	}
	if (errRef == nil) != (errNew == nil) {
		t.Fatalf("list answer %q: error %v, want %v", body, errNew, errRef)
	}
	if errRef != nil {
		return
	}
	var good []handshake.Handshake
	var badIDs []string
	for _, raw := range refL.Handshakes.Handshake {
		var h handshake.Handshake
		if err := json.Unmarshal(raw, &h); err != nil {
			var w handshake.Wire
			_ = json.Unmarshal(raw, &w)
			badIDs = append(badIDs, w.HandshakeID)
			continue
		}
		good = append(good, h)
	}
	var gotBad []string
	for _, b := range newL.Malformed {
		gotBad = append(gotBad, b.HandshakeID)
	}
	// No invitation either way: nil or empty makes no difference.
	if refL.RequestID != newL.RequestID || len(good)+len(newL.Handshakes) > 0 && !reflect.DeepEqual(good, newL.Handshakes) ||
		len(badIDs)+len(gotBad) > 0 && !reflect.DeepEqual(badIDs, gotBad) {
		t.Fatalf("list answer %q:\n got %+v\nwant %+v, malformed %q", body, newL, good, badIDs)
	}
}

func TestDecodeJSONReadsAsTheHandshakeTypesDo(t *testing.T) {
	for _, body := range decodeSeeds {
		checkDecodeMatches(t, body)
	}
}

func FuzzDecodeJSONReadsAsTheHandshakeTypesDo(f *testing.F) {
	for _, body := range decodeSeeds {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) { checkDecodeMatches(t, body) })
}
