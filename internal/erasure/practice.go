package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Statuses a practitioner may filter the practice's requests by.
var listableStatuses = map[Status]bool{
	StatusScheduled: true, StatusPurging: true, StatusNeedsAttention: true, StatusCompleted: true, StatusCancelled: true,
}

// ListDeletionRequests lists the calling practitioner's practice's
// deletion requests, newest first, a page at a time.
func (s *PracticeRequests) ListDeletionRequests(ctx context.Context, a identity.Actor, status Status, limit int, token string) ([]Request, string, error) {
	if err := identity.RequirePractitioner(a); err != nil {
		return nil, "", err
	}
	if status != "" && !listableStatuses[status] {
		return nil, "", identity.Errorf(identity.EInvalid, "status must be one of scheduled, purging, needs_attention, completed, cancelled")
	}
	return memberPage(ctx, s.roster, a, limit, "list requests", func(limit int) ([]Request, string, error) {
		return s.requests.ListRequests(ctx, a.PracticeID, status, limit, token)
	})
}

// GetDeletionRequest returns one of the practice's requests; another
// practice's is not found.
func (s *PracticeRequests) GetDeletionRequest(ctx context.Context, a identity.Actor, id string) (Request, error) {
	if err := identity.RequirePractitioner(a); err != nil {
		return Request{}, err
	}
	if !identity.ValidID(id) {
		return Request{}, identity.Errorf(identity.ENotFound, "no such deletion request")
	}
	if _, err := member(ctx, s.roster, a); err != nil {
		return Request{}, err
	}
	r, err := s.requests.GetRequest(ctx, id)
	// A request still accepting was promised to no one: the practice sees
	// it once it is scheduled.
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (r.PracticeID != a.PracticeID || r.Status == StatusAccepting)) {
		return Request{}, identity.Errorf(identity.ENotFound, "no such deletion request")
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	return r, nil
}
