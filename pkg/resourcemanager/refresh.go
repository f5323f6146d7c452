package resourcemanager

import (
	"context"
	"fmt"
	"strings"
)

// A RefreshingProvider is a CredentialsProvider whose credentials can be
// re-read before they are due: from a secret store whose value is rotated,
// say. When the service refuses the credentials a call was signed with (an
// authentication error: InvalidAccessKeyId.*, SignatureDoesNotMatch,
// InvalidSecurityToken.*), the Client calls Refresh once for that call and,
// when it returns other credentials, sends the call again at once with them.
// Credentials the call carries in its context (WithCredentials) are never
// refreshed.
type RefreshingProvider interface {
	CredentialsProvider
	// Refresh re-reads the credentials now, unless what the provider holds
	// is already not rejected (another call refreshed them first), and
	// returns what the provider holds then. Calls that refresh at the same
	// time should share one read.
	Refresh(ctx context.Context, rejected Credentials) (Credentials, error)
}

// credentialsRejected reports whether the service refused the credentials
// that signed the request: the key is unknown or disabled, the signature
// does not match its secret, or the security token is malformed, expired or
// not the key's.
func (e *APIError) credentialsRejected() bool {
	return e.Code == "SignatureDoesNotMatch" ||
		codeIn(e.Code, "InvalidAccessKeyId") ||
		codeIn(e.Code, "InvalidSecurityToken")
}

// codeIn reports whether code is family or one of its sub-codes (family.*).
func codeIn(code, family string) bool {
	return code == family || strings.HasPrefix(code, family+".")
}

// refreshCredentials asks the provider for other credentials after the
// service rejected used. ok is true when the call should be sent again with
// the new ones; err is set when the provider could not re-read them.
func (c *Client) refreshCredentials(ctx context.Context, used Credentials) (ok bool, err error) {
	if cr, inCtx := ctx.Value(credentialsKey{}).(Credentials); inCtx && cr.valid() {
		return false, nil // the invocation's own: nothing to re-read
	}
	rp, can := c.creds.(RefreshingProvider)
	if !can {
		return false, nil
	}
	fresh, err := rp.Refresh(ctx, used)
	if err != nil {
		return false, fmt.Errorf("re-reading the credentials: %w", err)
	}
	return fresh.valid() && fresh != used, nil
}
