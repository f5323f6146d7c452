// Package rmemu is a local Alibaba Cloud Resource Manager, for anyone
// testing Resource Directory automation: code that invites accounts, lists,
// accepts, declines or cancels invitations (handshakes) can run against it
// in a test or on a laptop, with no cloud account, and see the answers and
// failures the service gives. handshake-janitor uses it for `make run`, its
// tests and its benchmarks, but nothing in it is specific to that product.
//
// It serves the handshake part of the Resource Manager API (version
// 2020-03-31, RPC style): InviteAccountToResourceDirectory,
// ListHandshakesForResourceDirectory, GetHandshake, AcceptHandshake,
// DeclineHandshake and CancelHandshake, closely enough that a client cannot
// tell it from the service: the same parameters, response shapes (JSON, or
// XML with Format=XML), error codes, HTTP statuses, and the same request
// authentication (ACS3-HMAC-SHA256 and the older RPC HMAC-SHA1 signature, STS
// security tokens, nonce replay protection). The official OpenAPI client
// (darabonba-openapi) is tested against it; point any client at its URL
// with the test credentials below.
//
// A Server is an http.Handler: serve it with httptest.NewServer in tests, in
// process for local runs, or standalone with ListenAndServe (the `janitor
// emulator` command does). Seed it with invitations in the API's own JSON
// shape (LoadSeed, Seed) or generated ones (Generate). It also injects
// faults (latency, a server-side rate limit, 5xx answers, scripted failures
// per invitation, connections dropped after a cancel was applied) and records
// every call for assertions (Calls, Stats).
//
// Authentication is always on. Options.Credentials lists the keys accepted
// (SetCredentials rotates them while serving); by default the well-known
// test credentials of this package (TestAccessKeyID and
// TestAccessKeySecret, and the STS triple TestSTSAccessKeyID,
// TestSTSAccessKeySecret, TestSecurityToken).
//
// Two clocks are in play. Options.Clock is the service's clock: it stamps
// invitations and decides when a Pending one has expired, so a test can move
// time. Request timestamps (x-acs-date, Timestamp) are checked against the
// real time, because clients sign with the real time.
//
// A request goes through the service's stages in order, and the first that
// refuses it answers: added latency; method and path (400
// UnsupportedHTTPMethod, 404 InvalidAction.NotFound); Action and Version
// (400 MissingAction, 404 InvalidAction.NotFound, 400 MissingVersion,
// InvalidVersion); authentication (404 InvalidAccessKeyId.NotFound; 400
// InvalidAccessKeyId.Inactive, IncompleteSignature, MissingSecurityToken,
// InvalidSecurityToken.Malformed/.MismatchWithAccessKey/.Expired,
// InvalidTimeStamp.Format/.Expired, SignatureDoesNotMatch,
// SignatureNonceUsed, Missing<Parameter>); flow control and injected faults
// (400 Throttling.User, 503 ServiceUnavailable, 500 InternalError); then the
// action, with the codes of the API reference (MissingParameter.HandshakeId,
// InvalidParameter.HandshakeId, EntityNotExists.Handshake,
// HandshakeStatusMismatch). The codes of the action and the main
// authentication codes are the service's; those of rarer malformed requests
// follow its naming but are this emulator's best guess.
//
// Invitations are listed in the order they were seeded or invited, which
// cancelling does not change, so paging is stable.
package rmemu

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// APIVersion is the only API version the emulator serves.
const APIVersion = "2020-03-31"

// HostID is what the service puts in the HostId field of its errors.
const HostID = "resourcemanager.aliyuncs.com"

// ValidFor is how long an invitation stays Pending before it expires.
const ValidFor = 14 * 24 * time.Hour

// Well-known test credentials, accepted when Options.Credentials is nil.
// They open nothing but an emulator; never use them anywhere else.
const (
	TestAccessKeyID     = "LTAI5tRmEmuTestKey0001"
	TestAccessKeySecret = "rmemu-test-secret-not-for-production"

	TestSTSAccessKeyID     = "STS.NTRmEmuTestStsKey01"
	TestSTSAccessKeySecret = "rmemu-sts-test-secret-not-for-production"
	TestSecurityToken      = "CAISrmemuTestSecurityTokenForTheEmulatorOnly0123456789abcdefGHIJ"
)

// Credential is one access key the emulator accepts.
type Credential struct {
	AccessKeySecret string
	// SecurityToken, when set, makes this an STS key: every request signed
	// with it must carry exactly this token.
	SecurityToken string
	// Expiration, when set, is the real time after which the STS token is
	// rejected as expired.
	Expiration time.Time
	// Disabled keys are refused (InvalidAccessKeyId.Inactive), as the
	// service refuses a key deactivated in RAM.
	Disabled bool
}

