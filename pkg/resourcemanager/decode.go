package resourcemanager

import (
	"encoding/json"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// JSON answers are decoded in one pass into the wire shapes below, then
// converted. Decoding straight into handshake.Handshake would go through
// its UnmarshalJSON, for which encoding/json first scans the object to find
// its end, and UnmarshalJSON validates and decodes it again: three passes
// over every invitation. handshake.Wire.Handshake is the one conversion, so
// the client reads times exactly as the domain type does.

// jsonDecoder is an answer that decodes its JSON itself.
type jsonDecoder interface {
	decodeJSON(b []byte) error
}

func (r *handshakeResponse) decodeJSON(b []byte) error {
	var w struct {
		RequestID string         `json:"RequestId"`
		Handshake handshake.Wire `json:"Handshake"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	h, err := w.Handshake.Handshake()
	if err != nil {
		return err
	}
	r.RequestID, r.Handshake = w.RequestID, h
	return nil
}

func (r *listResponse) decodeJSON(b []byte) error {
	var w struct {
		RequestID  string `json:"RequestId"`
		Handshakes struct {
			Handshake []handshake.Wire `json:"Handshake"`
		} `json:"Handshakes"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	list := make([]handshake.Handshake, 0, len(w.Handshakes.Handshake))
	var bad []*handshake.RecordError
	for i := range w.Handshakes.Handshake {
		h, err := w.Handshakes.Handshake[i].Handshake()
		if err != nil {
			// One unreadable record spoils only itself.
			bad = append(bad, &handshake.RecordError{HandshakeID: w.Handshakes.Handshake[i].HandshakeID, Err: err})
			continue
		}
		list = append(list, h)
	}
	r.RequestID, r.Handshakes, r.Malformed = w.RequestID, list, bad
	return nil
}
