package erasure

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// DefaultPurgeDelay is the 30 days the product promises.
const DefaultPurgeDelay = 30 * 24 * time.Hour

// ScheduleName is the deterministic name of a request's purge schedule, so
// that creating it twice cannot make two.
func ScheduleName(requestID string) string { return "rtbf-purge-" + requestID }

// PortalView is what the client portal needs to show My Profile.
type PortalView struct {
	Available bool
	Request   *Request
}

// Portal tells a client whether they may delete their account and what
// became of a request they made.
func (s *ClientRequests) Portal(ctx context.Context, a identity.Actor) (PortalView, error) {
	if _, err := s.openClient(ctx, a); err != nil {
		return PortalView{}, err
	}
	st, err := s.settings.GetSetting(ctx, a.PracticeID)
	if err != nil {
		return PortalView{}, fmt.Errorf("get setting: %w", err)
	}
	v := PortalView{Available: st.Enabled}
	r, err := s.requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
	switch {
	case errors.Is(err, identity.ErrNotFound):
	case err != nil:
		return PortalView{}, fmt.Errorf("active request: %w", err)
	case r.Status != StatusAccepting:
		// A request still accepting was promised to no one: the client
		// sees none until it is (their retry finishes it).
		v.Request = &r
	}
	return v, nil
}

// openClient is the caller's client profile, once it names the caller and
// their portal is open. A token is a client's only when its sub is the
// profile's portalUserId: a token naming another client, or a client with
// no profile, is refused before anything else of that client is read.
func (s *ClientRequests) openClient(ctx context.Context, a identity.Actor) (Client, error) {
	if err := identity.RequireClient(a); err != nil {
		return Client{}, err
	}
	c, err := s.directory.GetClient(ctx, a.PracticeID, a.ClientID)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (c.PortalUserID == "" || c.PortalUserID != a.Subject)) {
		return Client{}, identity.Errorf(identity.EForbidden, "no client profile matches this token")
	}
	if err != nil {
		return Client{}, fmt.Errorf("get client: %w", err)
	}
	if err := s.portalOpen(ctx, a); err != nil {
		return Client{}, err
	}
	return c, nil
}

// portalOpen refuses a client whose portal a completed purge closed.
func (s *ClientRequests) portalOpen(ctx context.Context, a identity.Actor) error {
	closed, err := s.requests.PortalClosed(ctx, a.PracticeID, a.ClientID)
	if err != nil {
		return fmt.Errorf("portal access: %w", err)
	}
	if closed {
		return identity.Errorf(identity.EAccountClosed, "this account was deleted at the client's request")
	}
	return nil
}

// RequestDeletion accepts a client's request to delete their account. It
// returns the request and whether this call created it; a repeat call while
// a request is pending returns that request and creates nothing.
//
// A returned request means the purge will happen: its schedule exists. When
// the schedule cannot be made the request is rolled back and the caller gets
// EUnavailable, so a retry starts afresh.
func (s *ClientRequests) RequestDeletion(ctx context.Context, a identity.Actor) (Request, bool, error) {
	client, err := s.openClient(ctx, a)
	if err != nil {
		return Request{}, false, err
	}
	existing, err := s.requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
	if err == nil {
		r, err := s.accept(ctx, existing, false, nil)
		return r, false, err
	}
	if !errors.Is(err, identity.ErrNotFound) {
		return Request{}, false, fmt.Errorf("active request: %w", err)
	}

	st, err := s.settings.GetSetting(ctx, a.PracticeID)
	if err != nil {
		return Request{}, false, fmt.Errorf("get setting: %w", err)
	}
	if !st.Enabled {
		return Request{}, false, identity.Errorf(identity.EDeletionDisabled, "your practitioner has not enabled account deletion from the client portal; please contact them")
	}
	counts, err := Scope(ctx, s.content, a.PracticeID, a.ClientID)
	if err != nil {
		return Request{}, false, fmt.Errorf("count scope: %w", err)
	}

	now := s.now()
	id := s.newID()
	r := Request{
		ID:           id,
		PracticeID:   a.PracticeID,
		ClientID:     a.ClientID,
		RequestedBy:  a.Subject,
		Status:       StatusAccepting,
		RequestedAt:  now,
		PurgeAt:      now.Add(s.purgeDelay).Truncate(time.Second),
		WillDelete:   counts,
		ScheduleName: ScheduleName(id),
	}
	err = s.requests.CreateRequest(ctx, r)
	if errors.Is(err, identity.ErrConditionFailed) {
		// Another call won the race (or the portal closed meanwhile):
		// answer with what it made.
		if err := s.portalOpen(ctx, a); err != nil {
			return Request{}, false, err
		}
		existing, err := s.requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
		if err != nil {
			return Request{}, false, identity.Errorf(identity.EConflict, "another request for this account is being made; try again")
		}
		r, err := s.accept(ctx, existing, false, nil)
		return r, false, err
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("create request: %w", err)
	}
	r, err = s.accept(ctx, r, true, &client)
	return r, err == nil, err
}

