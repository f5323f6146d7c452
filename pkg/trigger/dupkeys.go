package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// ErrDuplicateKey is wrapped by the error of JSON text in which an object
// holds a key twice.
var ErrDuplicateKey = errors.New("duplicate key")

// DuplicateKeyError is a JSON object, at any depth, holding a key twice:
// Go's decoder would keep the last value, a different reader the first, so
// the text is refused rather than read either way. Keys that differ only in
// case count as the same, since Go's decoder matches a struct field so.
type DuplicateKeyError struct {
	Key  string // the key's second appearance, as written (unbounded: quote it)
	Path string // where the object is, such as `Records[0]` or `sweep`; empty at the top
}

func (e *DuplicateKeyError) Error() string {
	where := "the top-level object"
	if e.Path != "" {
		where = handshake.Quote(e.Path, quoteMax)
	}
	return fmt.Sprintf("key %s appears twice in %s: give each key once", handshake.Quote(e.Key, quoteMax), where)
}

func (e *DuplicateKeyError) Unwrap() error { return ErrDuplicateKey }

// maxKeyDepth is how deep checkDuplicateKeys follows nesting: json.Unmarshal
// refuses anything deeper, so the decoders report it.
const maxKeyDepth = 10000

// keyFrame is an object or array checkDuplicateKeys is inside.
type keyFrame struct {
	object bool
	keys   map[string]struct{} // objects: the folded keys seen so far
	key    string              // objects: the current key, as written
	index  int                 // arrays: the current element
	value  bool                // objects: the next token is the key's value
}

// valueDone moves the frame past the value it was reading.
func (f *keyFrame) valueDone() {
	if f.object {
		f.value = false
	} else {
		f.index++
	}
}

// checkDuplicateKeys returns a *DuplicateKeyError for the first object in
// the JSON text b, at any depth, that holds a key twice. It is the one rule
// every decoder of this package applies to what it reads as JSON: an
// envelope, a record, a payload. Text that is not valid JSON is not its
// business (it returns nil): the decoders report that themselves.
func checkDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []keyFrame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or not JSON: the decoders say so
		}
		top := len(stack) - 1
		d, delim := tok.(json.Delim)
		switch {
		case delim && (d == '}' || d == ']'):
			stack = stack[:top]
			if top > 0 {
				stack[top-1].valueDone()
			}
		case top >= 0 && stack[top].object && !stack[top].value:
			key, _ := tok.(string)
			f := &stack[top]
			folded := strings.ToLower(strings.ToUpper(key))
			if _, dup := f.keys[folded]; dup {
				return &DuplicateKeyError{Key: key, Path: keyPath(stack[:top])}
			}
			if f.keys == nil {
				f.keys = make(map[string]struct{}, 4)
			}
			f.keys[folded] = struct{}{}
			f.key, f.value = key, true
		case delim:
			if len(stack) >= maxKeyDepth {
				return nil
			}
			stack = append(stack, keyFrame{object: d == '{'})
		case top >= 0:
			stack[top].valueDone()
		}
	}
}

// keyPath names where the innermost of stack's frames is: each object's
// current key joined by dots, each array's index in brackets.
func keyPath(stack []keyFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}
