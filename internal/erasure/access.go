package erasure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// NewRequestID returns a random, URL-safe request id.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequirePractitioner refuses anyone but a practitioner, by the token's
// role alone. The API edge calls it before reading a body or a query, so
// that a caller who may not use a route learns only that; the service then
// checks the practitioner against the practice's records.
func RequirePractitioner(a Actor) error {
	if a.Role != RolePractitioner {
		return Errorf(EForbidden, "only practitioners may do this")
	}
	return nil
}

// member checks a practitioner caller against the practice's records: the
// practice must have a practitioner item for the token's sub. Removing
// that item revokes access at once, whatever the token says.
func member(ctx context.Context, roster Roster, a Actor) (Member, error) {
	if err := RequirePractitioner(a); err != nil {
		return Member{}, err
	}
	m, err := roster.Member(ctx, a.PracticeID, a.Subject)
	return m, MemberError(err)
}

// MemberError is the error for a failed membership read: forbidden when
// the practice has no such practitioner, internal otherwise.
func MemberError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return Errorf(EForbidden, "you are not a practitioner of this practice")
	}
	return fmt.Errorf("check practitioner: %w", err)
}

// RequireClient refuses anyone but a client. The API edge calls it before
// reading a body, so that a caller who may not use a route learns only that.
func RequireClient(a Actor) error {
	if a.Role != RoleClient {
		return Errorf(EForbidden, "only clients may do this")
	}
	return nil
}

// RequireOwner refuses a token that does not claim the team owner's role.
// The claim only narrows: PutSetting still checks the practice's record,
// whose ownerId alone makes a caller the owner.
func RequireOwner(a Actor) error {
	if err := RequirePractitioner(a); err != nil {
		return err
	}
	if a.TeamRole != TeamOwner {
		return Errorf(EForbidden, "only the team owner may change this setting")
	}
	return nil
}
