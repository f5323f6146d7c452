package orgemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Epoch is a time written as the AWS JSON protocols write timestamps:
// seconds since the Unix epoch, a JSON number with a fraction for
// milliseconds. It also reads an RFC 3339 string, for seed files.
type Epoch struct{ time.Time }

// MarshalJSON writes seconds since the epoch, e.g. 1733482800.123.
func (e Epoch) MarshalJSON() ([]byte, error) {
	ms := e.UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads a number of seconds since the epoch, or an RFC 3339
// string.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return errors.New("want epoch seconds or an RFC 3339 time, got " + strconv.Quote(bounded(s, 40)))
		}
		e.Time = t.UTC()
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return errors.New("want epoch seconds or an RFC 3339 time, got " + bounded(string(b), 40))
	}
	sec, frac := math.Modf(f)
	e.Time = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
	return nil
}

func epoch(t time.Time) *Epoch {
	if t.IsZero() {
		return nil
	}
	return &Epoch{t}
}

// WireHandshake is the API's JSON shape of a Handshake.
type WireHandshake struct {
	Action              string     `json:"Action,omitempty"`
	Arn                 string     `json:"Arn,omitempty"`
	ExpirationTimestamp *Epoch     `json:"ExpirationTimestamp,omitempty"`
	ID                  string     `json:"Id,omitempty"`
	Parties             []Party    `json:"Parties,omitempty"`
	RequestedTimestamp  *Epoch     `json:"RequestedTimestamp,omitempty"`
	Resources           []Resource `json:"Resources,omitempty"`
	State               string     `json:"State,omitempty"`
}

// Wire returns h in the API's JSON shape.
func (h Handshake) Wire() WireHandshake {
	return WireHandshake{
		Action: h.Action, Arn: h.Arn, ID: h.ID, State: h.State,
		Parties: h.Parties, Resources: h.Resources,
		RequestedTimestamp: epoch(h.RequestedAt), ExpirationTimestamp: epoch(h.ExpiresAt),
	}
}

type handshakeOutput struct {
	Handshake WireHandshake `json:"Handshake"`
}

type listOutput struct {
	Handshakes []WireHandshake `json:"Handshakes"`
	NextToken  *string         `json:"NextToken,omitempty"`
}

// decode reads the request body into v as the JSON protocol does: an empty
// body is an empty object; anything not a JSON object of the right field
// types is a SerializationException.
func decode(q *request, v any) *response {
	body := bytes.TrimSpace(q.body)
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return frontDoorError("SerializationException", "")
	}
	return nil
}

// peekHandshakeID returns the HandshakeId field of a JSON body, if any,
// for the call log and the per-handshake fault scripts.
func peekHandshakeID(body []byte) string {
	var in struct {
		HandshakeID any `json:"HandshakeId"`
	}
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	s, _ := in.HandshakeID.(string)
	return s
}

// handshakeID reads and validates HandshakeId as the API's model
// constrains it.
func handshakeID(q *request) (string, *response) {
	var in struct {
		HandshakeID *string `json:"HandshakeId"`
	}
	if bad := decode(q, &in); bad != nil {
		return "", bad
	}
	if in.HandshakeID == nil {
		r := invalidInput("INPUT_REQUIRED", "You must specify a value for HandshakeId.")
		return "", &r
	}
	if len(*in.HandshakeID) > 34 {
		r := invalidInput("MAX_LENGTH_EXCEEDED", "HandshakeId: the value is longer than 34 characters.")
		return "", &r
	}
	if !ValidID(*in.HandshakeID) {
		r := invalidInput("INVALID_PATTERN", "HandshakeId: the value does not match the pattern ^h-[0-9a-z]{8,32}$.")
		return "", &r
	}
	return *in.HandshakeID, nil
}

func (s *Server) move(q *request, to string) response {
	id, bad := handshakeID(q)
	if bad != nil {
		return *bad
	}
	h, refused := s.transition(id, to, s.clock())
	if refused != nil {
		return *refused
	}
	return ok(handshakeOutput{h.Wire()})
}

func (s *Server) cancelHandshake(q *request) response  { return s.move(q, StateCanceled) }
func (s *Server) acceptHandshake(q *request) response  { return s.move(q, StateAccepted) }
func (s *Server) declineHandshake(q *request) response { return s.move(q, StateDeclined) }

func (s *Server) describeHandshake(q *request) response {
	id, bad := handshakeID(q)
	if bad != nil {
		return *bad
	}
	h, found := s.Get(id)
	if !found {
		return apiError(codeNotFound, msgNotFound)
	}
	return ok(handshakeOutput{h.Wire()})
}

// Paging limits of ListHandshakesForOrganization.
const (
	MaxResults     = 20
	DefaultResults = 20
)

