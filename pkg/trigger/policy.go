package trigger

import (
	"encoding/json"
	"fmt"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

// parseAllowedTargets reads a sweep's "allowedTargets": an array of target
// patterns that replaces ALLOWED_TARGETS for this run. An empty array is
// refused rather than read as "allow nothing" (which would cancel every
// open invitation) or as "no policy" (which reads the same as a typo):
// leave the field out to use the configured policy.
func parseAllowedTargets(raw json.RawMessage, k directory.Kind) (targetpolicy.Policy, error) {
	var items []string
	if err := json.Unmarshal(raw, &items); err != nil {
		return targetpolicy.Policy{}, fmt.Errorf(`%w: "sweep.allowedTargets" is %s, want an array of target patterns such as ["*@example.com"]`,
			ErrInvalidPayload, handshake.Quote(string(raw), quoteMax))
	}
	if len(items) == 0 {
		return targetpolicy.Policy{}, fmt.Errorf(`%w: "sweep.allowedTargets" is empty: name at least one pattern, or leave the field out to use ALLOWED_TARGETS`, ErrInvalidPayload)
	}
	p, err := targetpolicy.New(items, k)
	if err != nil {
		return targetpolicy.Policy{}, fmt.Errorf(`%w: "sweep.allowedTargets": %w`, ErrInvalidPayload, err)
	}
	return p, nil
}
