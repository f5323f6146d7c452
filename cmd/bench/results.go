package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
)

// Figure is one measured figure of bench/results.json.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Target is the figure to reach (at least, or at most, as Better
	// says); nil when the figure is reported for comparison only.
	Target *float64 `json:"target"`
	Better string   `json:"better"` // "higher" or "lower"
	// Baseline is the same figure for the way a user would do it by hand,
	// measured in the same run; nil when there is none.
	Baseline *float64 `json:"baseline"`
}

const (
	higher = "higher"
	lower  = "lower"
)

// ptr returns a pointer to v, for Target and Baseline.
func ptr(v float64) *float64 { return &v }

// Met reports whether the figure reaches its target; true without a target.
func (f Figure) Met() bool {
	if f.Target == nil {
		return true
	}
	if f.Better == higher {
		return f.Value >= *f.Target
	}
	return f.Value <= *f.Target
}

// results collects the figures of a run, in the order measured.
type results struct {
	figures []Figure
	notes   []string // what went wrong or needs saying beside the table
}

func (r *results) add(f Figure) {
	if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		r.notef("%s: no value (%v)", f.Name, f.Value)
		f.Value = 0
	}
	r.figures = append(r.figures, f)
}

func (r *results) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.notes = append(r.notes, msg)
	fmt.Fprintln(os.Stderr, "bench:", msg)
}

// printTable writes every figure beside its target and baseline.
func (r *results) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tTARGET\tBASELINE\tMET")
	for _, f := range r.figures {
		target, met := "-", "-"
		if f.Target != nil {
			op := ">="
			if f.Better == lower {
				op = "<="
			}
			target = op + " " + format(*f.Target, f.Unit)
			met = "yes"
			if !f.Met() {
				met = "NO"
			}
		}
		base := "-"
		if f.Baseline != nil {
			base = format(*f.Baseline, f.Unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, format(f.Value, f.Unit), target, base, met)
	}
	tw.Flush()
	for _, n := range r.notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// format prints a value with its unit and a precision that suits it.
func format(v float64, unit string) string {
	var s string
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if unit == "" {
		return s
	}
	return s + " " + unit
}

// writeJSON writes the figures to path as a JSON list, through a temporary
// file, so that a failed run does not leave half a file.
func (r *results) writeJSON(path string) error {
	b, err := json.MarshalIndent(r.figures, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
