// Package orgemu is a local AWS Organizations, for anyone testing code that
// invites accounts to an organization or lists, accepts, declines or
// cancels its handshakes: such code can run against it in a test or on a
// laptop, with no AWS account, and see the answers and failures the service
// gives. handshake-janitor uses it for its tests and benchmarks, but nothing
// in it is specific to that product. It is the AWS counterpart of
// pkg/rmemu, and has the same shape.
//
// It serves the handshake part of the Organizations API (2016-11-28) over
// the AWS JSON 1.1 protocol: POST / with Content-Type
// application/x-amz-json-1.1 and X-Amz-Target
// AWSOrganizationsV20161128.<Operation>, for ListHandshakesForOrganization,
// DescribeHandshake, CancelHandshake, InviteAccountToOrganization,
// AcceptHandshake and DeclineHandshake. Requests and answers have the API's
// shapes (timestamps as epoch seconds), errors are JSON objects with
// "__type" and a message, with the HTTP status the service model gives
// each exception, and every answer carries an x-amzn-RequestId header. The
// official client, aws-sdk-go-v2/service/organizations, is tested against
// it: point any client at its URL (AWS_ENDPOINT_URL_ORGANIZATIONS, or
// BaseEndpoint) with the test credentials below.
//
// A Server is an http.Handler: serve it with httptest.NewServer in tests, in
// process for local runs, or standalone with ListenAndServe. Seed it with
// handshakes in the API's own JSON shape (LoadSeed), Go values (Seed), or
// generated ones (Generate), of any action type and state. It injects
// faults (latency, a server-side rate limit, random throttling and
// ServiceException answers, failures scripted per handshake, connections
// dropped after a cancel was applied) and records every call for assertions
// (Calls, Stats).
//
// Authentication is always on: every request must be signed with AWS
// Signature Version 4 for service "organizations" in region us-east-1 (the
// service's one signing region). The emulator recomputes the signature over
// the request it received with the official signer
// (aws-sdk-go-v2/aws/signer/v4) and the secret it knows, so a wrong secret,
// a changed body or a foreign scope is refused as the service refuses it.
// Options.Credentials lists the keys accepted; by default the well-known
// test credentials of this package (TestAccessKeyID with
// TestSecretAccessKey, and the temporary triple TestSessionAccessKeyID,
// TestSessionSecretAccessKey, TestSessionToken).
//
// Two clocks are in play. Options.Clock is the service's clock: it stamps
// handshakes and decides when an open one has expired, so a test can move
// time. The request's X-Amz-Date is checked against the real time, because
// clients sign with the real time.
//
// A request goes through the service's stages in order, and the first that
// refuses it answers: added latency; protocol (UnknownOperationException,
// SerializationException); authentication
// (MissingAuthenticationTokenException, IncompleteSignatureException,
// UnrecognizedClientException, ExpiredTokenException,
// InvalidSignatureException, all HTTP 400 as on the AWS JSON front door);
// permissions (AccessDeniedException, when a credential is limited to some
// operations); flow control and injected faults (TooManyRequestsException,
// ServiceException, ConcurrentModificationException,
// AccessDeniedException); then the operation, with the exceptions of the
// API reference (InvalidInputException, HandshakeNotFoundException,
// HandshakeAlreadyInStateException, InvalidHandshakeTransitionException,
// DuplicateHandshakeException). The operation's exceptions and the main
// authentication ones are the service's; the messages of rarer malformed
// requests follow its style but are this emulator's best guess.
//
// Handshakes are listed in the order they were seeded or invited, which no
// transition changes, so paging is stable. A finished handshake (ACCEPTED,
// DECLINED, CANCELED, EXPIRED) is listed and described for 30 days after it
// finished, then no longer, as on the service.
package orgemu

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// TargetPrefix is the X-Amz-Target prefix of every operation.
const TargetPrefix = "AWSOrganizationsV20161128."

// ContentType is the content type of requests and answers.
const ContentType = "application/x-amz-json-1.1"

// SigningService and SigningRegion are the SigV4 scope every request must
// be signed for.
const (
	SigningService = "organizations"
	SigningRegion  = "us-east-1"
)

// ValidFor is how long a handshake stays OPEN or REQUESTED before it
// expires (15 days for an invitation, as on the service).
const ValidFor = 15 * 24 * time.Hour

// Retention is how long a finished handshake is still listed and described.
const Retention = 30 * 24 * time.Hour

