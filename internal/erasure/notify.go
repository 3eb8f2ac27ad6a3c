package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// emailClaimTTL is how long a claim to send a request's email holds before
// another invocation may take it over.
const emailClaimTTL = 5 * time.Minute

// confirmCancelled emails the client that their request was cancelled,
// reading their profile and the practice first. A failure is logged: the
// cancel stands, and the client's next DELETE tries the email again.
func (s *notifier) confirmCancelled(ctx context.Context, r Request) {
	if err := s.readAndEmailClient(ctx, r, EmailClientCancelled, ClientCancelledEmail); err != nil {
		s.log().WarnContext(ctx, "email the client a cancellation", "deletionRequestId", r.ID, "err", err)
	}
}

// readAndEmailClient is emailClient for a caller that has not read the
// client and the practice: it reads them only if the email is still to
// send.
func (s *notifier) readAndEmailClient(ctx context.Context, r Request, kind string, build func(Request, Client, Practice) Email) error {
	if slices.Contains(r.EmailsSent, kind) {
		return nil
	}
	c, err := s.client(ctx, r)
	if err != nil {
		return err
	}
	p, err := s.directory.GetPractice(ctx, r.PracticeID)
	if err != nil {
		return fmt.Errorf("get practice: %w", err)
	}
	return s.emailClient(ctx, r, kind, c, p, build)
}

// emailClient sends client c, at the email on their profile, the email of
// the given kind about r, unless r records it sent; then records it. A
// client without an email is told nothing.
func (s *notifier) emailClient(ctx context.Context, r Request, kind string, c Client, p Practice, build func(Request, Client, Practice) Email) error {
	if c.Email == "" {
		return nil
	}
	return s.sendOnce(ctx, r, kind, build(r, c, p))
}

// sendOnce sends e unless r records an email of its kind sent, then
// records it. A failure between the send and the record sends it again on
// the retry: at least once, and once whenever nothing fails.
func (s *notifier) sendOnce(ctx context.Context, r Request, kind string, e Email) error {
	if slices.Contains(r.EmailsSent, kind) || len(e.To) == 0 {
		return nil
	}
	if err := s.mailer.Send(ctx, e); err != nil {
		return fmt.Errorf("send %s email: %w", kind, err)
	}
	if err := s.requests.MarkEmailSent(ctx, r.ID, kind); err != nil {
		return fmt.Errorf("mark %s email sent: %w", kind, err)
	}
	return nil
}

// notifyCancelled tells the practitioners in the portal; it returns the
// client and the practice it read for that.
// known is the request's client when the caller has read it, else nil.
func (s *notifier) notifyCancelled(ctx context.Context, r Request, at time.Time, known *Client) (Client, Practice, error) {
	return s.notifyAll(ctx, r, known, func(c Client, p Practitioner) Notification {
		return Notification{
			PractitionerID: p.ID, PracticeID: r.PracticeID, ID: r.ID + "-cancelled",
			Kind: NoticeDeletionCancelled, RequestID: r.ID, ClientID: r.ClientID, ClientName: c.DisplayName(),
			CreatedAt: at, PurgeAt: r.PurgeAt,
			Message: fmt.Sprintf("%s cancelled their account deletion request. Nothing will be deleted.", c.DisplayName()),
		}
	})
}

// notifyAll writes, for each of the request's recipients, the notice
// notice builds; it returns the client and the practice it read for that.
// known is the request's client when the caller has read it (nil: read it).
func (s *notifier) notifyAll(ctx context.Context, r Request, known *Client, notice func(Client, Practitioner) Notification) (Client, Practice, error) {
	var c Client
	if known != nil {
		c = *known
	} else {
		var err error
		if c, err = s.client(ctx, r); err != nil {
			return Client{}, Practice{}, err
		}
	}
	ps, practice, err := s.recipients(ctx, r.PracticeID, c)
	if err != nil {
		return Client{}, Practice{}, err
	}
	for _, p := range ps {
		if err := s.notifications.PutNotification(ctx, notice(c, p)); err != nil {
			return Client{}, Practice{}, fmt.Errorf("put notification: %w", err)
		}
	}
	return c, practice, nil
}