// TestCredentials returns a new map holding the well-known test credentials:
// TestAccessKeyID (a long-term key) and TestSTSAccessKeyID (an STS key with
// TestSecurityToken).
func TestCredentials() map[string]Credential {
	return map[string]Credential{
		TestAccessKeyID:    {AccessKeySecret: TestAccessKeySecret},
		TestSTSAccessKeyID: {AccessKeySecret: TestSTSAccessKeySecret, SecurityToken: TestSecurityToken},
	}
}

// Defaults of Options.
const (
	DefaultResourceDirectoryID = "rd-Rm3mu7Qx"
	DefaultMasterAccountID     = "1728412355000001"
	DefaultMasterAccountName   = "Alice"
	DefaultMaxClockSkew        = 15 * time.Minute
	DefaultNonceMemory         = 1 << 18
	DefaultCallLogLimit        = emulator.DefaultCallLogLimit
)

// Options configure a Server. The zero value is a working emulator that
// accepts the test credentials.
type Options struct {
	// Credentials maps an AccessKeyId to its secret (and STS token). Nil
	// means TestCredentials(); an empty map accepts no key at all.
	Credentials map[string]Credential

	// Clock is the service's clock: invitation times and expiry. Default
	// time.Now.
	Clock func() time.Time

	// ResourceDirectoryID, MasterAccountID and MasterAccountName fill the
	// invitations that do not carry their own. Defaults above.
	ResourceDirectoryID string
	MasterAccountID     string
	MasterAccountName   string

	// Faults are the fault injection settings at start; SetFaults changes
	// them while serving.
	Faults Faults

	// RandSeed seeds the random numbers behind faults (5xx, drops,
	// jitter) and new invitation IDs, so a run can be repeated.
	RandSeed uint64

	// MaxClockSkew is how far a request's timestamp may be from the real
	// time. Default 15 minutes, as the service; negative: not checked.
	MaxClockSkew time.Duration

	// NonceMemory bounds how many signature nonces are remembered for
	// replay detection (also forgotten once older than MaxClockSkew, when
	// their request could not pass the timestamp check anyway). Default
	// 262144.
	NonceMemory int

	// CallLogLimit bounds the call log; the oldest calls are forgotten
	// first. Counters are not affected. Default 262144.
	CallLogLimit int
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	clock  func() time.Time
	rdID   string
	master string
	name   string

	credMu sync.RWMutex
	creds  map[string]Credential
	tokens map[string]string // security token -> its access key ID
	skew   time.Duration
	nonces *nonceCache

	store  store
	faults faultState
	stats  stats

	inFlight atomic.Int64

	// hookServe, when set (by tests), runs once a request is counted in
	// flight and before it is answered.
	hookServe func()
}

