package janitor

import (
	"context"
	"iter"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// StubDirectory is a directory.Directory for tests of the engine alone:
// Resource Directory's IDs, no invitations to list, Cancel answering as
// its func says, and every error a failure with code "Stub".
type StubDirectory struct {
	Cancel func(ctx context.Context, id directory.ID) (directory.Answer, error)
}

func (StubDirectory) Kind() directory.Kind { return directory.ResourceDirectory }

func (StubDirectory) ParseID(s string) (directory.ID, error) {
	id, err := handshake.ParseID(s)
	return directory.ID(id), err
}

func (StubDirectory) Invitations(context.Context) iter.Seq2[directory.Invitation, error] {
	return func(func(directory.Invitation, error) bool) {}
}

func (s StubDirectory) CancelInvitation(ctx context.Context, id directory.ID) (directory.Answer, error) {
	return s.Cancel(ctx, id)
}

func (StubDirectory) Classify(err error) directory.Classification {
	if err == nil {
		return directory.Classification{Verdict: directory.Cancelled}
	}
	return directory.Classification{Verdict: directory.Failed, Code: "Stub"}
}
