// Package emf writes the CloudWatch embedded metric format (EMF): an `_aws`
// member on a JSON log line that tells CloudWatch Logs which of the line's
// own top-level members are metrics, under which namespace and dimensions.
// CloudWatch extracts them from the Lambda function's log group as it
// ingests the line: no PutMetricData call, no agent, no extra line.
//
// The specification is "Specification: Embedded metric format" in the
// Amazon CloudWatch User Guide. The directives never change within a
// process, so New encodes them once; Metadata.Append only adds the
// timestamp. Validate checks a whole line against the specification's
// rules; the tests run it on every summary line the function writes.
//
// SummaryMetrics is the contract between the Lambda binary, which writes
// those metrics, and template.yaml's alarms and dashboard, which read them
// (internal/deploytest checks the template against it).
package emf

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units this product uses; Validate accepts every unit CloudWatch does.
const (
	UnitCount        Unit = "Count"
	UnitMilliseconds Unit = "Milliseconds"
)

// Metric names a top-level number of the line (the metric's value) and its
// unit.
type Metric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// Directive is a MetricDirective: the metrics to extract, under one
// namespace, once per dimension set. Each dimension set lists top-level
// string members of the line; an empty set is the rollup with no dimension.
type Directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []Metric   `json:"Metrics"`
}

// Limits of the specification (and of its published JSON schema).
const (
	MaxMetrics        = 100  // MetricDefinitions per directive
	MaxDimensionKeys  = 30   // keys per dimension set
	MaxDimensionValue = 1024 // characters of a dimension's value
	maxReferenceLen   = 250  // characters of a dimension key
	maxMetricNameLen  = 1024 // characters of a metric name
)

// Metadata is the value of the `_aws` member for a fixed list of
// directives. It is immutable and safe for concurrent use.
type Metadata struct {
	directives []byte // the CloudWatchMetrics array, encoded
}

// New checks the directives against the specification's static rules
// (what can be checked without a line: names, counts, units) and encodes
// them once.
func New(directives ...Directive) (*Metadata, error) {
	if len(directives) == 0 {
		return nil, errors.New("emf: no metric directive")
	}
	for i, d := range directives {
		if err := d.check(); err != nil {
			return nil, fmt.Errorf("emf: directive %d: %w", i, err)
		}
	}
	b, err := json.Marshal(directives)
	if err != nil {
		return nil, fmt.Errorf("emf: %w", err)
	}
	return &Metadata{directives: b}, nil
}

// Append appends the `_aws` object for a line logged at t to dst:
// {"Timestamp":<ms since the epoch>,"CloudWatchMetrics":[...]}.
func (m *Metadata) Append(dst []byte, t time.Time) []byte {
	dst = append(dst, `{"Timestamp":`...)
	dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	dst = append(dst, `,"CloudWatchMetrics":`...)
	dst = append(dst, m.directives...)
	return append(dst, '}')
}

// check applies the rules that hold whatever the line.
func (d Directive) check() error {
	if err := checkNamespace(d.Namespace); err != nil {
		return err
	}
	if len(d.Dimensions) == 0 {
		return errors.New("no dimension set: want at least one (an empty set is the rollup with no dimension)")
	}
	for _, set := range d.Dimensions {
		if len(set) > MaxDimensionKeys {
			return fmt.Errorf("dimension set %q: %d keys, at most %d", set, len(set), MaxDimensionKeys)
		}
		for _, k := range set {
			if k == "" || len(k) > maxReferenceLen {
				return fmt.Errorf("dimension key %q: want 1 to %d characters", k, maxReferenceLen)
			}
		}
	}
	if len(d.Metrics) == 0 || len(d.Metrics) > MaxMetrics {
		return fmt.Errorf("%d metrics, want 1 to %d", len(d.Metrics), MaxMetrics)
	}
	for _, m := range d.Metrics {
		if m.Name == "" || len(m.Name) > maxMetricNameLen {
			return fmt.Errorf("metric name %q: want 1 to %d characters", m.Name, maxMetricNameLen)
		}
		if m.Unit != "" && !ValidUnit(string(m.Unit)) {
			return fmt.Errorf("metric %s: unit %q is not a CloudWatch unit", m.Name, m.Unit)
		}
	}
	return nil
}

// checkNamespace applies ValidNamespace.
func checkNamespace(ns string) error { return ValidNamespace(ns) }

// units are the CloudWatch metric units (MetricDatum.Unit).
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true,
	"Bytes": true, "Kilobytes": true, "Megabytes": true, "Gigabytes": true, "Terabytes": true,
	"Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true, "Terabits": true,
	"Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true,
	"Gigabytes/Second": true, "Terabytes/Second": true,
	"Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true,
	"Count/Second": true, "None": true,
}

// ValidUnit reports whether u is a CloudWatch metric unit.
func ValidUnit(u string) bool { return units[u] }
