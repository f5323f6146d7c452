package resourcemanager

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// A listed record with a malformed time spoils only itself: the listing
// yields it as a *handshake.RecordError naming its ID and why, and goes on
// with the rest of the page.
func TestListingYieldsAMalformedRecordAndGoesOn(t *testing.T) {
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"RequestId":"R","Handshakes":{"Handshake":[`+
			`{"HandshakeId":"h-Good000000000001","Status":"Pending","CreateTime":"2024-01-02T03:04:05Z"},`+
			`{"HandshakeId":"h-Bad0000000000001","Status":"Pending","CreateTime":"yesterday"},`+
			`{"HandshakeId":"h-Good000000000002","Status":"Pending","ExpireTime":"2024-01-02T03:04:05Z"}]}}`)
	})
	c := fastClient(t, s.URL, Options{})
	var good []string
	var bad []*handshake.RecordError
	for h, err := range c.Handshakes(context.Background()) {
		if re, ok := errors.AsType[*handshake.RecordError](err); ok {
			if h.HandshakeID != re.HandshakeID {
				t.Errorf("the Handshake yielded with the RecordError is %q, want its ID %q", h.HandshakeID, re.HandshakeID)
			}
			bad = append(bad, re)
			continue
		}
		if err != nil {
			t.Fatalf("listing failed: %v", err)
		}
		good = append(good, h.HandshakeID)
	}
	if len(good) != 2 || good[0] != "h-Good000000000001" || good[1] != "h-Good000000000002" {
		t.Errorf("listed %q, want both good records", good)
	}
	if len(bad) != 1 || bad[0].HandshakeID != "h-Bad0000000000001" {
		t.Fatalf("RecordErrors %v, want the one malformed record", bad)
	}
	if msg := bad[0].Error(); !strings.Contains(msg, "h-Bad0000000000001") || !strings.Contains(msg, "CreateTime") || !strings.Contains(msg, "yesterday") {
		t.Errorf("RecordError %q does not name the ID, the field and the value", msg)
	}
}