// Well-known test credentials, accepted when Options.Credentials is nil.
// They open nothing but an emulator; never use them anywhere else.
const (
	TestAccessKeyID     = "AKIAORGEMUTESTKEY001"
	TestSecretAccessKey = "orgemu-test-secret-not-for-production"

	TestSessionAccessKeyID     = "ASIAORGEMUTESTKEY002"
	TestSessionSecretAccessKey = "orgemu-session-test-secret-not-for-production"
	TestSessionToken           = "IQoJb3JnZW11VGVzdFNlc3Npb25Ub2tlbkZvclRoZUVtdWxhdG9yT25seQ0123456789"
)

// Credential is one access key the emulator accepts.
type Credential struct {
	SecretAccessKey string
	// SessionToken, when set, makes these temporary credentials: every
	// request signed with the key must carry exactly this token in
	// X-Amz-Security-Token.
	SessionToken string
	// Expires, when set, is the real time after which the session token
	// is refused as expired.
	Expires time.Time
	// Operations, when not nil, are the only operations the key may call
	// (as an IAM policy would allow them); any other is answered
	// AccessDeniedException.
	Operations []string
}

// TestCredentials returns a new map holding the well-known test
// credentials: TestAccessKeyID (a long-term key) and TestSessionAccessKeyID
// (temporary credentials with TestSessionToken).
func TestCredentials() map[string]Credential {
	return map[string]Credential{
		TestAccessKeyID:        {SecretAccessKey: TestSecretAccessKey},
		TestSessionAccessKeyID: {SecretAccessKey: TestSessionSecretAccessKey, SessionToken: TestSessionToken},
	}
}

// Defaults of Options.
const (
	DefaultOrganizationID    = "o-orgemu0001"
	DefaultManagementAccount = "111111111111"
	DefaultManagementEmail   = "management@example.com"
	DefaultManagementName    = "Management"
	DefaultMaxClockSkew      = 15 * time.Minute
	DefaultCallLogLimit      = emulator.DefaultCallLogLimit
	DefaultCancelingFor      = 5 * time.Second
)

// Options configure a Server. The zero value is a working emulator that
// accepts the test credentials.
type Options struct {
	// Credentials maps an access key ID to its secret (and session
	// token). Nil means TestCredentials(); an empty map accepts no key.
	Credentials map[string]Credential

	// Clock is the service's clock: handshake times and expiry. Default
	// time.Now.
	Clock func() time.Time

	// OrganizationID, ManagementAccount, ManagementEmail and
	// ManagementName describe the organization that sends invitations,
	// in parties, resources and ARNs. Defaults above.
	OrganizationID    string
	ManagementAccount string
	ManagementEmail   string
	ManagementName    string

	// Faults are the fault injection settings at start; SetFaults changes
	// them while serving.
	Faults Faults

	// RandSeed seeds the random numbers behind faults and new handshake
	// IDs, so that a run can be repeated.
	RandSeed uint64

	// MaxClockSkew is how far a request's X-Amz-Date may be from the real
	// time. Default 15 minutes, as the service; negative: not checked.
	MaxClockSkew time.Duration

	// CancelingFor is how long, on the service's clock, a handshake
	// seeded in the CANCELING state stays so before it reads CANCELED.
	// Default 5 seconds; negative: it stays CANCELING.
	CancelingFor time.Duration

	// CallLogLimit bounds the call log; the oldest calls are forgotten
	// first. Counters are not affected. Default 262144.
	CallLogLimit int
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	clock     func() time.Time
	org       string
	mgmt      string
	mgmtEmail string
	mgmtName  string
	canceling time.Duration

	creds  map[string]Credential
	skew   time.Duration
	store  store
	faults faultState
	stats  stats

	inFlight atomic.Int64
}

