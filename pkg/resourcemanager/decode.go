package resourcemanager

import (
	"encoding/json"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// JSON answers are decoded in one pass into the wire shapes below, then
// converted. Decoding straight into handshake.Handshake would go through
// its UnmarshalJSON, for which encoding/json first scans the object to find
// its end, and UnmarshalJSON validates and decodes it again: three passes
// over every invitation, the largest CPU cost of a call after the network
// (README.md, "Performance"). The conversion keeps handshake's own reading:
// the API's time layout on the fast path, and handshake.Handshake's
// UnmarshalJSON (tolerant of other RFC 3339 times, and the source of its
// errors) for anything else.

// jsonDecoder is an answer that decodes its JSON itself.
type jsonDecoder interface {
	decodeJSON(b []byte) error
}

// wireHandshake is an invitation as the API writes it in JSON.
type wireHandshake struct {
	HandshakeID         string               `json:"HandshakeId"`
	ResourceDirectoryID string               `json:"ResourceDirectoryId"`
	MasterAccountID     string               `json:"MasterAccountId"`
	MasterAccountName   string               `json:"MasterAccountName"`
	TargetEntity        string               `json:"TargetEntity"`
	TargetType          handshake.TargetType `json:"TargetType"`
	Note                string               `json:"Note"`
	Status              handshake.Status     `json:"Status"`
	CreateTime          string               `json:"CreateTime"`
	ModifyTime          string               `json:"ModifyTime"`
	ExpireTime          string               `json:"ExpireTime"`
}

// handshake converts w as handshake.Handshake's UnmarshalJSON would.
func (w *wireHandshake) handshake() (handshake.Handshake, error) {
	h := handshake.Handshake{
		HandshakeID:         w.HandshakeID,
		ResourceDirectoryID: w.ResourceDirectoryID,
		MasterAccountID:     w.MasterAccountID,
		MasterAccountName:   w.MasterAccountName,
		TargetEntity:        w.TargetEntity,
		TargetType:          w.TargetType,
		Note:                w.Note,
		Status:              w.Status,
	}
	ok1, ok2, ok3 := apiTime(w.CreateTime, &h.CreateTime), apiTime(w.ModifyTime, &h.ModifyTime), apiTime(w.ExpireTime, &h.ExpireTime)
	if ok1 && ok2 && ok3 {
		return h, nil
	}
	// Not the API's own layout: let the domain type read it (or say why
	// it cannot).
	b, err := json.Marshal(w)
	if err != nil {
		return handshake.Handshake{}, err
	}
	h = handshake.Handshake{}
	err = h.UnmarshalJSON(b)
	return h, err
}

// apiTime parses s in the API's layout into *t and reports whether it
// could; an empty s is the zero time.
func apiTime(s string, t *time.Time) bool {
	if s == "" {
		*t = time.Time{}
		return true
	}
	v, err := time.Parse(handshake.TimeLayout, s)
	*t = v
	return err == nil
}

func (r *handshakeResponse) decodeJSON(b []byte) error {
	var w struct {
		RequestID string        `json:"RequestId"`
		Handshake wireHandshake `json:"Handshake"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	h, err := w.Handshake.handshake()
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
			Handshake []wireHandshake `json:"Handshake"`
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
		h, err := w.Handshakes.Handshake[i].handshake()
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
