package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// acceptedPayload says, in errors, what a payload may be.
const acceptedPayload = `want {"handshakeIds":["h-..."]}, {"handshakeId":"h-..."} or {"sweep":{"olderThan":"72h"}}, each with optional "dryRun":true, ` +
	`or handshake IDs as text separated by commas, spaces or newlines`

// The fields of a payload object and of its "sweep", in the order errors list them.
var (
	payloadFields = []string{"handshakeIds", "handshakeId", "dryRun", "sweep"}
	sweepFields   = []string{"olderThan", "targetType", "targetEntity", "allowedTargets"}
)

// payload is one payload read by the grammar. Neither IDs nor a sweep means
// it asked for nothing in particular (empty, null, {}, {"dryRun":true}).
type payload struct {
	ids    []string
	dryRun bool
	sweep  *janitor.Sweep // non-nil: an explicit {"sweep":{...}}
}

// job is the Job of a payload from a trigger that may ask for a sweep: the
// IDs it names as one Item keyed key, or else a sweep (the configured policy
// when the payload gave none).
func (p payload) job(key string) janitor.Job {
	if len(p.ids) > 0 {
		return janitor.Job{Items: []janitor.Item{{Key: key, IDs: p.ids}}, DryRun: p.dryRun}
	}
	s := p.sweep
	if s == nil {
		s = &janitor.Sweep{}
	}
	return janitor.Job{Sweep: s, DryRun: p.dryRun}
}

// parsePayload reads b by the payload grammar, within the limits.
func parsePayload(b []byte, k directory.Kind) (payload, error) {
	if len(b) > MaxPayloadBytes {
		return payload{}, fmt.Errorf("%w: the payload is %d bytes, over the limit of %d (256 KiB)", ErrTooLarge, len(b), MaxPayloadBytes)
	}
	if !utf8.Valid(b) {
		return payload{}, fmt.Errorf("%w: the payload is not valid UTF-8 (bad byte at offset %d); %s", ErrInvalidPayload, badUTF8(b), acceptedPayload)
	}
	return parseText(b, false, k)
}

// parseText reads a valid UTF-8 payload. inString is true for the content
// of a JSON string, which may not be a JSON string again.
func parseText(b []byte, inString bool, k directory.Kind) (payload, error) {
	t := trim(b)
	if len(t) == 0 || string(t) == "null" {
		return payload{}, nil
	}
	switch t[0] {
	case '{':
		if err := checkDuplicateKeys(t); err != nil {
			return payload{}, fmt.Errorf("%w: in the payload, %w", ErrInvalidPayload, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return payload{}, fmt.Errorf("%w: the payload starts like a JSON object but is not one (%s); %s", ErrInvalidPayload, jsonError(err), acceptedPayload)
		}
		return payloadObject(m, k)
	case '[':
		return payload{}, fmt.Errorf("%w: the payload is a JSON array %s; %s", ErrInvalidPayload, handshake.Quote(string(t), quoteMax), acceptedPayload)
	case '"':
		if inString {
			return payload{}, fmt.Errorf("%w: the payload is a JSON string inside a JSON string; %s", ErrInvalidPayload, acceptedPayload)
		}
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return payload{}, fmt.Errorf("%w: the payload starts like a JSON string but is not one (%s); %s", ErrInvalidPayload, jsonError(err), acceptedPayload)
		}
		return parseText([]byte(s), true, k)
	}
	ids, err := splitIDs(t)
	return payload{ids: ids}, err
}

// splitIDs splits text at commas and white space (spaces, tabs, newlines).
func splitIDs(t []byte) ([]string, error) {
	var ids []string
	n := 0
	for f := range bytes.FieldsFuncSeq(t, isSeparator) {
		if n < MaxIDs {
			ids = append(ids, string(f))
		}
		n++
	}
	if n > MaxIDs {
		return nil, tooManyIDs(n)
	}
	return ids, nil
}

func isSeparator(r rune) bool { return r == ',' || unicode.IsSpace(r) }

func tooManyIDs(n int) error {
	return fmt.Errorf("%w: the payload names %d invitations, more than the limit of %d: split it into several messages", ErrTooManyIDs, n, MaxIDs)
}

