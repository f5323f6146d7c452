// Package organizations is handshake-janitor's one client of the AWS
// Organizations API, on the official SDK (aws-sdk-go-v2/service/organizations).
//
// It is built from an aws.Config, normally LoadConfig's: the SDK's standard
// credential chain (the Lambda execution role in production) and its
// standard endpoint override, AWS_ENDPOINT_URL_ORGANIZATIONS.
//
// # One retry policy
//
// The SDK's own retryer is turned off (aws.NopRetryer, one attempt per SDK
// call). The single owner of retries is the client's pacing.Pacer, as for
// Resource Manager: rate limit (cut on TooManyRequestsException), backoff
// and attempt counting, within the deadline.Budget of the call's context,
// whose API timeout bounds every attempt and whose rules decide whether an
// attempt may start (no attempt starts with less than the timeout plus its
// reserve left). TooManyRequestsException (throttled),
// ConcurrentModificationException, ServiceException, another 5xx, a timeout
// and a network failure are retried; every other answer ends the call.
// ListPage, Cancel and Describe are the single attempts; Invitations,
// CancelInvitation and DescribeInvitation are the paced calls, and with
// Kind, ParseID and Classify make a Client a directory.Directory.
//
// It validates handshake IDs before any call (ParseID), lists only the
// invitations a janitor may act on (INVITE handshakes, OPEN or REQUESTED),
// converts the SDK's Handshake to a small plain struct, and classifies each
// answer into a Verdict.
//
// No secret or token appears in an error string: Error reports the service's
// exception name, a bounded message scrubbed of the credentials that signed
// the request, and the request ID.
package organizations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	sdk "github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
)

// The API operations the client calls.
const (
	opList     = "ListHandshakesForOrganization"
	opCancel   = "CancelHandshake"
	opDescribe = "DescribeHandshake"
)

// Actions returns the API operations a Client calls (each the IAM action
// organizations:<name>), so that the deploy descriptors' policies can be
// checked against what the code really does: a permission nobody uses is
// one an attacker could.
func Actions() []string { return []string{opCancel, opDescribe, opList} }

// DefaultRegion is the region LoadConfig uses when none is configured:
// Organizations in the aws partition is served from, and signs for,
// us-east-1.
const DefaultRegion = "us-east-1"

// PageSize is the MaxResults of every ListHandshakesForOrganization call:
// the API's maximum.
const PageSize = 20

// DefaultMaxPages bounds a listing (200,000 handshakes, far beyond any
// organization's): past it, the listing fails rather than stopping quietly
// with part of the organization.
const DefaultMaxPages = 10000

