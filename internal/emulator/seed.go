package emulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Shares splits n by weights with the largest remainder method, so that
// the counts add up to n exactly. Weights that are not above 0 count as 0
// (and are set to 0 in place); if none is above 0, defaults are used.
func Shares(n int, weights, defaults []float64) []int {
	total := 0.0
	for i, w := range weights {
		if !(w > 0) {
			weights[i] = 0
		}
		total += weights[i]
	}
	if total == 0 {
		weights, total = defaults, 0
		for _, w := range defaults {
			total += w
		}
	}
	counts := make([]int, len(weights))
	rest := make([]float64, len(weights))
	left := n
	for i, w := range weights {
		exact := float64(n) * w / total
		counts[i] = int(exact)
		rest[i] = exact - float64(counts[i])
		left -= counts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rest {
			if rest[i] > rest[best] {
				best = i
			}
		}
		counts[best]++
		rest[best] = -1
	}
	return counts
}

// ParseAge reads an age in a seed file: whole days as "9d" (0 to 3650), or
// anything time.ParseDuration accepts ("36h").
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// firstByte returns the first byte of br that is not JSON white space, and
// leaves it unread.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, errors.New("empty input: want a JSON array of handshakes or an object")
		}
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

// StrictDecode decodes exactly one JSON value from r into v, refusing
// unknown fields and anything after the value.
func StrictDecode(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// ReadSeed reads the start of a seed file from r: either a JSON array,
// returned as list, or an object, decoded strictly into obj (isObject
// true; list is then nil). listKey is the object's key for the list of
// handshakes, as named in errors.
func ReadSeed(r io.Reader, obj any, listKey string) (list json.RawMessage, isObject bool, err error) {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if err != nil {
		return nil, false, err
	}
	switch first {
	case '[':
		if err := StrictDecode(br, &list); err != nil {
			return nil, false, err
		}
		return list, false, nil
	case '{':
		if err := StrictDecode(br, obj); err != nil {
			return nil, false, fmt.Errorf("%w (want an array of handshakes, or an object with %q and/or \"generate\")", err, listKey)
		}
		return nil, true, nil
	default:
		return nil, false, fmt.Errorf("want a JSON array of handshakes or an object, got %q", first)
	}
}
