package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// member checks a practitioner caller against the practice's records: the
// practice must have a practitioner item for the token's sub. Removing
// that item revokes access at once, whatever the token says.
func member(ctx context.Context, roster Roster, a identity.Actor) (Member, error) {
	if err := identity.RequirePractitioner(a); err != nil {
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
	case errors.Is(err, identity.ErrNotFound):
		return identity.Errorf(identity.EForbidden, "you are not a practitioner of this practice")
	}
	return fmt.Errorf("check practitioner: %w", err)
}
