package resourcemanager

import (
	"encoding/json"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// JSON answers are decoded in one pass into the wire shapes below, then
// converted. Decoding straight into handshake.Handshake would go through
// its UnmarshalJSON, for which encoding/json first scans the object to find
// its end, and UnmarshalJSON validates and decodes it again: three passes
// over every invitation, the largest CPU cost of a call after the network
// (README.md, "Performance"). handshake.Wire.Handshake is the one
// conversion, so the client reads times exactly as the domain type does.

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
		PageNumber int    `json:"PageNumber"`
		PageSize   int    `json:"PageSize"`
		TotalCount int    `json:"TotalCount"`
		Handshakes struct {
			Handshake []handshake.Wire `json:"Handshake"`
		} `json:"Handshakes"`
	}
	// json appends to it from length 0, decoding each element over what
	// the array held before: zero it first, or a field (or a whole
	// element, for null) missing from this page would keep the last one's.
	clear(r.wire[:cap(r.wire)])
	w.Handshakes.Handshake = r.wire[:0]
	err := json.Unmarshal(b, &w)
	if cap(w.Handshakes.Handshake) > 0 {
		r.wire = w.Handshakes.Handshake[:0]
	}
	if err != nil {
		return err
	}
	var list []handshake.Handshake
	if w.Handshakes.Handshake != nil {
		list = r.Handshakes.Handshake[:0]
	}
	for i := range w.Handshakes.Handshake {
		h, err := w.Handshakes.Handshake[i].Handshake()
		if err != nil {
			return err
		}
		list = append(list, h)
	}
	if list == nil && w.Handshakes.Handshake != nil {
		list = []handshake.Handshake{}
	}
	r.RequestID, r.PageNumber, r.PageSize, r.TotalCount = w.RequestID, w.PageNumber, w.PageSize, w.TotalCount
	r.Handshakes.Handshake = list
	return nil
}
