package janitor_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// listedAPI lists what it holds (a record that could not be read as a
// *handshake.RecordError, as the client yields it) and records cancels.
type listedAPI struct {
	janitor.StubDirectory
	listed []listed
	mu     sync.Mutex
	cancel []string
}

type listed struct {
	h   handshake.Handshake
	err error
}

func (a *listedAPI) Invitations(context.Context) iter.Seq2[directory.Invitation, error] {
	return func(yield func(directory.Invitation, error) bool) {
		for _, l := range a.listed {
			if !yield(resourcemanager.Invitation(l.h), l.err) {
				return
			}
		}
	}
}

func (a *listedAPI) CancelInvitation(_ context.Context, id directory.ID) (directory.Answer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancel = append(a.cancel, id.String())
	return directory.Answer{}, nil
}

// One listed record that cannot be read fails no sweep: the sweep reports
// it (its ID and why) as a warning, leaves it alone, and sweeps the rest.
func TestSweepReportsAMalformedRecordAndSweepsTheRest(t *testing.T) {
	bad := &handshake.RecordError{HandshakeID: "h-Bad0000000000001", Err: errors.New(`handshake CreateTime: "yesterday": want UTC like 2006-01-02T15:04:05Z`)}
	api := &listedAPI{listed: []listed{
		{h: invitation(testID(1), 10*24*time.Hour)},
		{h: handshake.Handshake{HandshakeID: bad.HandshakeID}, err: bad},
		{h: invitation(testID(2), 10*24*time.Hour)},
	}}
	e := &janitor.Engine{API: api, MaxCancellations: 10, Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	if err != nil {
		t.Fatalf("Run: %v, want the sweep to go on past the malformed record", err)
	}
	if rep.Summary[handshake.OutcomeCancelled] != 2 || len(api.cancel) != 2 {
		t.Errorf("Summary %+v, cancels %q: want both readable stale invitations cancelled", rep.Summary, api.cancel)
	}
	for _, id := range api.cancel {
		if id == bad.HandshakeID {
			t.Error("the malformed record was cancelled")
		}
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], bad.HandshakeID) || !strings.Contains(rep.Warnings[0], "CreateTime") {
		t.Errorf("Warnings %q: want one naming the record and why", rep.Warnings)
	}
}

// Any other listing error still fails the sweep with nothing cancelled.
func TestSweepListingErrorOtherThanARecordStillCancelsNothing(t *testing.T) {
	api := &listedAPI{listed: []listed{
		{h: invitation(testID(1), 10*24*time.Hour)},
		{err: errors.New("page 2: connection reset")},
	}}
	e := &janitor.Engine{API: api, MaxCancellations: 10, Now: fixedClock}
	if _, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}}); !errors.Is(err, janitor.ErrListing) {
		t.Errorf("Run error %v, want ErrListing", err)
	}
	if len(api.cancel) != 0 {
		t.Errorf("cancelled %q after a failed listing", api.cancel)
	}
}

// However many records cannot be read, the warnings stay bounded: the
// first ones are named, the rest counted.
func TestSweepWarningsOnUnreadableRecordsAreBounded(t *testing.T) {
	api := &listedAPI{}
	for i := range 25 {
		bad := &handshake.RecordError{HandshakeID: testID(i), Err: errors.New("bad time")}
		api.listed = append(api.listed, listed{h: handshake.Handshake{HandshakeID: bad.HandshakeID}, err: bad})
	}
	e := &janitor.Engine{API: api, MaxCancellations: 10, Now: fixedClock}
	rep, err := e.Run(context.Background(), janitor.Job{Sweep: &janitor.Sweep{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 11 || !strings.Contains(rep.Warnings[10], "15 more") {
		t.Errorf("%d warnings, last %q: want 10 named and one counting 15 more", len(rep.Warnings), rep.Warnings[len(rep.Warnings)-1])
	}
}