// New returns a Server ready to serve, holding no handshakes.
func New(opts Options) *Server {
	s := &Server{
		clock:     opts.Clock,
		org:       or(opts.OrganizationID, DefaultOrganizationID),
		mgmt:      or(opts.ManagementAccount, DefaultManagementAccount),
		mgmtEmail: or(opts.ManagementEmail, DefaultManagementEmail),
		mgmtName:  or(opts.ManagementName, DefaultManagementName),
		skew:      opts.MaxClockSkew,
		canceling: opts.CancelingFor,
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.skew == 0 {
		s.skew = DefaultMaxClockSkew
	}
	if s.canceling == 0 {
		s.canceling = DefaultCancelingFor
	}
	creds := opts.Credentials
	if creds == nil {
		creds = TestCredentials()
	}
	// Copy, so that the caller's map can change without a data race.
	s.creds = make(map[string]Credential, len(creds))
	for id, c := range creds {
		s.creds[id] = c
	}
	s.store.init(opts.RandSeed)
	s.faults.init(opts.Faults, opts.RandSeed)
	s.stats.Init(opts.CallLogLimit)
	return s
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Now returns the time on the service's clock.
func (s *Server) Now() time.Time { return s.clock() }

// OrganizationID returns the ID of the emulated organization.
func (s *Server) OrganizationID() string { return s.org }

// maxBody bounds a request body: the handshake operations take a few short
// fields, so anything larger is not a request a client would send.
const maxBody = 1 << 20

// request is one API request as the emulator understands it.
type request struct {
	r         *http.Request
	body      []byte
	operation string
	id        string // x-amzn-RequestId of the answer
}

// operations maps the operation names served to their handlers.
var operations = map[string]func(*Server, *request) response{
	"ListHandshakesForOrganization": (*Server).listHandshakes,
	"DescribeHandshake":             (*Server).describeHandshake,
	"CancelHandshake":               (*Server).cancelHandshake,
	"InviteAccountToOrganization":   (*Server).inviteAccount,
	"AcceptHandshake":               (*Server).acceptHandshake,
	"DeclineHandshake":              (*Server).declineHandshake,
}

// Operations returns the names of the operations served.
func Operations() []string {
	return []string{
		"ListHandshakesForOrganization", "DescribeHandshake", "CancelHandshake",
		"InviteAccountToOrganization", "AcceptHandshake", "DeclineHandshake",
	}
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.stats.Arrive(s.inFlight.Add(1))
	counted := true
	defer func() {
		if counted {
			s.inFlight.Add(-1)
		}
	}()

	q := &request{r: r, id: newRequestID()}
	call := Call{Time: start, RequestID: q.id}
	resp := s.handle(q, &call)
	call.Operation = q.operation
	call.Status = resp.status
	call.Code = resp.code
	call.Dropped = resp.drop
	call.Duration = time.Since(start)

	// Log the call and count it done before the client can see the
	// answer, so that whoever got an answer finds it in Calls and Stats.
	s.stats.record(call)
	s.inFlight.Add(-1)
	counted = false

	switch {
	case resp.drop:
		emulator.DropConnection(w)
	case resp.status == statusClientGone:
	default:
		write(w, q.id, resp)
	}
}

// handle runs one request through the service's stages.
func (s *Server) handle(q *request, call *Call) response {
	r := q.r
	if err := s.faults.delay(r.Context()); err != nil {
		return response{status: statusClientGone}
	}

	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if r.Method != http.MethodPost || (r.URL.Path != "/" && r.URL.Path != "") || !ok || operations[op] == nil {
		q.operation = bounded(op, 64)
		return *frontDoorError("UnknownOperationException", "")
	}
	q.operation = op
	s.stats.arriveOperation(op)

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return *frontDoorError("SerializationException", "The request body could not be read.")
	}
	if len(body) > maxBody {
		return *frontDoorError("SerializationException", "The request body is larger than 1 MiB.")
	}
	q.body = body
	call.HandshakeID = bounded(peekHandshakeID(body), 64)

	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), ContentType) {
		return *frontDoorError("SerializationException", "Content-Type must be "+ContentType+".")
	}

	who, fail := s.authenticate(q)
	call.AccessKeyID = bounded(who.accessKeyID, 64)
	call.Session = who.session
	if fail != nil {
		return *fail
	}
	if c := s.creds[who.accessKeyID]; c.Operations != nil && !contains(c.Operations, op) {
		return errorResponse(http.StatusForbidden, codeAccessDenied, msgAccessDenied)
	}

	if f := s.faults.inject(call.HandshakeID); f != nil {
		return *f
	}

	resp := operations[op](s, q)
	if op == "CancelHandshake" && resp.status == http.StatusOK {
		resp.drop = s.faults.dropAfterCancel(call.HandshakeID)
	}
	return resp
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// bounded cuts s to at most n bytes, so that hostile input cannot grow the
// call log or the counters.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// newRequestID returns an ID shaped like the service's: a random UUID in
// lower case.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
