package emf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxDocument is the largest EMF document, the limit of a CloudWatch Logs
// event.
const MaxDocument = 1 << 20

// Validate checks one log line (a JSON object, optionally ending in a
// newline) against the rules of the embedded metric format specification:
//
//   - the line is one JSON object with nothing before or after it, at most
//     MaxDocument bytes, with no member named twice at its root;
//   - its `_aws` member is an object holding exactly Timestamp (an integer
//     number of milliseconds since the epoch) and CloudWatchMetrics (an array
//     of directives);
//   - each directive holds exactly Namespace (1 to 1024 characters),
//     Dimensions (at least one dimension set) and Metrics (at most 100);
//   - each dimension set holds at most 30 keys, each naming a top-level
//     member whose value is a non-empty string of at most 1024 characters;
//   - each metric's Name names a top-level member that is a number or an
//     array of at most 100 numbers; Unit, when present, is a CloudWatch unit;
//     StorageResolution, when present, is 1 or 60.
//
// It returns every violation found, joined.
func Validate(line []byte) error {
	if len(line) > MaxDocument {
		return fmt.Errorf("document of %d bytes, at most %d", len(line), MaxDocument)
	}
	root, err := members(line)
	if err != nil {
		return fmt.Errorf("not one JSON object: %w", err)
	}
	rawAWS, ok := root["_aws"]
	if !ok {
		return errors.New("no _aws member at the root")
	}
	meta, err := members(rawAWS)
	if err != nil {
		return fmt.Errorf("_aws: not an object: %w", err)
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for k := range meta {
		if k != "Timestamp" && k != "CloudWatchMetrics" {
			bad("_aws: unexpected member %q", k)
		}
	}
	var ts int64
	if raw, ok := meta["Timestamp"]; !ok {
		bad("_aws: no Timestamp")
	} else if err := json.Unmarshal(raw, &ts); err != nil {
		bad("_aws.Timestamp %s: want an integer number of milliseconds", raw)
	} else if t := time.UnixMilli(ts); t.Year() < 2000 || t.Year() > 2200 {
		// A timestamp in seconds would land in 1970: the classic mistake.
		bad("_aws.Timestamp %d is %s: want milliseconds since the epoch", ts, t.UTC().Format(time.RFC3339))
	}
	var directives []json.RawMessage
	if raw, ok := meta["CloudWatchMetrics"]; !ok {
		bad("_aws: no CloudWatchMetrics")
	} else if err := json.Unmarshal(raw, &directives); err != nil || directives == nil {
		bad("_aws.CloudWatchMetrics: want an array of directives")
	}
	for i, raw := range directives {
		for _, err := range validateDirective(raw, root) {
			bad("_aws.CloudWatchMetrics[%d]: %w", i, err)
		}
	}
	return errors.Join(errs...)
}

func validateDirective(raw json.RawMessage, root map[string]json.RawMessage) []error {
	d, err := members(raw)
	if err != nil {
		return []error{fmt.Errorf("not an object: %w", err)}
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for k := range d {
		if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
			bad("unexpected member %q", k)
		}
	}

	var ns string
	if err := json.Unmarshal(d["Namespace"], &ns); err != nil {
		bad("Namespace: want a string")
	} else if err := checkNamespace(ns); err != nil {
		bad("Namespace: %w", err)
	}

	var sets [][]string
	if err := json.Unmarshal(d["Dimensions"], &sets); err != nil || len(sets) == 0 {
		bad("Dimensions: want a non-empty array of arrays of strings")
	}
	for _, set := range sets {
		if set == nil {
			bad("Dimensions: a dimension set is null, want an array")
		}
		if len(set) > MaxDimensionKeys {
			bad("dimension set %q: %d keys, at most %d", set, len(set), MaxDimensionKeys)
		}
		for _, key := range set {
			if err := dimensionTarget(key, root); err != nil {
				bad("dimension %q: %w", key, err)
			}
		}
	}

	var metrics []map[string]json.RawMessage
	if err := json.Unmarshal(d["Metrics"], &metrics); err != nil || metrics == nil {
		bad("Metrics: want an array of metric definitions")
	}
	if len(metrics) > MaxMetrics {
		bad("Metrics: %d definitions, at most %d", len(metrics), MaxMetrics)
	}
	for _, m := range metrics {
		var name string
		if err := json.Unmarshal(m["Name"], &name); err != nil || name == "" || len(name) > maxMetricNameLen {
			bad("metric Name %s: want a string of 1 to %d characters", m["Name"], maxMetricNameLen)
			continue
		}
		for k, v := range m {
			switch k {
			case "Name":
			case "Unit":
				var u string
				if json.Unmarshal(v, &u) != nil || !ValidUnit(u) {
					bad("metric %s: Unit %s is not a CloudWatch unit", name, v)
				}
			case "StorageResolution":
				var r int
				if json.Unmarshal(v, &r) != nil || (r != 1 && r != 60) {
					bad("metric %s: StorageResolution %s: want 1 or 60", name, v)
				}
			default:
				bad("metric %s: unexpected member %q", name, k)
			}
		}
		if err := metricTarget(name, root); err != nil {
			bad("metric %s: %w", name, err)
		}
	}
	return errs
}

// dimensionTarget checks the root member a dimension key names: a
// non-empty string of at most MaxDimensionValue characters, which
// CloudWatch also wants printable ASCII and not only white space.
func dimensionTarget(key string, root map[string]json.RawMessage) error {
	if key == "" || len(key) > maxReferenceLen {
		return fmt.Errorf("key: want 1 to %d characters", maxReferenceLen)
	}
	raw, ok := root[key]
	if !ok {
		return errors.New("no such member at the root")
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("value %s: want a string", raw)
	}
	if strings.TrimSpace(v) == "" || len(v) > MaxDimensionValue {
		return fmt.Errorf("value %q: want 1 to %d characters, not only white space", v, MaxDimensionValue)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Errorf("value %q: want printable ASCII", v)
		}
	}
	return nil
}

// metricTarget checks the root member a metric names: a number, or an
// array of at most 100 numbers.
func metricTarget(name string, root map[string]json.RawMessage) error {
	raw, ok := root[name]
	if !ok {
		return errors.New("no such member at the root")
	}
	if isNumber(raw) {
		return nil
	}
	var vs []json.RawMessage
	if err := json.Unmarshal(raw, &vs); err != nil || vs == nil {
		return fmt.Errorf("value %s: want a number or an array of numbers", raw)
	}
	if len(vs) > MaxMetrics {
		return fmt.Errorf("array of %d values, at most %d", len(vs), MaxMetrics)
	}
	for _, v := range vs {
		if !isNumber(v) {
			return fmt.Errorf("array value %s: want a number", v)
		}
	}
	return nil
}

// isNumber reports whether raw, a JSON value, is a number (not a string
// holding one, which json.Number would also take).
func isNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal(raw, &n) == nil
}

// members decodes one JSON object into its members, refusing anything else
// (a non-object, trailing data) and a member named twice: which of two
// values a reader takes is not defined.
func members(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("does not start with {")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // inside an object, the decoder yields keys as strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("member %q: %w", key, err)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("member %q appears twice", key)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return out, nil
}
