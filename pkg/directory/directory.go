// Package directory is the seam between handshake-janitor's engine and the
// directories of invitations it cleans: Alibaba Cloud Resource Directory
// (pkg/resourcemanager) and AWS Organizations (pkg/organizations). It holds
// the neutral words both speak: an Invitation, a validated ID, the Answer
// to a call and the Verdict it comes to, and the Kind of each directory.
//
// A Directory lists invitations, cancels one, and classifies an answer into
// a Verdict; its own API words (status names, error codes) travel as data
// (Invitation.Status, Classification.Code), never as the engine's logic.
package directory

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Kind is one directory the janitor knows: its name (the DIRECTORY setting)
// and the form of its account IDs, which a target policy recognises.
type Kind struct {
	Name string // the DIRECTORY value
	// Title names it for people.
	Title string
	// AccountIDDigits is the length of an account ID: all decimal digits.
	AccountIDDigits int
}

// The directories, in the order errors list them. The first is the
// default.
var (
	ResourceDirectory = Kind{Name: "resource-directory", Title: "Alibaba Cloud Resource Directory", AccountIDDigits: 16}
	AWSOrganizations  = Kind{Name: "aws-organizations", Title: "AWS Organizations", AccountIDDigits: 12}
)

// Kinds returns every directory, the default first.
func Kinds() []Kind { return []Kind{ResourceDirectory, AWSOrganizations} }

// Default is the directory of an empty DIRECTORY.
func Default() Kind { return ResourceDirectory }

// Accepted says, in errors, what a directory name may be.
const Accepted = "want resource-directory (Alibaba Cloud, the default) or aws-organizations"

// ParseKind reads a directory name, exactly as Kind.Name spells it.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if s == k.Name {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("unknown directory %s: %s", handshake.Quote(s, 40), Accepted)
}

// IsAccountID reports whether s is an account ID of this directory.
func (k Kind) IsAccountID(s string) bool {
	if len(s) != k.AccountIDDigits || s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AccountIDForm says what an account ID of this directory looks like, for
// errors: "a 12-digit account ID".
func (k Kind) AccountIDForm() string {
	return "a " + strconv.Itoa(k.AccountIDDigits) + "-digit account ID"
}

// ID is an invitation ID that passed its directory's ParseID: only a
// Directory makes one from untrusted input.
type ID string

// String returns the ID as the directory's API spells it.
func (id ID) String() string { return string(id) }

// Invitation is one invitation as the engine sees it.
type Invitation struct {
	ID string
	// Status is the directory's own word for its state (Pending,
	// OPEN, ...), as logged; Open is what the engine decides on.
	Status string
	// Open reports whether it can still be accepted or cancelled.
	Open bool
	// TargetType and Target are the invited party, in the same words on
	// every directory (handshake.TargetAccount, handshake.TargetEmail).
	TargetType handshake.TargetType
	Target     string
	// Created is when it was sent (zero when unknown); age counts from it.
	Created time.Time
}

// Answer is what one call returned, on success or failure: the invitation
// as the API answered it (when it did), the request ID (on failure the
// failing answer's, when there was one), and the requests sent.
type Answer struct {
	Invitation Invitation
	RequestID  string
	Attempts   int
}

// Verdict is what an answer means for the invitation a call named.
type Verdict string

// The verdicts.
const (
	Cancelled Verdict = "cancelled" // the call succeeded
	Skipped   Verdict = "skipped"   // already finished: nothing to do
	NotFound  Verdict = "not_found" // no such invitation
	Invalid   Verdict = "invalid"   // the service refused the ID itself
	Retryable Verdict = "retryable" // transient: the client's retries ran out or time did
	Failed    Verdict = "failed"    // definitive: retrying will not help
)

// Classification is a classified answer.
type Classification struct {
	Verdict Verdict
	// Code is the directory's error code or exception name, or a word of
	// the client's for failures without an answer (Timeout,
	// DeadlineExceeded, ...); "" on success.
	Code string
	// Message is the service's message, bounded and scrubbed; "" when
	// the error's own text says it better.
	Message string
	// RequestID is the failing answer's, when there was one.
	RequestID string
	// Answered reports that the service itself answered (Code is the
	// API's): a definitive answer that a cut-off does not explain away.
	Answered bool
}

// Directory is a directory of invitations, as the engine uses it. An
// implementation is safe for concurrent use: one per process.
type Directory interface {
	// Kind says which directory it is.
	Kind() Kind
	// ParseID validates s as an invitation ID of this directory; the
	// error says what is accepted. No call is made with an ID it refused.
	ParseID(s string) (ID, error)
	// Invitations iterates over the directory's invitations, page by
	// page; an error ends the iteration after being yielded once.
	Invitations(ctx context.Context) iter.Seq2[Invitation, error]
	// CancelInvitation cancels one invitation, retrying what is worth
	// retrying within the deadline.Budget of ctx.
	CancelInvitation(ctx context.Context, id ID) (Answer, error)
	// Classify says what a call's error means (nil: success).
	Classify(err error) Classification
}

// Describer is a Directory that can read one invitation's current record,
// which checking an invitation against the target policy needs.
type Describer interface {
	Directory
	// DescribeInvitation reads one invitation's current record, retrying
	// as CancelInvitation does. Classify its error.
	DescribeInvitation(ctx context.Context, id ID) (Answer, error)
}