// pageToken is what a NextToken carries: where the next page starts, and
// the filter it was issued for.
type pageToken struct {
	From   int    `json:"f"`
	Action string `json:"a,omitempty"`
	Parent string `json:"p,omitempty"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) listHandshakes(q *request) response {
	var in struct {
		Filter *struct {
			ActionType        *string `json:"ActionType"`
			ParentHandshakeID *string `json:"ParentHandshakeId"`
		} `json:"Filter"`
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
	}
	if bad := decode(q, &in); bad != nil {
		return *bad
	}
	size := DefaultResults
	if in.MaxResults != nil {
		switch n := *in.MaxResults; {
		case n < 1:
			return invalidInput("MIN_VALUE_EXCEEDED", "MaxResults: the value must be at least 1.")
		case n > MaxResults:
			return invalidInput("MAX_VALUE_EXCEEDED", "MaxResults: the value must be at most 20.")
		default:
			size = n
		}
	}
	var want pageToken
	if f := in.Filter; f != nil {
		if f.ActionType != nil && f.ParentHandshakeID != nil {
			return invalidInput("MAX_LIMIT_EXCEEDED_FILTER", "Filter: specify ActionType or ParentHandshakeId, not both.")
		}
		if f.ActionType != nil {
			if !contains(Actions, *f.ActionType) {
				return invalidInput("INVALID_ENUM", "Filter.ActionType: the value is not one of "+strings.Join(Actions, ", ")+".")
			}
			want.Action = *f.ActionType
		}
		if f.ParentHandshakeID != nil {
			if !ValidID(*f.ParentHandshakeID) {
				return invalidInput("INVALID_PATTERN", "Filter.ParentHandshakeId: the value does not match the pattern ^h-[0-9a-z]{8,32}$.")
			}
			want.Parent = *f.ParentHandshakeID
		}
	}
	from := 0
	if in.NextToken != nil {
		t, good := decodeToken(*in.NextToken)
		if !good || t.Action != want.Action || t.Parent != want.Parent {
			return invalidInput("INVALID_NEXT_TOKEN", "The NextToken is not valid for this request.")
		}
		from = t.From
	}
	hs, next := s.page(from, size, want.Action, want.Parent, s.clock())
	out := listOutput{Handshakes: make([]WireHandshake, len(hs))}
	for i, h := range hs {
		out.Handshakes[i] = h.Wire()
	}
	if next > 0 {
		want.From = next
		tok := want.encode()
		out.NextToken = &tok
	}
	return ok(out)
}

func decodeToken(s string) (pageToken, bool) {
	var t pageToken
	if len(s) > 512 {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.From < 1 {
		return t, false
	}
	return t, true
}

var (
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	emailPattern   = regexp.MustCompile(`^[^\s@]+@[^\s@]+$`)
)

// maxNotes is the length limit of InviteAccountToOrganization's Notes.
const maxNotes = 1024

func (s *Server) inviteAccount(q *request) response {
	var in struct {
		Target *struct {
			ID   *string `json:"Id"`
			Type *string `json:"Type"`
		} `json:"Target"`
		Notes *string `json:"Notes"`
	}
	if bad := decode(q, &in); bad != nil {
		return *bad
	}
	if in.Target == nil || in.Target.ID == nil || in.Target.Type == nil {
		return invalidInput("INPUT_REQUIRED", "You must specify a Target with Id and Type.")
	}
	id, typ := *in.Target.ID, *in.Target.Type
	switch typ {
	case PartyAccount:
		if !accountPattern.MatchString(id) {
			return invalidInput("INVALID_PATTERN_TARGET_ID", "Target.Id: an account ID is 12 digits.")
		}
	case PartyEmail:
		if len(id) < 6 || len(id) > 64 || !emailPattern.MatchString(id) {
			return invalidInput("INVALID_EMAIL_ADDRESS_TARGET", "Target.Id: the value is not a valid email address.")
		}
	default:
		return invalidInput("INVALID_PARTY_TYPE_TARGET", "Target.Type: the value must be ACCOUNT or EMAIL.")
	}
	notes := ""
	if in.Notes != nil {
		notes = *in.Notes
		if len(notes) > maxNotes || !utf8.ValidString(notes) {
			return invalidInput("MAX_LENGTH_EXCEEDED", "Notes: the value is longer than 1024 characters.")
		}
	}
	now := millis(s.clock())
	h := Handshake{
		Action:      ActionInvite,
		State:       StateOpen,
		Parties:     []Party{{ID: s.org, Type: PartyOrganization}, {ID: id, Type: typ}},
		Resources:   s.inviteResources(id, typ, notes),
		RequestedAt: now,
		ExpiresAt:   now.Add(ValidFor),
	}
	h, added := s.add(h, now)
	if !added {
		return apiError(codeDuplicateHandshake, "A handshake with the same action and target already exists.")
	}
	return ok(handshakeOutput{h.Wire()})
}

// inviteResources are the resources the service attaches to an invitation.
func (s *Server) inviteResources(target, typ, notes string) []Resource {
	rs := []Resource{
		{Type: "MASTER_EMAIL", Value: s.mgmtEmail},
		{Type: "MASTER_NAME", Value: s.mgmtName},
		{Type: "ORGANIZATION_FEATURE_SET", Value: "ALL"},
		{Type: typ, Value: target},
	}
	if notes != "" {
		rs = append(rs, Resource{Type: "NOTES", Value: notes})
	}
	return rs
}
