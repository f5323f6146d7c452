package resourcemanager

import (
	"encoding/json"
	"reflect"
	"testing"
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
	var oldH, newH handshakeResponse
	errOld, errNew := json.Unmarshal([]byte(body), &oldH), newH.decodeJSON([]byte(body))
	if (errOld == nil) != (errNew == nil) {
		t.Fatalf("handshake answer %q: error %v, want %v", body, errNew, errOld)
	}
	if errOld == nil && !reflect.DeepEqual(oldH, newH) {
		t.Fatalf("handshake answer %q:\n got %+v\nwant %+v", body, newH, oldH)
	}
	// A list answer decoded into a fresh listResponse, and into one reused
	// from a previous page (as Handshakes does), reads the same.
	var oldL listResponse
	errOld = json.Unmarshal([]byte(body), &oldL)
	for _, prev := range []string{"", decodeSeeds[9]} {
		var newL listResponse
		if prev != "" {
			if err := newL.decodeJSON([]byte(prev)); err != nil {
				t.Fatal(err)
			}
			newL.reset()
		}
		errNew = newL.decodeJSON([]byte(body))
		if (errOld == nil) != (errNew == nil) {
			t.Fatalf("list answer %q after %q: error %v, want %v", body, prev, errNew, errOld)
		}
		newL.wire = nil // scratch
		if len(newL.Handshakes.Handshake) == 0 && len(oldL.Handshakes.Handshake) == 0 {
			// No invitation either way: nil or empty makes no difference.
			newL.Handshakes.Handshake = oldL.Handshakes.Handshake
		}
		if errOld == nil && !reflect.DeepEqual(oldL, newL) {
			t.Fatalf("list answer %q after %q:\n got %+v\nwant %+v", body, prev, newL, oldL)
		}
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