// New returns a Server ready to serve, holding no invitations.
func New(opts Options) *Server {
	s := &Server{
		clock:  opts.Clock,
		rdID:   opts.ResourceDirectoryID,
		master: opts.MasterAccountID,
		name:   opts.MasterAccountName,
		skew:   opts.MaxClockSkew,
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rdID == "" {
		s.rdID = DefaultResourceDirectoryID
	}
	if s.master == "" {
		s.master = DefaultMasterAccountID
	}
	if s.name == "" {
		s.name = DefaultMasterAccountName
	}
	if s.skew == 0 {
		s.skew = DefaultMaxClockSkew
	}
	creds := opts.Credentials
	if creds == nil {
		creds = TestCredentials()
	}
	s.SetCredentials(creds)
	memory := opts.NonceMemory
	if memory <= 0 {
		memory = DefaultNonceMemory
	}
	s.nonces = newNonceCache(memory, s.skew)
	s.store.init(opts.RandSeed)
	s.faults.init(opts.Faults, opts.RandSeed)
	s.stats.Init(opts.CallLogLimit)
	return s
}

// Now returns the time on the service's clock.
func (s *Server) Now() time.Time { return s.clock() }

// maxBody bounds a request body: the handshake API takes a few short
// parameters, so anything larger is not a request a client would send.
const maxBody = 1 << 20

// request is one API request as the emulator understands it.
type request struct {
	r       *http.Request
	body    []byte
	query   map[string][]string // from the URL, as sent
	form    map[string][]string // from a form body, if any
	action  string
	version string
	xml     bool
	id      string // RequestId of the answer
}

// param returns the first value of a parameter, from the query first and
// then from a form body.
func (q *request) param(name string) (string, bool) {
	if v, ok := q.query[name]; ok && len(v) > 0 {
		return v[0], true
	}
	if v, ok := q.form[name]; ok && len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// actions maps the action names served to their handlers.
var actions = map[string]func(*Server, *request) response{
	"CancelHandshake":                    (*Server).cancelHandshake,
	"GetHandshake":                       (*Server).getHandshake,
	"ListHandshakesForResourceDirectory": (*Server).listHandshakes,
	"InviteAccountToResourceDirectory":   (*Server).inviteAccount,
	"AcceptHandshake":                    (*Server).acceptHandshake,
	"DeclineHandshake":                   (*Server).declineHandshake,
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
	if s.hookServe != nil {
		s.hookServe()
	}

	q := &request{r: r, id: newRequestID()}
	call := Call{Time: start, RequestID: q.id}
	resp := s.handle(q, &call)
	call.Action = q.action
	call.Status = resp.status
	call.Code = resp.code
	call.Dropped = resp.drop
	call.Duration = time.Since(start)

	// Log the call and count it done before the client can see the
	// answer (or the closed connection), so that whoever got an answer
	// finds it in Calls and Stats.
	s.stats.record(call)
	s.inFlight.Add(-1)
	counted = false

	switch {
	case resp.drop:
		emulator.DropConnection(w)
	case resp.status == statusClientGone:
		// The client went away while the request was delayed: nobody
		// is left to answer.
	default:
		s.write(w, q, resp)
	}
}

// handle runs one request through the service's stages: protocol checks,
// authentication, flow control and fault injection, then the action.
func (s *Server) handle(q *request, call *Call) response {
	r := q.r
	// Decide the answer's format first, so that every error, even one
	// about the request's shape, comes in the format asked for.
	query, qerr := parseQuery(r.URL.RawQuery)
	q.query = query
	if f, ok := q.param("Format"); ok && strings.EqualFold(f, "XML") {
		q.xml = true
	}
	q.action = headerOr(r, "x-acs-action", query, "Action")
	q.version = headerOr(r, "x-acs-version", query, "Version")
	if id, ok := q.param("HandshakeId"); ok {
		call.HandshakeID = handshake.Cut(id, 64)
	}

	// Latency first: a slow network or gateway delays every answer.
	if err := s.faults.delay(r.Context()); err != nil {
		return response{status: statusClientGone}
	}

	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return errorResponse(http.StatusBadRequest, "UnsupportedHTTPMethod", "The HTTP method "+handshake.Quote(r.Method, 20)+" is not supported; use GET or POST.")
	}
	if r.URL.Path != "/" && r.URL.Path != "" {
		return errorResponse(http.StatusNotFound, "InvalidAction.NotFound", msgActionNotFound)
	}
	if qerr != nil {
		return errorResponse(http.StatusBadRequest, "InvalidParameter", "The query string is malformed: "+qerr.Error())
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorResponse(http.StatusBadRequest, "InvalidParameter", "The request body could not be read.")
	}
	if len(body) > maxBody {
		return errorResponse(http.StatusRequestEntityTooLarge, "InvalidParameter", "The request body is larger than 1 MiB.")
	}
	q.body = body
	if isForm(r.Header.Get("Content-Type")) && len(body) > 0 {
		form, err := parseQuery(string(body))
		if err != nil {
			return errorResponse(http.StatusBadRequest, "InvalidParameter", "The form body is malformed: "+err.Error())
		}
		q.form = form
		if q.action == "" {
			q.action, _ = q.param("Action")
		}
		if q.version == "" {
			q.version, _ = q.param("Version")
		}
		if id, ok := q.param("HandshakeId"); ok && call.HandshakeID == "" {
			call.HandshakeID = handshake.Cut(id, 64)
		}
		if f, ok := q.param("Format"); ok && strings.EqualFold(f, "XML") {
			q.xml = true
		}
	}

	if q.action == "" {
		return errorResponse(http.StatusBadRequest, "MissingAction", missingMessage("Action"))
	}
	handler, ok := actions[q.action]
	if !ok {
		q.action = handshake.Cut(q.action, 64)
		return errorResponse(http.StatusNotFound, "InvalidAction.NotFound", msgActionNotFound)
	}
	s.stats.arriveAction(q.action)
	if q.version == "" {
		return errorResponse(http.StatusBadRequest, "MissingVersion", missingMessage("Version"))
	}
	if q.version != APIVersion {
		return errorResponse(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
	}

	who, fail := s.authenticate(q)
	call.AccessKeyID = handshake.Cut(who.accessKeyID, 64)
	call.Auth = who.method
	call.STS = who.sts
	if fail != nil {
		return *fail
	}

	if f := s.faults.inject(call.HandshakeID); f != nil {
		return *f
	}

	resp := handler(s, q)
	if q.action == "CancelHandshake" && resp.status == http.StatusOK {
		resp.drop = s.faults.dropAfterCancel(call.HandshakeID)
	}
	return resp
}

// headerOr returns the value of a V3 header, or else of a query parameter.
func headerOr(r *http.Request, header string, query map[string][]string, param string) string {
	if v := r.Header.Get(header); v != "" {
		return v
	}
	if v := query[param]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func isForm(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}
