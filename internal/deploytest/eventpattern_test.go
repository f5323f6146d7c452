package deploytest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// matchPattern reports whether an EventBridge event pattern matches an
// event (both as decoded JSON), under EventBridge's content filtering rules
// for the parts the template's rules use:
//
//   - an object in the pattern matches the event's object at that key,
//     field by field (all must match; fields the pattern omits are free);
//   - an array in the pattern lists the accepted values of a leaf: the
//     field matches when one of them does, and a field holding an array
//     matches when one of its elements does;
//   - a value is a literal (string, number, boolean or null, compared with
//     its type) or an operator object: exists, prefix, suffix,
//     equals-ignore-case, anything-but (a value or a list of them).
//
// Any other operator fails the test, so a pattern is never checked by
// rules this function does not have.
func matchPattern(t *testing.T, pattern, event any) bool {
	t.Helper()
	p, ok := pattern.(map[string]any)
	if !ok {
		t.Fatalf("event pattern %v (%T): want an object", pattern, pattern)
	}
	ev, _ := event.(map[string]any) // absent or not an object: no fields
	for key, want := range p {
		got, present := ev[key]
		switch want := want.(type) {
		case map[string]any:
			if !matchPattern(t, want, got) {
				return false
			}
		case []any:
			if !matchLeaf(t, want, got, present) {
				return false
			}
		default:
			t.Fatalf("event pattern field %q = %v (%T): want an object or an array", key, want, want)
		}
	}
	return true
}

// matchLeaf reports whether one of the accepted values matches the field.
func matchLeaf(t *testing.T, accepted []any, got any, present bool) bool {
	t.Helper()
	values := []any{got}
	if list, ok := got.([]any); ok {
		values = list
	}
	for _, a := range accepted {
		op, isOperator := a.(map[string]any)
		if isOperator {
			if e, ok := op["exists"]; ok && len(op) == 1 {
				if e == present {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, v := range values {
			if isOperator && matchOperator(t, op, v) || !isOperator && reflect.DeepEqual(a, v) {
				return true
			}
		}
	}
	return false
}

// matchOperator applies a content filter other than exists to one value.
func matchOperator(t *testing.T, op map[string]any, v any) bool {
	t.Helper()
	if len(op) != 1 {
		t.Fatalf("event pattern operator %v: want one operator per object", op)
	}
	s, isString := v.(string)
	for name, arg := range op {
		switch name {
		case "prefix":
			return isString && strings.HasPrefix(s, arg.(string))
		case "suffix":
			return isString && strings.HasSuffix(s, arg.(string))
		case "equals-ignore-case":
			return isString && strings.EqualFold(s, arg.(string))
		case "anything-but":
			excluded := []any{arg}
			if list, ok := arg.([]any); ok {
				excluded = list
			}
			for _, x := range excluded {
				if _, nested := x.(map[string]any); nested {
					t.Fatalf("event pattern operator %v: anything-but with an operator is not implemented here", op)
				}
				if reflect.DeepEqual(x, v) {
					return false
				}
			}
			return true
		}
		t.Fatalf("event pattern operator %q is not implemented by matchPattern: add it, with a case in TestEventPatternMatcher", name)
	}
	return false
}

// The matcher agrees with EventBridge's documented content filtering on
// the cases the rules depend on, matching and not.
func TestEventPatternMatcher(t *testing.T) {
	cases := []struct {
		pattern, event string
		want           bool
	}{
		{`{"source":["aws.organizations"]}`, `{"source":"aws.organizations"}`, true},
		{`{"source":["aws.organizations"]}`, `{"source":"aws.sts"}`, false},
		{`{"source":["aws.organizations"]}`, `{}`, false},
		{`{"source":["a","b"]}`, `{"source":"b"}`, true},
		{`{"n":[5]}`, `{"n":5}`, true},
		{`{"n":[5]}`, `{"n":"5"}`, false},
		{`{"r":["x"]}`, `{"r":["y","x"]}`, true},
		{`{"r":["x"]}`, `{"r":["y"]}`, false},
		{`{"d":{"e":["v"]}}`, `{"d":{"e":"v","f":1}}`, true},
		{`{"d":{"e":["v"]}}`, `{"d":{"f":"v"}}`, false},
		{`{"d":{"e":["v"]},"s":["a"]}`, `{"d":{"e":"v"},"s":"b"}`, false},
		{`{"d":{"e":[{"exists":false}]}}`, `{"d":{"f":"x"}}`, true},
		{`{"d":{"e":[{"exists":false}]}}`, `{"d":{"e":"AccessDenied"}}`, false},
		{`{"d":{"e":[{"exists":true}]}}`, `{"d":{"e":"x"}}`, true},
		{`{"d":{"e":[{"exists":true}]}}`, `{"d":{}}`, false},
		{`{"s":[{"prefix":"aws."}]}`, `{"s":"aws.organizations"}`, true},
		{`{"s":[{"prefix":"aws."}]}`, `{"s":"custom.app"}`, false},
		{`{"s":[{"suffix":".com"}]}`, `{"s":"a.example.com"}`, true},
		{`{"s":[{"equals-ignore-case":"INVITE"}]}`, `{"s":"invite"}`, true},
		{`{"s":[{"anything-but":["a","b"]}]}`, `{"s":"c"}`, true},
		{`{"s":[{"anything-but":["a","b"]}]}`, `{"s":"a"}`, false},
		{`{"s":[{"anything-but":"a"}]}`, `{"s":"a"}`, false},
	}
	for _, tc := range cases {
		var p, e any
		if err := json.Unmarshal([]byte(tc.pattern), &p); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.event), &e); err != nil {
			t.Fatal(err)
		}
		if got := matchPattern(t, p, e); got != tc.want {
			t.Errorf("pattern %s on %s = %v, want %v", tc.pattern, tc.event, got, tc.want)
		}
	}
}
