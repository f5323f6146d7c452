package trigger

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
)

// eventsDir holds the sample events, one per supported trigger.
const eventsDir = "../../events"

// sample is one file of events/ and what it decodes to.
type sample struct {
	file    string
	decode  func([]byte) (Decoded, error)
	trigger string
	want    job
}

var samples = []sample{
	{"aws-sqs.json", AWS, SQS, job{items: []item{
		{key: "6b8c2a1e-4f0d-4b7a-9c3e-1d2f5a7b9c01", ids: ids("h-Ab12Cd34Ef56Gh78", "h-Zx98Yw76Vu54Ts32")},
		{key: "b2e4f6a8-0c1d-4e3f-8a5b-7c9d0e1f2a3b", ids: ids("h-Mn3oPq5rSt7uVw9x")},
		{key: "3f9a7c5e-1b2d-4c6e-9f0a-2b4c6d8e0f1a", ids: ids("h-Qr5tUv7wXy9zAb1c")},
	}}},
	{"aws-scheduled-event.json", AWS, ScheduledEvent, job{sweep: sweep()}},
	{"aws-schedule-input.json", AWS, Schedule, job{sweep: &janitor.Sweep{OlderThan: 72 * time.Hour}, dryRun: true}},
	{"fc-timer.json", FC, FCTimer, job{items: []item{
		{key: "janitor-named", ids: ids("h-Zx98Yw76Vu54Ts32", "h-Ex4pIr6eDd8aTe0z")},
	}}},
	{"fc-timer-sweep.json", FC, FCTimer, job{sweep: sweep()}},
	{"fc-mns-queue.json", FC, MNSQueue, job{items: []item{
		{key: "C6DB60D1574661357FA2272774450001", ids: ids("h-Mn3oPq5rSt7uVw9x")},
	}}},
	{"fc-mns-queue-batch.json", FC, MNSQueue, job{items: []item{
		{key: "C6DB60D1574661357FA2272774450002", ids: ids("h-Ab12Cd34Ef56Gh78", "h-Ex4pIr6eDd8aTe0z")},
		{key: "C6DB60D1574661357FA2272774450003", ids: ids("h-Ca9cE1lEd3aLr5dY")},
	}}},
	{"fc-mns-topic.json", FC, MNSTopic, job{items: []item{
		{key: "3405CA51807661353B3F0A1E00000004", ids: ids("h-Zx98Yw76Vu54Ts32", "h-Qr5tUv7wXy9zAb1c")},
	}}},
	{"policy-sweep.json", AWS, Direct, job{sweep: &janitor.Sweep{AllowedTargets: policy("*@example.com,1234567890123456,2345678901234567")}}},
	{"policy-sweep.json", FC, Direct, job{sweep: &janitor.Sweep{AllowedTargets: policy("*@example.com,1234567890123456,2345678901234567")}}},
	{"aws-organizations-sqs.json", AWS, SQS, job{items: []item{
		{key: "0e4b6e1c-6f1a-4c55-9a54-0a1b2c3d4e51", ids: ids("h-0rgqueued000001", "h-0rgaccepted0001")},
		{key: "0e4b6e1c-6f1a-4c55-9a54-0a1b2c3d4e52", ids: ids("h-0rgm1ss1ng00002", "h-Ab12Cd34Ef56Gh78")},
	}}},
	{"aws-organizations-invite-event.json", AWS, InviteEvent, job{check: true, items: []item{
		{key: "6f2d1c3e-9a8b-4c7d-8e6f-5a4b3c2d1e0f", ids: ids("h-0rgoutsider0001")},
	}}},
	{"direct.json", AWS, Direct, job{items: []item{
		{key: Direct, ids: ids("h-M1ss1ngN0tF0und2", "h-Ca9cE1lEd3aLr5dY", "h-abc&Action=DeleteAccount")},
	}}},
	{"direct.json", FC, Direct, job{items: []item{
		{key: Direct, ids: ids("h-M1ss1ngN0tF0und2", "h-Ca9cE1lEd3aLr5dY", "h-abc&Action=DeleteAccount")},
	}}},
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSampleEventsDecodeToTheirJobs(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file+"/"+s.trigger, func(t *testing.T) {
			d, err := s.decode(readSample(t, s.file))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if d.Trigger != s.trigger {
				t.Errorf("Trigger = %q, want %q", d.Trigger, s.trigger)
			}
			checkJob(t, d.Job, s.want)
			checkInvariants(t, d, err)
		})
	}
}

// A sample added to events/ without a test here fails this test.
func TestEverySampleEventIsTested(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", eventsDir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !slices.ContainsFunc(samples, func(s sample) bool { return s.file == name }) {
			t.Errorf("events/%s is not decoded by TestSampleEventsDecodeToTheirJobs", name)
		}
	}
}

// The samples use IDs of the API's shape, except the one meant to be
// invalid: the Organizations samples (aws-organizations-*) those of
// Organizations, where a Resource Directory ID is the invalid one.
func TestSampleIDsAreValidExceptTheInvalidOne(t *testing.T) {
	for _, s := range samples {
		parse, invalid := func(id string) error { _, err := handshake.ParseID(id); return err }, "h-abc&Action=DeleteAccount"
		if strings.HasPrefix(s.file, "aws-organizations-") {
			parse, invalid = func(id string) error { _, err := organizations.ParseID(id); return err }, "h-Ab12Cd34Ef56Gh78"
		}
		for _, it := range s.want.items {
			for _, id := range it.ids {
				err := parse(id)
				if wantInvalid := id == invalid; (err != nil) != wantInvalid {
					t.Errorf("%s: ParseID(%q) error = %v, want invalid = %v", s.file, id, err, wantInvalid)
				}
			}
		}
	}
	if _, err := handshake.ParseID("h-Sw3epOnlyStale9X"); err != nil {
		t.Errorf("the sweep-only ID of events/README.md: %v", err)
	}
}

// Each platform's decoder reads only its own envelopes: an AWS envelope
// given to FC (or the reverse) is an error or a direct payload, never a
// silent success with other IDs.
func TestSamplesOfOnePlatformAreRefusedByTheOther(t *testing.T) {
	for _, s := range samples {
		if s.file == "direct.json" || s.file == "policy-sweep.json" {
			continue // no envelope: both platforms read them
		}
		other, name := FC, "FC"
		if s.trigger == FCTimer || s.trigger == MNSQueue || s.trigger == MNSTopic {
			other, name = AWS, "AWS"
		}
		d, err := other(readSample(t, s.file))
		if err == nil {
			t.Errorf("%s(%s) = %+v, want an error", name, s.file, d)
			continue
		}
		checkInvariants(t, d, err)
	}
}
