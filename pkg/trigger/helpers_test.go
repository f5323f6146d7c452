package trigger

import (
	"errors"
	"fmt"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"path"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// item is what a test expects of one janitor.Item: its key and IDs, or an
// error matching err (errors.Is) whose text contains has.
type item struct {
	key string
	ids []string
	err error
	has string
}

// job is what a test expects of a janitor.Job.
type job struct {
	items    []item
	sweep    *janitor.Sweep
	dryRun   bool
	check    bool
	warnings int // how many warnings
}

func ids(s ...string) []string { return s }

func sweep() *janitor.Sweep { return &janitor.Sweep{} }

// glob is janitor.ParseGlob for a pattern a test knows is valid.
func glob(s string) janitor.Glob {
	g, err := janitor.ParseGlob(s)
	if err != nil {
		panic(err)
	}
	return g
}

// policy is targetpolicy.Parse for a list a test knows is valid.
func policy(list string) targetpolicy.Policy {
	p, err := targetpolicy.Parse(list, directory.ResourceDirectory)
	if err != nil {
		panic(err)
	}
	return p
}

// checkJob reports every difference between got and want.
func checkJob(t *testing.T, got janitor.Job, want job) {
	t.Helper()
	if got.DryRun != want.dryRun {
		t.Errorf("DryRun = %v, want %v", got.DryRun, want.dryRun)
	}
	if got.Check != want.check || len(got.Warnings) != want.warnings {
		t.Errorf("Check = %v, %d warnings %q; want %v, %d", got.Check, len(got.Warnings), got.Warnings, want.check, want.warnings)
	}
	if !reflect.DeepEqual(got.Sweep, want.sweep) {
		t.Errorf("Sweep = %s, want %s", fmtSweep(got.Sweep), fmtSweep(want.sweep))
	}
	if len(got.Items) != len(want.items) {
		t.Fatalf("got %d items %s, want %d", len(got.Items), fmtItems(got.Items), len(want.items))
	}
	for i, w := range want.items {
		g := got.Items[i]
		if g.Key != w.key {
			t.Errorf("item %d: Key = %q, want %q", i, g.Key, w.key)
		}
		if w.err == nil && w.has == "" {
			if g.Err != nil {
				t.Errorf("item %d (%s): unexpected Err: %v", i, g.Key, g.Err)
			}
			if !reflect.DeepEqual(g.IDs, w.ids) {
				t.Errorf("item %d (%s): IDs = %q, want %q", i, g.Key, g.IDs, w.ids)
			}
			continue
		}
		checkErr(t, fmt.Sprintf("item %d (%s)", i, g.Key), g.Err, w.err, w.has)
		if len(g.IDs) != 0 {
			t.Errorf("item %d (%s): a record with an error carries IDs %q", i, g.Key, g.IDs)
		}
	}
}

// checkErr checks that err matches target (errors.Is) and mentions has,
// and that it is fit for a log line.
func checkErr(t *testing.T, what string, err, target error, has string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one matching %v containing %q", what, target, has)
		return
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("%s: error %q does not wrap %v", what, err, target)
	}
	if !strings.Contains(err.Error(), has) {
		t.Errorf("%s: error %q does not contain %q", what, err, has)
	}
	checkErrText(t, what, err)
}

// maxErrLen bounds an error's text: every value in it is quoted and cut.
const maxErrLen = 1500

func checkErrText(t testing.TB, what string, err error) {
	t.Helper()
	s := err.Error()
	if len(s) > maxErrLen {
		t.Errorf("%s: error is %d bytes, over %d: %.200q...", what, len(s), maxErrLen, s)
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s: error is not valid UTF-8: %q", what, s)
	}
	if strings.ContainsAny(s, "\n\r\x00") {
		t.Errorf("%s: error holds a raw control character: %q", what, s)
	}
}

func fmtSweep(s *janitor.Sweep) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprintf("{OlderThan:%s TargetType:%q TargetEntity:%q AllowedTargets:%q}", s.OlderThan, s.TargetType, s.TargetEntity, s.AllowedTargets)
}

func fmtItems(items []janitor.Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "{%q %q %v} ", it.Key, it.IDs, it.Err)
	}
	return b.String()
}

// checkInvariants holds for every decoded event, whatever the input: the
// fuzz targets and the table tests both call it.
func checkInvariants(t testing.TB, d Decoded, err error) {
	t.Helper()
	if err != nil {
		checkErrText(t, "decode", err)
		if !errors.Is(err, ErrUnsupportedEvent) && !errors.Is(err, ErrInvalidPayload) &&
			!errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooManyIDs) {
			t.Errorf("error %q wraps none of the package's errors", err)
		}
		return
	}
	switch d.Trigger {
	case SQS, ScheduledEvent, Schedule, Direct, FCTimer, MNSQueue, MNSTopic, InviteEvent:
	default:
		t.Fatalf("Trigger = %q, want one of the package's names", d.Trigger)
	}
	j := d.Job
	if j.Sweep != nil {
		if len(j.Items) != 0 {
			t.Errorf("a sweep with %d items", len(j.Items))
		}
		if j.Sweep.OlderThan < 0 {
			t.Errorf("sweep OlderThan %v is negative", j.Sweep.OlderThan)
		}
		switch j.Sweep.TargetType {
		case "", handshake.TargetAccount, handshake.TargetEmail:
		default:
			t.Errorf("sweep TargetType %q", j.Sweep.TargetType)
		}
		if _, err := path.Match(j.Sweep.TargetEntity.String(), ""); err != nil {
			t.Errorf("sweep TargetEntity %q is not a valid glob", j.Sweep.TargetEntity)
		}
		return
	}
	if len(j.Items) == 0 && !(j.Check && len(j.Warnings) > 0) {
		t.Fatalf("neither a sweep nor an item, nor an ignored event that says why")
	}
	n := 0
	for i, it := range j.Items {
		if it.Key == "" {
			t.Errorf("item %d has no Key", i)
		}
		if it.Err != nil {
			checkErrText(t, "item "+it.Key, it.Err)
			if len(it.IDs) != 0 {
				t.Errorf("item %s has both Err and IDs", it.Key)
			}
			continue
		}
		if len(it.IDs) == 0 {
			t.Errorf("item %s has neither IDs nor Err", it.Key)
		}
		n += len(it.IDs)
	}
	if n > MaxIDs {
		t.Errorf("the job names %d IDs, over MaxIDs %d", n, MaxIDs)
	}
	if single := d.Trigger == Direct || d.Trigger == FCTimer || d.Trigger == ScheduledEvent; single {
		// A payload with no queue behind it is refused as a whole, not
		// per record.
		if len(j.Items) != 1 || j.Items[0].Err != nil {
			t.Errorf("a %s job with items %s, want one without Err", d.Trigger, fmtItems(j.Items))
		}
	}
}

// parseDirect reads a payload with no envelope as AWS and FC read a direct
// invocation: the IDs it names become one Item keyed Direct, anything else
// a sweep.
func parseDirect(b []byte) (janitor.Job, error) {
	p, err := parsePayload(b, directory.ResourceDirectory)
	if err != nil {
		return janitor.Job{}, err
	}
	return p.job(Direct), nil
}
