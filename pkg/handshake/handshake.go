// Package handshake is the domain of handshake-janitor: the invitation
// ("handshake") of an Alibaba Cloud Resource Directory, its validated ID, its
// status, and the outcome the janitor reports for it.
package handshake

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// IDLength is the length of a handshake ID: "h-" and 16 letters or digits.
const IDLength = 18

// ErrInvalidID is wrapped by every error ParseID returns.
var ErrInvalidID = errors.New("invalid handshake ID")

// ID is a handshake ID that passed validation. Only ParseID makes one from
// untrusted input, so an ID never carries anything but "h-" and 16 ASCII
// letters or digits.
type ID string

// String returns the ID as the API spells it.
func (id ID) String() string { return string(id) }

// ParseID validates s as a handshake ID: "h-" followed by 16 ASCII letters or
// digits, in either case (the API's own examples use mixed case). The error
// wraps ErrInvalidID, quotes a bounded part of s, and says what is accepted.
func ParseID(s string) (ID, error) {
	if len(s) != IDLength || s[0] != 'h' || s[1] != '-' {
		return "", invalidID(s)
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return "", invalidID(s)
		}
	}
	return ID(s), nil
}

func invalidID(s string) error {
	return fmt.Errorf("%w %s: want \"h-\" followed by 16 letters or digits", ErrInvalidID, Quote(s, 40))
}

// These three functions are how untrusted text (an ID as the sender wrote
// it, a record's key, a payload, a setting) is shown: bounded, and quoted
// wherever it is not encoded later.

// Quote returns s as a Go-quoted string cut to at most max bytes of s, so
// that hostile input (control characters, invalid UTF-8, megabytes) is safe
// to put in an error or a log line.
func Quote(s string, max int) string {
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:runeCut(s, max)]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// Cut returns s when it is at most max bytes long, else its first max
// bytes (less any partial rune) and "...": for a field that is encoded
// later (a JSON Result, a log line's field), where only the length needs a
// bound.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:runeCut(s, max)] + "..."
}

// Show returns s as it is when it is a plain token of at most max bytes
// (ASCII letters, digits and - _ . : @ * + / =, as IDs, message IDs, error
// codes and redacted targets are), else Quote(s, max): for text that goes
// into a message or a table as it is.
func Show(s string, max int) string {
	if s == "" || len(s) > max {
		return Quote(s, max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.:@*+/=", c) >= 0) {
			return Quote(s, max)
		}
	}
	return s
}

// runeCut returns the largest n <= max at which s may be cut without
// splitting a rune (len(s) > max).
func runeCut(s string, max int) int {
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return max
}

// Status is the state of an invitation as the API reports it.
type Status string

// The statuses the API documents. Cancelled is spelled with two Ls.
const (
	StatusPending   Status = "Pending"
	StatusAccepted  Status = "Accepted"
	StatusCancelled Status = "Cancelled"
	StatusDeclined  Status = "Declined"
	StatusExpired   Status = "Expired"
)

// TargetType is the kind of entity invited.
type TargetType string

// The target types the API documents.
const (
	TargetAccount TargetType = "Account"
	TargetEmail   TargetType = "Email"
)