// payloadObject reads the fields of a payload object, strictly.
func payloadObject(m map[string]json.RawMessage, k directory.Kind) (payload, error) {
	if err := unknownFields(m, payloadFields, "the payload"); err != nil {
		return payload{}, err
	}
	var p payload
	if raw, ok := m["handshakeId"]; ok && !isNull(raw) {
		var id string
		if err := json.Unmarshal(raw, &id); err != nil {
			return payload{}, fmt.Errorf(`%w: "handshakeId" is %s, want a string such as "h-Ab12Cd34Ef56Gh78"`, ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
		}
		p.ids = append(p.ids, id)
	}
	if raw, ok := m["handshakeIds"]; ok && !isNull(raw) {
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			return payload{}, fmt.Errorf(`%w: "handshakeIds" is %s, want an array of strings such as ["h-Ab12Cd34Ef56Gh78"]`, ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
		}
		if len(ids) == 0 {
			return payload{}, fmt.Errorf(`%w: "handshakeIds" is empty: name at least one invitation, or send {"sweep":{}} to sweep`, ErrInvalidPayload)
		}
		p.ids = append(p.ids, ids...)
	}
	if len(p.ids) > MaxIDs {
		return payload{}, tooManyIDs(len(p.ids))
	}
	if raw, ok := m["dryRun"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &p.dryRun); err != nil {
			return payload{}, fmt.Errorf(`%w: "dryRun" is %s, want true or false`, ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
		}
	}
	if raw, ok := m["sweep"]; ok && !isNull(raw) {
		s, err := parseSweep(raw, k)
		if err != nil {
			return payload{}, err
		}
		p.sweep = s
	}
	if p.sweep != nil && len(p.ids) > 0 {
		return payload{}, fmt.Errorf(`%w: the payload both names invitations and asks for a sweep: send one or the other`, ErrInvalidPayload)
	}
	return p, nil
}

// parseSweep reads a payload's "sweep" object.
func parseSweep(raw json.RawMessage, k directory.Kind) (*janitor.Sweep, error) {
	var m map[string]json.RawMessage
	if t := trim(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &m) != nil {
		return nil, fmt.Errorf(`%w: "sweep" is %s, want an object such as {"olderThan":"72h","targetType":"Account","targetEntity":"*@example.com","allowedTargets":["*@example.com"]} (every field optional)`,
			ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
	}
	if err := unknownFields(m, sweepFields, `"sweep"`); err != nil {
		return nil, err
	}
	var s janitor.Sweep
	str := func(field string) (string, error) {
		raw, ok := m[field]
		if !ok || isNull(raw) {
			return "", nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", fmt.Errorf(`%w: "sweep.%s" is %s, want a string`, ErrInvalidPayload, field, handshake.Quote(string(raw), quoteMax))
		}
		return v, nil
	}
	v, err := str("olderThan")
	if err != nil {
		return nil, err
	}
	if v != "" {
		if s.OlderThan, err = config.ParseDuration(v); err != nil {
			return nil, fmt.Errorf(`%w: "sweep.olderThan": %w`, ErrInvalidPayload, err)
		}
	}
	if v, err = str("targetType"); err != nil {
		return nil, err
	}
	if v != "" {
		if s.TargetType, err = handshake.ParseTargetType(v); err != nil {
			return nil, fmt.Errorf(`%w: "sweep.targetType": %w`, ErrInvalidPayload, err)
		}
	}
	if v, err = str("targetEntity"); err != nil {
		return nil, err
	}
	if s.TargetEntity, err = janitor.ParseGlob(v); err != nil {
		return nil, fmt.Errorf(`%w: "sweep.targetEntity": %w`, ErrInvalidPayload, err)
	}
	if raw, ok := m["allowedTargets"]; ok && !isNull(raw) {
		if s.AllowedTargets, err = parseAllowedTargets(raw, k); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// unknownFields returns an error naming the fields of m that are not in
// known (at most three, in sorted order so the message is stable), with a
// hint when one differs from a known field only in case.
func unknownFields(m map[string]json.RawMessage, known []string, what string) error {
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	var b strings.Builder
	for i, k := range unknown {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(unknown)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(handshake.Quote(k, quoteMax))
		for _, f := range known {
			if strings.EqualFold(k, f) {
				fmt.Fprintf(&b, " (did you mean %q?)", f)
			}
		}
	}
	s := "s"
	if len(unknown) == 1 {
		s = ""
	}
	return fmt.Errorf("%w: unknown field%s %s in %s: the accepted fields are %s", ErrInvalidPayload, s, b.String(), what, strings.Join(known, ", "))
}

func isNull(raw json.RawMessage) bool { return string(trim(raw)) == "null" }

// trim removes white space and a leading byte order mark.
func trim(b []byte) []byte {
	b = bytes.TrimSpace(b)
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	return bytes.TrimSpace(b)
}

// badUTF8 returns the offset of the first byte of b that is not valid UTF-8.
func badUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonError describes a JSON decoding error briefly, with its offset.
func jsonError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if strings.Contains(syn.Error(), "exceeded max depth") {
			return fmt.Sprintf("nested too deeply at byte %d", syn.Offset)
		}
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("a JSON %s where an object was expected", typ.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