// LoadConfig loads the AWS configuration with the SDK's standard chains
// (environment, shared files, container and instance roles; endpoint
// overrides such as AWS_ENDPOINT_URL_ORGANIZATIONS), the region defaulting
// to DefaultRegion, and the SDK's retryer off.
func LoadConfig(ctx context.Context, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}, optFns...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("organizations: loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

// Options configure a Client.
type Options struct {
	// Config is the AWS configuration (LoadConfig's). Its retryer is
	// replaced: the client makes one attempt per call.
	Config aws.Config
	// QPS is the client-side rate limit, requests/s; default
	// pacing.DefaultQPS.
	QPS float64
	// MaxAttempts per call, the first included; default
	// pacing.DefaultMaxAttempts, at most pacing.MaxAttempts.
	MaxAttempts int
	// MaxPages bounds a listing; 0 for DefaultMaxPages.
	MaxPages int
	// BaseEndpoint, when set, overrides the endpoint (tests; production
	// uses AWS_ENDPOINT_URL_ORGANIZATIONS through Config).
	BaseEndpoint string
}

// Client calls the Organizations API. It is safe for concurrent use: one
// per process, shared by every call.
type Client struct {
	api      *sdk.Client
	creds    aws.CredentialsProvider // to scrub error messages
	pacer    *pacing.Pacer
	maxPages int
}

// New validates opts and returns a Client. A bad option is an error naming
// it, its value and what is accepted.
func New(opts Options) (*Client, error) {
	pacer, err := pacing.New(pacing.Options{QPS: opts.QPS, MaxAttempts: opts.MaxAttempts})
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	if opts.MaxPages < 0 {
		return nil, fmt.Errorf("organizations: MaxPages %d: want a positive number of pages (0 for %d)", opts.MaxPages, DefaultMaxPages)
	}
	cfg := opts.Config.Copy()
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	c := &Client{creds: cfg.Credentials, pacer: pacer, maxPages: opts.MaxPages}
	if c.maxPages == 0 {
		c.maxPages = DefaultMaxPages
	}
	c.api = sdk.NewFromConfig(cfg, func(o *sdk.Options) {
		// One attempt per call: the caller owns retries.
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 1
		if opts.BaseEndpoint != "" {
			o.BaseEndpoint = aws.String(opts.BaseEndpoint)
		}
	})
	return c, nil
}

// Rate returns the client-side rate limit now in force, in requests per
// second: the configured QPS, or less after the service throttled.
func (c *Client) Rate() float64 { return c.pacer.Rate() }

// Handshake is one handshake as the janitor sees it.
type Handshake struct {
	ID     string
	Arn    string
	Action string // the API's action type: INVITE, ENABLE_ALL_FEATURES, ...
	// State is the API's own word: OPEN, REQUESTED, CANCELED, ACCEPTED,
	// DECLINED, EXPIRED (or any other the service adds).
	State string
	// Target is the invited party: the party of type ACCOUNT or EMAIL
	// (the other party is the organization). Empty when there is none.
	Target     string
	TargetType handshake.TargetType // handshake.TargetAccount or handshake.TargetEmail; "" without a target
	// RequestedAt and ExpiresAt are zero when the API left them out.
	RequestedAt time.Time
	ExpiresAt   time.Time
}

// Open reports whether the handshake can still be accepted, declined or
// cancelled: its state is OPEN or REQUESTED.
func (h Handshake) Open() bool {
	return h.State == string(types.HandshakeStateOpen) || h.State == string(types.HandshakeStateRequested)
}

// Invitation reports whether the janitor may act on h: an INVITE handshake
// still open. Every other action type (ENABLE_ALL_FEATURES,
// APPROVE_ALL_FEATURES, TRANSFER_RESPONSIBILITY, ...) is never cancelled.
func (h Handshake) Invitation() bool {
	return h.Action == string(types.ActionTypeInviteAccountToOrganization) && h.Open()
}

// FromSDK converts the SDK's Handshake.
func FromSDK(h types.Handshake) Handshake {
	out := Handshake{
		ID:          aws.ToString(h.Id),
		Arn:         aws.ToString(h.Arn),
		Action:      string(h.Action),
		State:       string(h.State),
		RequestedAt: aws.ToTime(h.RequestedTimestamp),
		ExpiresAt:   aws.ToTime(h.ExpirationTimestamp),
	}
	for _, p := range h.Parties {
		if tt, ok := targetTypeOf(p.Type); ok {
			out.Target, out.TargetType = aws.ToString(p.Id), tt
			break
		}
	}
	return out
}

// Page is one page of a listing.
type Page struct {
	// Invitations are the page's INVITE handshakes in state OPEN or
	// REQUESTED, in the API's order; with a valid ID each.
	Invitations []Handshake
	// Others counts the page's other handshakes (finished invitations,
	// or another action type should the filter not hold), left alone.
	Others int
	// NextToken continues the listing; "" when it is complete.
	NextToken string
	RequestID string
}

// ListPage lists one page of the organization's invitations
// (ListHandshakesForOrganization, MaxResults 20, Filter ActionType INVITE)
// from token ("" for the first), in one attempt. What the service returns
// is checked again: a handshake of another action type, or no longer open,
// is counted in Others and never yielded. A listed invitation whose ID the
// API pattern refuses is an error: the listing cannot be trusted.
func (c *Client) ListPage(ctx context.Context, token string) (Page, error) {
	in := &sdk.ListHandshakesForOrganizationInput{
		MaxResults: aws.Int32(PageSize),
		Filter:     &types.HandshakeFilter{ActionType: types.ActionTypeInviteAccountToOrganization},
	}
	if token != "" {
		in.NextToken = aws.String(token)
	}
	var out *sdk.ListHandshakesForOrganizationOutput
	rid, err := c.attempt(ctx, opList, "", func(actx context.Context) (md middleware.Metadata, err error) {
		out, err = c.api.ListHandshakesForOrganization(actx, in)
		if err != nil {
			return md, err
		}
		return out.ResultMetadata, nil
	})
	if err != nil {
		return Page{RequestID: rid}, err
	}
	p := Page{NextToken: aws.ToString(out.NextToken), RequestID: rid}
	for _, sh := range out.Handshakes {
		h := FromSDK(sh)
		if !h.Invitation() {
			p.Others++
			continue
		}
		if _, err := ParseID(h.ID); err != nil {
			return Page{RequestID: rid}, fmt.Errorf("organizations: %s listed an invitation with a bad ID: %w", opList, err)
		}
		p.Invitations = append(p.Invitations, h)
	}
	return p, nil
}

// ErrListingTooLong is wrapped by the error ending a listing that went on
// past its bound on pages: the listing fails rather than acting on part of
// the organization.
var ErrListingTooLong = errors.New("listing too long")

// Result is what one call returned: the handshake as the API answered it
// (on success), and the request ID (on failure, the failing answer's, when
// there was one).
type Result struct {
	Handshake Handshake
	RequestID string
}

// Cancel cancels one handshake (CancelHandshake), in one attempt. Classify
// its error.
func (c *Client) Cancel(ctx context.Context, id ID) (Result, error) {
	return c.one(ctx, opCancel, id, func(actx context.Context) (*types.Handshake, middleware.Metadata, error) {
		out, err := c.api.CancelHandshake(actx, &sdk.CancelHandshakeInput{HandshakeId: aws.String(string(id))})
		if err != nil {
			return nil, middleware.Metadata{}, err
		}
		return out.Handshake, out.ResultMetadata, nil
	})
}

// Describe reads one handshake's current record (DescribeHandshake), in
// one attempt.
func (c *Client) Describe(ctx context.Context, id ID) (Result, error) {
	return c.one(ctx, opDescribe, id, func(actx context.Context) (*types.Handshake, middleware.Metadata, error) {
		out, err := c.api.DescribeHandshake(actx, &sdk.DescribeHandshakeInput{HandshakeId: aws.String(string(id))})
		if err != nil {
			return nil, middleware.Metadata{}, err
		}
		return out.Handshake, out.ResultMetadata, nil
	})
}

func (c *Client) one(ctx context.Context, op string, id ID, call func(context.Context) (*types.Handshake, middleware.Metadata, error)) (Result, error) {
	// ID is validated by construction, except the zero value.
	if _, err := ParseID(string(id)); err != nil {
		return Result{}, fmt.Errorf("organizations: %s: %w", op, err)
	}
	var h *types.Handshake
	rid, err := c.attempt(ctx, op, string(id), func(actx context.Context) (md middleware.Metadata, err error) {
		h, md, err = call(actx)
		return md, err
	})
	if err != nil {
		return Result{RequestID: rid}, err
	}
	r := Result{RequestID: rid}
	if h != nil {
		r.Handshake = FromSDK(*h)
	}
	return r, nil
}

// ErrDeadline is wrapped by the error of a call that did not start because
// the deadline budget let no attempt start (less than the timeout plus its
// reserve left), or whose attempt the invocation's deadline cut short.
var ErrDeadline = errors.New("organizations: out of time before the context's deadline")

// attempt runs one call under the API timeout of the deadline.Budget in
// ctx (deadline.Of), unless the Budget forbids starting it, and returns the
// answer's request ID. Called by the Pacer, ctx is already the attempt's.
func (c *Client) attempt(ctx context.Context, op, id string, call func(context.Context) (middleware.Metadata, error)) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", c.wrap(ctx, op, id, err)
	}
	b := deadline.Of(ctx)
	if !b.CanStart(time.Now()) {
		return "", fmt.Errorf("%w (%s: less than the API timeout %s and its reserve left)", ErrDeadline, op, b.APITimeout())
	}
	actx, cancel := context.WithTimeout(ctx, b.APITimeout())
	defer cancel()
	md, err := call(actx)
	if err != nil {
		e := c.wrap(ctx, op, id, err)
		return e.RequestID, e
	}
	rid, _ := awsmiddleware.GetRequestIDMetadata(md)
	return rid, nil
}