// recipients are the practice owner and the client's assigned
// practitioners, each once.
func (s *notifier) recipients(ctx context.Context, practiceID string, c Client) ([]Practitioner, Practice, error) {
	p, err := s.directory.GetPractice(ctx, practiceID)
	if err != nil {
		return nil, Practice{}, fmt.Errorf("get practice: %w", err)
	}
	ids := append([]string{p.OwnerID}, c.PractitionerIDs...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ps, err := s.directory.GetPractitioners(ctx, practiceID, ids)
	if err != nil {
		return nil, Practice{}, fmt.Errorf("get practitioners: %w", err)
	}
	slices.SortFunc(ps, func(a, b Practitioner) int {
		switch {
		case a.ID == p.OwnerID:
			return -1
		case b.ID == p.OwnerID:
			return 1
		}
		return cmpString(a.ID, b.ID)
	})
	return ps, p, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// notifyRequested writes each practitioner's in-portal notification, sends
// them one email and confirms the request to the client by email, once per
// request.
// client is the request's client when the caller has read it, else nil.
func (s *notifier) notifyRequested(ctx context.Context, r Request, client *Client) error {
	var c Client
	if client != nil {
		c = *client
	} else {
		var err error
		if c, err = s.client(ctx, r); err != nil {
			return err
		}
	}
	ps, practice, err := s.recipients(ctx, r.PracticeID, c)
	if err != nil {
		return err
	}
	for _, p := range ps {
		n := requestedNotification(r, c, p)
		if err := s.notifications.PutNotification(ctx, n); err != nil {
			return fmt.Errorf("put notification: %w", err)
		}
	}

	now := s.now()
	// The claim answers with the request as claimed: which emails an
	// earlier, failed attempt sent.
	cur, err := s.requests.ClaimEmail(ctx, r.ID, now, now.Add(-emailClaimTTL))
	if errors.Is(err, identity.ErrConditionFailed) {
		return nil // sent already, or being sent by another call
	}
	if err != nil {
		return fmt.Errorf("claim email: %w", err)
	}
	var to []string
	for _, p := range ps {
		if p.Email != "" {
			to = append(to, p.Email)
		}
	}
	err = s.sendOnce(ctx, cur, EmailPractitionersRequested, RequestedEmail(cur, c, practice, to))
	if err == nil && c.Email != "" {
		err = s.sendOnce(ctx, cur, EmailClientRequested, ClientRequestedEmail(cur, c, practice))
	}
	if err != nil {
		if rerr := s.requests.ReleaseEmailClaim(ctx, r.ID); rerr != nil {
			s.log().ErrorContext(ctx, "release email claim", "deletionRequestId", r.ID, "err", rerr)
		}
		return err
	}
	if err := s.requests.MarkNotified(ctx, r.ID, s.now()); err != nil {
		return fmt.Errorf("mark notified: %w", err)
	}
	return nil
}

// client is the request's client for notices. A profile removed since the
// request must not stop the purge or its notices: the client is then named
// by id.
func (s *notifier) client(ctx context.Context, r Request) (Client, error) {
	c, err := s.directory.GetClient(ctx, r.PracticeID, r.ClientID)
	if errors.Is(err, identity.ErrNotFound) {
		return Client{PracticeID: r.PracticeID, ID: r.ClientID}, nil
	}
	if err != nil {
		return Client{}, fmt.Errorf("get client: %w", err)
	}
	return c, nil
}

func requestedNotification(r Request, c Client, p Practitioner) Notification {
	return Notification{
		PractitionerID: p.ID,
		PracticeID:     r.PracticeID,
		ID:             r.ID + "-requested",
		Kind:           NoticeDeletionRequested,
		RequestID:      r.ID,
		ClientID:       r.ClientID,
		ClientName:     c.DisplayName(),
		CreatedAt:      r.RequestedAt,
		PurgeAt:        r.PurgeAt,
		Counts:         r.WillDelete,
		Message: fmt.Sprintf("%s asked to delete their account. On %s we will delete %s. Export the client's file first if you need a copy.",
			c.DisplayName(), r.PurgeAt.Format("2 January 2006"), CountsInWords(r.WillDelete)),
	}
}
