package erasure

import (
	"context"
	"fmt"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// GetSetting returns the practice's Right To Be Forgotten setting to a
// practitioner of the practice; the setting and the caller's membership
// are read together.
func (s *Settings) GetSetting(ctx context.Context, a identity.Actor) (Setting, error) {
	if err := identity.RequirePractitioner(a); err != nil {
		return Setting{}, err
	}
	st, _, err := s.settings.GetSettingAs(ctx, a.PracticeID, a.Subject)
	if err := MemberError(err); err != nil {
		return Setting{}, err
	}
	return st, nil
}

// PutSetting turns client-initiated deletion on or off. Only the team owner
// may: the practitioner whose sub the practice's record names its owner.
// Turning it off does not cancel requests already accepted.
func (s *Settings) PutSetting(ctx context.Context, a identity.Actor, enabled bool) (Setting, error) {
	if err := identity.RequireOwner(a); err != nil {
		return Setting{}, err
	}
	m, err := member(ctx, s.roster, a)
	if err != nil {
		return Setting{}, err
	}
	if !m.Owner {
		return Setting{}, identity.Errorf(identity.EForbidden, "only the team owner may change this setting")
	}
	now := s.now()
	st := Setting{PracticeID: a.PracticeID, Enabled: enabled, UpdatedAt: &now, UpdatedBy: a.Subject}
	if err := s.settings.PutSetting(ctx, st); err != nil {
		return Setting{}, fmt.Errorf("put setting: %w", err)
	}
	return st, nil
}
