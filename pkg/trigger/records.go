package trigger

import (
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

// batch collects the records of a queue or topic event, one Item each.
type batch struct {
	k     directory.Kind // the directory a payload's target patterns are for
	items []janitor.Item
	dry   []bool // per item: the record asked for "dryRun":true
	ids   int    // IDs named by the records decoded so far
}

// fail adds a record that could not be decoded.
func (b *batch) fail(key string, err error) {
	b.items = append(b.items, janitor.Item{Key: key, Err: err})
	b.dry = append(b.dry, false)
}

// record adds a record whose payload is body (or whose body could not be
// read, when err is set).
func (b *batch) record(key string, body []byte, err error) {
	if err != nil {
		b.fail(key, err)
		return
	}
	p, err := parsePayload(body, b.k)
	switch {
	case err != nil:
		b.fail(key, err)
	case p.sweep != nil:
		b.fail(key, fmt.Errorf("%w: a queue message names invitations; a sweep is asked for by a timer, a schedule or a direct invocation", ErrInvalidPayload))
	case len(p.ids) == 0:
		b.fail(key, fmt.Errorf("%w: the message names no invitation; %s", ErrInvalidPayload, acceptedPayload))
	case b.ids+len(p.ids) > MaxIDs:
		b.fail(key, fmt.Errorf("%w: the message names %d invitations and the messages before it in this event %d, more than the limit of %d for one event: it goes back to the queue for a later invocation",
			ErrTooManyIDs, len(p.ids), b.ids, MaxIDs))
	default:
		b.ids += len(p.ids)
		b.items = append(b.items, janitor.Item{Key: key, IDs: p.ids})
		b.dry = append(b.dry, p.dryRun)
	}
}

// job returns the Job of the batch. A dry run is asked for by the whole
// batch or not at all: when decoded records disagree, the dry-run ones
// become record errors and go back to the queue, rather than the others
// being cancelled in a dry run (and so not at all) or them for real.
func (b *batch) job() janitor.Job {
	decoded, dry := 0, 0
	for i, it := range b.items {
		if it.Err == nil {
			decoded++
			if b.dry[i] {
				dry++
			}
		}
	}
	if decoded > 0 && dry == decoded {
		return janitor.Job{Items: b.items, DryRun: true}
	}
	if dry > 0 {
		for i := range b.items {
			if b.items[i].Err == nil && b.dry[i] {
				b.items[i] = janitor.Item{Key: b.items[i].Key, Err: fmt.Errorf(
					`%w: the message asks for "dryRun":true but shares its batch with messages that do not: it goes back to the queue to run on its own`, ErrInvalidPayload)}
			}
		}
	}
	return janitor.Job{Items: b.items}
}

// messageBody returns the payload an MNS message body carries: the body
// itself when it starts like JSON or holds a byte outside the standard
// base64 alphabet (every handshake ID holds '-'), else the body decoded
// from standard base64, line breaks ignored.
func messageBody(body []byte) ([]byte, error) {
	t := trim(body)
	if len(t) == 0 || t[0] == '{' || t[0] == '[' || t[0] == '"' {
		return body, nil
	}
	if len(t) > maxBase64Bytes {
		// Too long to decode within the limit, and too long as it is:
		// parsePayload refuses it without a byte-by-byte look.
		return body, nil
	}
	compact := make([]byte, 0, len(t))
	for _, c := range t {
		switch {
		case c == '\r' || c == '\n':
		case isBase64(c):
			compact = append(compact, c)
		default:
			return body, nil
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(compact)))
	n, err := base64.StdEncoding.Decode(out, compact)
	if err != nil {
		var corrupt base64.CorruptInputError
		at := ""
		if errors.As(err, &corrupt) {
			at = fmt.Sprintf(" (at base64 character %d)", int64(corrupt))
		}
		return nil, fmt.Errorf("%w: the message body %s is neither a payload (a JSON object, or handshake IDs) nor standard base64%s; %s",
			ErrInvalidPayload, handshake.Quote(string(t), quoteMax), at, acceptedPayload)
	}
	out = out[:n]
	if !utf8.Valid(out) {
		return nil, fmt.Errorf("%w: the message body %s decodes from base64 to bytes that are not UTF-8 text (bad byte at offset %d); %s",
			ErrInvalidPayload, handshake.Quote(string(t), quoteMax), badUTF8(out), acceptedPayload)
	}
	return out, nil
}

// maxBase64Bytes is the longest base64 text (line breaks included) that
// may decode to a payload within MaxPayloadBytes.
const maxBase64Bytes = (MaxPayloadBytes+2)/3*4 + 2*(MaxPayloadBytes/57+1)

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}
