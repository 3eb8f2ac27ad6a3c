package erasure

import (
	"context"
	"errors"
	"fmt"
)

// Page sizes of the notifications list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListNotifications lists the calling practitioner's own notifications, newest
// first, a page at a time.
func (s *Notifications) ListNotifications(ctx context.Context, a Actor, limit int, token string) ([]Notification, string, error) {
	if err := RequirePractitioner(a); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", Errorf(EInvalid, "limit must be from 1 to %d", MaxPageSize)
	}
	if _, err := member(ctx, s.roster, a); err != nil {
		return nil, "", err
	}
	ns, next, err := s.inbox.ListNotifications(ctx, a.PracticeID, a.Subject, limit, token)
	if errors.Is(err, ErrBadToken) {
		return nil, "", Errorf(EInvalid, "nextToken is not a token this API gave")
	}
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", err)
	}
	return ns, next, nil
}

// MarkNotificationRead marks one of the calling practitioner's own
// notifications read; another practitioner's is not found.
func (s *Notifications) MarkNotificationRead(ctx context.Context, a Actor, id string) (Notification, error) {
	if err := RequirePractitioner(a); err != nil {
		return Notification{}, err
	}
	if !ValidID(id) {
		return Notification{}, Errorf(ENotFound, "no such notification")
	}
	if _, err := member(ctx, s.roster, a); err != nil {
		return Notification{}, err
	}
	n, err := s.inbox.MarkRead(ctx, a.PracticeID, a.Subject, id)
	if errors.Is(err, ErrNotFound) {
		return Notification{}, Errorf(ENotFound, "no such notification")
	}
	if err != nil {
		return Notification{}, fmt.Errorf("mark read: %w", err)
	}
	return n, nil
}
