package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Page sizes of the lists (notifications, the practice's requests).
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageSize is the page size a list call asks for: DefaultPageSize for 0,
// else 1 to MaxPageSize. It is the one rule for a limit; the API edge only
// parses the query's number.
func PageSize(limit int) (int, error) {
	if limit == 0 {
		return DefaultPageSize, nil
	}
	if limit < 1 || limit > MaxPageSize {
		return 0, identity.Errorf(identity.EInvalid, "limit must be from 1 to %d", MaxPageSize)
	}
	return limit, nil
}

// memberPage reads one page of a list for a practitioner caller: the page
// size, the caller's membership in the practice's records, then read; a
// page token the store did not give is the caller's mistake, and any other
// failure of the read is wrapped as what failed.
func memberPage[T any](ctx context.Context, roster Roster, a identity.Actor, limit int, what string, read func(limit int) ([]T, string, error)) ([]T, string, error) {
	limit, err := PageSize(limit)
	if err != nil {
		return nil, "", err
	}
	if _, err := member(ctx, roster, a); err != nil {
		return nil, "", err
	}
	items, next, err := read(limit)
	if errors.Is(err, identity.ErrBadToken) {
		return nil, "", identity.Errorf(identity.EInvalid, "nextToken is not a token this API gave")
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	return items, next, nil
}

// ListNotifications lists the calling practitioner's own notifications, newest
// first, a page at a time.
func (s *Notifications) ListNotifications(ctx context.Context, a identity.Actor, limit int, token string) ([]Notification, string, error) {
	if err := identity.RequirePractitioner(a); err != nil {
		return nil, "", err
	}
	return memberPage(ctx, s.roster, a, limit, "list notifications", func(limit int) ([]Notification, string, error) {
		return s.inbox.ListNotifications(ctx, a.PracticeID, a.Subject, limit, token)
	})
}

// MarkNotificationRead marks one of the calling practitioner's own
// notifications read; another practitioner's is not found.
func (s *Notifications) MarkNotificationRead(ctx context.Context, a identity.Actor, id string) (Notification, error) {
	if err := identity.RequirePractitioner(a); err != nil {
		return Notification{}, err
	}
	if !identity.ValidID(id) {
		return Notification{}, identity.Errorf(identity.ENotFound, "no such notification")
	}
	if _, err := member(ctx, s.roster, a); err != nil {
		return Notification{}, err
	}
	n, err := s.inbox.MarkRead(ctx, a.PracticeID, a.Subject, id)
	if errors.Is(err, identity.ErrNotFound) {
		return Notification{}, identity.Errorf(identity.ENotFound, "no such notification")
	}
	if err != nil {
		return Notification{}, fmt.Errorf("mark read: %w", err)
	}
	return n, nil
}