// accept brings a recorded request to the point where the purge is
// committed (its schedule exists) and makes what it owes: the
// practitioners' notices and email and the client's confirmation. Every
// step is idempotent, so concurrent and repeated calls converge.
// client is the request's client when the caller has read it, else nil.
func (s *ClientRequests) accept(ctx context.Context, r Request, created bool, client *Client) (Request, error) {
	if r.Status == StatusAccepting {
		err := s.scheduler.CreatePurgeSchedule(ctx, PurgeSchedule{Name: r.ScheduleName, At: r.PurgeAt, RequestID: r.ID})
		if err != nil && !errors.Is(err, identity.ErrAlreadyExists) {
			s.log().ErrorContext(ctx, "create purge schedule", "deletionRequestId", r.ID, "err", err)
			if created {
				if err := s.requests.DeleteAcceptingRequest(ctx, r); err != nil {
					s.log().ErrorContext(ctx, "roll back request", "deletionRequestId", r.ID, "err", err)
				}
			}
			return Request{}, identity.Errorf(identity.EUnavailable, "your request could not be scheduled just now; nothing was changed, please try again")
		}
		if err := s.requests.MarkScheduled(ctx, r); err != nil {
			s.log().ErrorContext(ctx, "mark scheduled", "deletionRequestId", r.ID, "err", err)
			return Request{}, identity.Errorf(identity.EUnavailable, "your request could not be confirmed just now; please try again")
		}
		r.Status = StatusScheduled
		r.Owed = append(r.Owed, DeliveryPractitionersRequested, DeliveryClientRequested)
	}
	if len(r.Owed) > 0 {
		// The purge is committed whatever happens here. What fails is
		// made by the client's next call or by the sweep.
		if err := s.deliver(ctx, r.ID, client); err != nil {
			s.log().WarnContext(ctx, "tell the practitioners and the client; the sweep will retry", "deletionRequestId", r.ID, "err", err)
		}
		if cur, err := s.requests.GetRequest(ctx, r.ID); err == nil {
			r = cur
		}
	}
	return r, nil
}

// CancelDeletion withdraws the client's pending request before its purge
// starts: the request becomes cancelled, its schedule is deleted and the
// practitioners and the client are told. Once the purge has started it is
// too late. Asking again after a cancel answers with the cancelled request
// and makes whatever of its deliveries failed the first time. A request
// still accepting (its acceptance failed part way, and no one was told of
// it) is rolled back silently: for the client there was no request.
// cancelled reports whether this call cancelled the request (not one
// before it, or a concurrent one).
func (s *ClientRequests) CancelDeletion(ctx context.Context, a identity.Actor) (r Request, cancelled bool, err error) {
	r, err = s.cancelDeletion(ctx, a, &cancelled)
	return r, cancelled && err == nil, err
}

func (s *ClientRequests) cancelDeletion(ctx context.Context, a identity.Actor, cancelled *bool) (Request, error) {
	client, err := s.openClient(ctx, a)
	if err != nil {
		return Request{}, err
	}
	r, err := s.requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
	if errors.Is(err, identity.ErrNotFound) {
		return s.cancelled(ctx, a, &client)
	}
	if err != nil {
		return Request{}, fmt.Errorf("active request: %w", err)
	}
	if r.Status == StatusAccepting {
		if err := s.requests.DeleteAcceptingRequest(ctx, r); err != nil && !errors.Is(err, identity.ErrConditionFailed) {
			return Request{}, fmt.Errorf("roll back request: %w", err)
		}
		if err := s.scheduler.DeletePurgeSchedule(ctx, r.ScheduleName); err != nil {
			// It would find no request and do nothing.
			s.log().WarnContext(ctx, "delete the schedule of a rolled-back request", "deletionRequestId", r.ID, "err", err)
		}
		return Request{}, identity.Errorf(identity.ENotFound, "there is no pending deletion request to cancel")
	}
	now := s.now()
	if err := s.requests.CancelRequest(ctx, r, now); err != nil {
		if !errors.Is(err, identity.ErrConditionFailed) {
			return Request{}, fmt.Errorf("cancel request: %w", err)
		}
		cur, gerr := s.requests.GetRequest(ctx, r.ID)
		if gerr != nil {
			return Request{}, fmt.Errorf("get request: %w", gerr)
		}
		switch cur.Status {
		case StatusCompleted:
			return Request{}, identity.Errorf(identity.EAlreadyCompleted, "the deletion was completed; it cannot be cancelled")
		case StatusCancelled:
			// Cancelled by a concurrent call.
			return s.finishCancel(ctx, cur, &client), nil
		}
		return Request{}, identity.Errorf(identity.EAlreadyPurging, "the deletion has started; it can no longer be cancelled")
	}
	r.Status, r.CancelledAt = StatusCancelled, &now
	*cancelled = true
	// The schedule would find the request cancelled and do nothing; delete
	// it anyway, so nothing fires for a withdrawn request.
	if err := s.scheduler.DeletePurgeSchedule(ctx, r.ScheduleName); err != nil {
		s.log().WarnContext(ctx, "delete the schedule of a cancelled request", "deletionRequestId", r.ID, "err", err)
	}
	return s.finishCancel(ctx, r, &client), nil
}

// cancelled answers a cancel that finds no active request: with the
// client's last cancelled request, whose deliveries it makes if some are
// still owed, or ENotFound.
func (s *ClientRequests) cancelled(ctx context.Context, a identity.Actor, client *Client) (Request, error) {
	r, err := s.requests.LastCancelled(ctx, a.PracticeID, a.ClientID)
	if errors.Is(err, identity.ErrNotFound) {
		return Request{}, identity.Errorf(identity.ENotFound, "there is no pending deletion request to cancel")
	}
	if err != nil {
		return Request{}, fmt.Errorf("last cancelled request: %w", err)
	}
	return s.finishCancel(ctx, r, client), nil
}

// finishCancel makes what a cancelled request owes; a failure is logged,
// and the client's next DELETE, or the sweep, makes it.
func (s *ClientRequests) finishCancel(ctx context.Context, r Request, client *Client) Request {
	if err := s.deliver(ctx, r.ID, client); err != nil {
		s.log().WarnContext(ctx, "tell the practitioners and the client of a cancellation; the sweep will retry", "deletionRequestId", r.ID, "err", err)
	}
	return r
}
