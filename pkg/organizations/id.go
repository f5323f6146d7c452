package organizations

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// ID is a handshake ID that passed validation. Only ParseID makes one from
// untrusted input, so an ID never carries anything but what the API's
// pattern ^h-[0-9a-z]{8,32}$ allows.
type ID string

// String returns the ID as the API spells it.
func (id ID) String() string { return string(id) }

// ErrInvalidID is wrapped by every error ParseID returns.
var ErrInvalidID = errors.New("invalid handshake ID")

// ID lengths the API's pattern allows: "h-" and 8 to 32 characters.
const (
	minIDLength = 2 + 8
	maxIDLength = 2 + 32
)

// ParseID validates s against the API's pattern ^h-[0-9a-z]{8,32}$: "h-"
// followed by 8 to 32 lower-case ASCII letters or digits. The error wraps
// ErrInvalidID, quotes a bounded part of s, and says what is accepted.
func ParseID(s string) (ID, error) {
	if len(s) < minIDLength || len(s) > maxIDLength || s[0] != 'h' || s[1] != '-' {
		return "", invalidID(s)
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return "", invalidID(s)
		}
	}
	return ID(s), nil
}

func invalidID(s string) error {
	return fmt.Errorf("%w %s: want \"h-\" followed by 8 to 32 lower-case letters or digits", ErrInvalidID, handshake.Quote(s, 40))
}

// targetTypeOf names a party type in the neutral words of pkg/handshake:
// ACCOUNT is handshake.TargetAccount, EMAIL handshake.TargetEmail; the
// ORGANIZATION party (the inviter) is no target.
func targetTypeOf(t types.HandshakePartyType) (handshake.TargetType, bool) {
	switch t {
	case types.HandshakePartyTypeAccount:
		return handshake.TargetAccount, true
	case types.HandshakePartyTypeEmail:
		return handshake.TargetEmail, true
	}
	return "", false
}