// ParseTargetType accepts "Account" or "Email" (any case).
func ParseTargetType(s string) (TargetType, error) {
	switch {
	case equalFold(s, string(TargetAccount)):
		return TargetAccount, nil
	case equalFold(s, string(TargetEmail)):
		return TargetEmail, nil
	}
	return "", fmt.Errorf("invalid target type %s: want Account or Email", Quote(s, 40))
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// TimeLayout is how the API writes times: UTC, second precision.
const TimeLayout = "2006-01-02T15:04:05Z"

// Handshake is an invitation with every field the API returns.
type Handshake struct {
	HandshakeID         string
	ResourceDirectoryID string
	MasterAccountID     string
	MasterAccountName   string
	TargetEntity        string
	TargetType          TargetType
	Note                string
	Status              Status
	CreateTime          time.Time
	ModifyTime          time.Time
	ExpireTime          time.Time
}

// Wire is the API's JSON and XML shape of a Handshake: every field a
// string as the service writes it. A client that decodes answers itself
// decodes into Wire and converts with Wire.Handshake, which reads the times
// exactly as Handshake's UnmarshalJSON does.
type Wire struct {
	HandshakeID         string     `json:"HandshakeId" xml:"HandshakeId"`
	ResourceDirectoryID string     `json:"ResourceDirectoryId" xml:"ResourceDirectoryId"`
	MasterAccountID     string     `json:"MasterAccountId" xml:"MasterAccountId"`
	MasterAccountName   string     `json:"MasterAccountName" xml:"MasterAccountName"`
	TargetEntity        string     `json:"TargetEntity" xml:"TargetEntity"`
	TargetType          TargetType `json:"TargetType" xml:"TargetType"`
	Note                string     `json:"Note" xml:"Note"`
	Status              Status     `json:"Status" xml:"Status"`
	CreateTime          string     `json:"CreateTime" xml:"CreateTime"`
	ModifyTime          string     `json:"ModifyTime" xml:"ModifyTime"`
	ExpireTime          string     `json:"ExpireTime" xml:"ExpireTime"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		// Accept any RFC 3339 time as well: the API documents UTC with a Z,
		// but a tolerant reader costs nothing.
		if t2, err2 := time.Parse(time.RFC3339, s); err2 == nil {
			return t2.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("handshake %s: %s: want UTC like 2006-01-02T15:04:05Z", field, Quote(s, 40))
	}
	return t, nil
}

// Wire returns h in the API's wire shape.
func (h Handshake) Wire() Wire {
	return Wire{
		HandshakeID:         h.HandshakeID,
		ResourceDirectoryID: h.ResourceDirectoryID,
		MasterAccountID:     h.MasterAccountID,
		MasterAccountName:   h.MasterAccountName,
		TargetEntity:        h.TargetEntity,
		TargetType:          h.TargetType,
		Note:                h.Note,
		Status:              h.Status,
		CreateTime:          formatTime(h.CreateTime),
		ModifyTime:          formatTime(h.ModifyTime),
		ExpireTime:          formatTime(h.ExpireTime),
	}
}

// Handshake converts w, parsing its times as UTC in TimeLayout (or any RFC
// 3339 time); the error names the field that is not a time.
func (w Wire) Handshake() (Handshake, error) {
	h := Handshake{
		HandshakeID:         w.HandshakeID,
		ResourceDirectoryID: w.ResourceDirectoryID,
		MasterAccountID:     w.MasterAccountID,
		MasterAccountName:   w.MasterAccountName,
		TargetEntity:        w.TargetEntity,
		TargetType:          w.TargetType,
		Note:                w.Note,
		Status:              w.Status,
	}
	var err error
	if h.CreateTime, err = parseTime("CreateTime", w.CreateTime); err != nil {
		return Handshake{}, err
	}
	if h.ModifyTime, err = parseTime("ModifyTime", w.ModifyTime); err != nil {
		return Handshake{}, err
	}
	if h.ExpireTime, err = parseTime("ExpireTime", w.ExpireTime); err != nil {
		return Handshake{}, err
	}
	return h, nil
}

// MarshalJSON writes the API's shape: HandshakeId, ..., times as UTC strings.
func (h Handshake) MarshalJSON() ([]byte, error) { return json.Marshal(h.Wire()) }

// UnmarshalJSON reads the API's shape.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	var w Wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := w.Handshake()
	*h = v
	return err
}

// MarshalXML writes the API's XML shape.
func (h Handshake) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(h.Wire(), start)
}

// UnmarshalXML reads the API's XML shape.
func (h *Handshake) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w Wire
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	v, err := w.Handshake()
	*h = v
	return err
}

// Outcome is what the janitor did with one invitation.
type Outcome string

// The outcomes. Outcomes lists them; a new one is a constant here and an
// entry there.
const (
	OutcomeCancelled Outcome = "cancelled" // the API cancelled it
	OutcomeSkipped   Outcome = "skipped"   // nothing to do: already finished, or a checked invitation left open
	OutcomeNotFound  Outcome = "not_found" // the directory has no such invitation
	OutcomeInvalid   Outcome = "invalid"   // failed validation; no API call made
	OutcomeDryRun    Outcome = "dry_run"   // would be cancelled
	OutcomeFailed    Outcome = "failed"    // not finished: the platform should redeliver
)

// Outcomes returns every outcome, in report order: the one list the
// summary, its log line and metrics, and the CLI's report are built from.
func Outcomes() []Outcome { return slices.Clone(outcomes[:]) }

var outcomes = [...]Outcome{OutcomeCancelled, OutcomeSkipped, OutcomeNotFound, OutcomeInvalid, OutcomeDryRun, OutcomeFailed}

// Known reports whether o is one of Outcomes.
func (o Outcome) Known() bool { return slices.Contains(outcomes[:], o) }

// Redeliver reports whether a queue record holding this outcome must go back
// to the queue: failed ones so they are tried again, invalid ones so that the
// queue's redrive policy dead-letters them instead of dropping them.
func (o Outcome) Redeliver() bool { return o == OutcomeFailed || o == OutcomeInvalid }

// RecordError is one listed invitation whose record could not be read (a
// malformed time, say). A listing yields it as an error and goes on with
// the next record: it spoils only itself.
type RecordError struct {
	HandshakeID string // as the record spells it (unbounded: quote it)
	Err         error  // why it could not be read
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("listed invitation %s could not be read: %v", Quote(e.HandshakeID, 64), e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }
