package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// deliveryClaimTTL is how long a claim to make a request's deliveries holds
// before another invocation may take it over.
const deliveryClaimTTL = 5 * time.Minute

// deliver makes the deliveries the request owes, in deliveryOrder, under
// the request's delivery claim, and gives the claim back. Each made one is
// recorded at once, so a retry makes only what is left: at least once, and
// once whenever nothing fails between a send and its record. It stops at
// the first failure; what is left stays owed, for the next call or the
// sweep. A request owing nothing, or whose deliveries another invocation
// is making, is no error. known is the request's client when the caller
// has read it (nil: read it). A notifier without a ledger (the client's
// requests) stops at an erasure record owed, leaving it and what follows
// it for the purge or the sweep.
func (s *notifier) deliver(ctx context.Context, id string, known *Client) error {
	now := s.now()
	r, err := s.requests.ClaimDeliveries(ctx, id, now, now.Add(-deliveryClaimTTL))
	if errors.Is(err, identity.ErrConditionFailed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim deliveries: %w", err)
	}
	defer func() {
		// With a context of its own: the caller's may be why it failed.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.requests.ReleaseDeliveries(rctx, id); err != nil {
			s.log().ErrorContext(ctx, "release the delivery claim", "deletionRequestId", id, "err", err)
		}
	}()
	var c Client
	if known != nil {
		c = *known
	} else if c, err = s.client(ctx, r); err != nil {
		return err
	}
	practice, err := s.directory.GetPractice(ctx, r.PracticeID)
	if err != nil {
		return fmt.Errorf("get practice: %w", err)
	}
	var ps []Practitioner // read once, by the first delivery to practitioners
	for _, kind := range deliveryOrder {
		if !r.Owes(kind) {
			continue
		}
		if _, record := evidenceOf[kind]; record && s.ledger == nil {
			// Nobody is told before the record is kept: what follows
			// waits for the purge or the sweep, which have the ledger.
			break
		}
		if ps == nil && strings.HasPrefix(kind, "practitioners-") {
			if ps, err = s.recipients(ctx, practice, c); err != nil {
				return err
			}
		}
		if err := s.make(ctx, r, kind, c, practice, ps); err != nil {
			return fmt.Errorf("deliver %s: %w", kind, err)
		}
		if err := s.requests.MarkDelivered(ctx, r.ID, kind, s.now()); err != nil {
			return fmt.Errorf("mark %s delivered: %w", kind, err)
		}
	}
	return nil
}

// make makes one delivery of r. A client without an email address is sent
// nothing, and that delivery is made.
func (s *notifier) make(ctx context.Context, r Request, kind string, c Client, p Practice, ps []Practitioner) error {
	switch kind {
	case DeliveryPractitionersRequested:
		if err := s.notify(ctx, ps, func(pr Practitioner) Notification { return requestedNotification(r, c, pr) }); err != nil {
			return err
		}
		var to []string
		for _, pr := range ps {
			if pr.Email != "" {
				to = append(to, pr.Email)
			}
		}
		return s.send(ctx, RequestedEmail(r, c, p, to))
	case DeliveryPractitionersCancelled:
		return s.notify(ctx, ps, func(pr Practitioner) Notification { return cancelledNotification(r, c, pr) })
	case DeliveryPractitionersNeedsAttention:
		return s.notify(ctx, ps, func(pr Practitioner) Notification { return needsAttentionNotification(r, c, pr) })
	case DeliveryPractitionersCompleted:
		return s.notify(ctx, ps, func(pr Practitioner) Notification { return completedNotification(r, c, pr) })
	case DeliveryClientRequested:
		return s.emailClient(ctx, c, func() Email { return ClientRequestedEmail(r, c, p) })
	case DeliveryClientCancelled:
		return s.emailClient(ctx, c, func() Email { return ClientCancelledEmail(r, c, p) })
	case DeliveryClientCompleted:
		return s.emailClient(ctx, c, func() Email { return ClientCompletedEmail(r, c, p) })
	case DeliveryEvidenceNeedsAttention, DeliveryEvidenceCompleted:
		if err := s.ledger.Record(ctx, ErasureRecord(r, evidenceOf[kind])); err != nil {
			return fmt.Errorf("evidence ledger: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown delivery %q", kind)
}

// notify writes each practitioner's notice; a notice written before is
// left as it is.
func (s *notifier) notify(ctx context.Context, ps []Practitioner, notice func(Practitioner) Notification) error {
	for _, p := range ps {
		if err := s.notifications.PutNotification(ctx, notice(p)); err != nil {
			return fmt.Errorf("put notification: %w", err)
		}
	}
	return nil
}

func (s *notifier) emailClient(ctx context.Context, c Client, build func() Email) error {
	if c.Email == "" {
		return nil
	}
	return s.send(ctx, build())
}

func (s *notifier) send(ctx context.Context, e Email) error {
	if len(e.To) == 0 {
		return nil
	}
	if err := s.mailer.Send(ctx, e); err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	return nil
}

// recipients are the practice owner and the client's assigned
// practitioners, each once, the owner first.
func (s *notifier) recipients(ctx context.Context, p Practice, c Client) ([]Practitioner, error) {
	ids := append([]string{p.OwnerID}, c.PractitionerIDs...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ps, err := s.directory.GetPractitioners(ctx, p.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("get practitioners: %w", err)
	}
	slices.SortFunc(ps, func(a, b Practitioner) int {
		switch {
		case a.ID == p.OwnerID:
			return -1
		case b.ID == p.OwnerID:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if ps == nil {
		ps = []Practitioner{} // read, and none: not read again
	}
	return ps, nil
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

// notice is the part every notice about r shares.
func notice(r Request, c Client, p Practitioner, suffix, kind string, at time.Time, counts Counts, message string) Notification {
	return Notification{
		PractitionerID: p.ID, PracticeID: r.PracticeID, ID: r.ID + suffix, Kind: kind,
		RequestID: r.ID, ClientID: r.ClientID, ClientName: c.DisplayName(),
		CreatedAt: at, PurgeAt: r.PurgeAt, Counts: counts, Message: message,
	}
}

func requestedNotification(r Request, c Client, p Practitioner) Notification {
	return notice(r, c, p, "-requested", NoticeDeletionRequested, r.RequestedAt, r.WillDelete,
		fmt.Sprintf("%s asked to delete their account. On %s we will delete %s. Export the client's file first if you need a copy.",
			c.DisplayName(), r.PurgeAt.Format("2 January 2006"), CountsInWords(r.WillDelete)))
}

func cancelledNotification(r Request, c Client, p Practitioner) Notification {
	return notice(r, c, p, "-cancelled", NoticeDeletionCancelled, timeOr(r.CancelledAt, r.RequestedAt), Counts{},
		fmt.Sprintf("%s cancelled their account deletion request. Nothing will be deleted.", c.DisplayName()))
}

func needsAttentionNotification(r Request, c Client, p Practitioner) Notification {
	n := len(r.UnresolvedObjects)
	return notice(r, c, p, "-needs-attention", NoticeNeedsAttention, timeOr(r.SetAsideAt, r.RequestedAt), r.Deleted,
		fmt.Sprintf("The content %s created was deleted (%s), except for %s that could not be deleted; support has been alerted and will finish the deletion.",
			c.DisplayName(), CountsInWords(r.Deleted), plural(n, "file", "files")))
}

func completedNotification(r Request, c Client, p Practitioner) Notification {
	at := timeOr(r.CompletedAt, r.RequestedAt)
	return notice(r, c, p, "-completed", NoticeDeletionCompleted, at, r.Deleted,
		fmt.Sprintf("The content %s created was deleted: %s. Backups no longer hold it after %s.",
			c.DisplayName(), CountsInWords(r.Deleted), at.Add(BackupRetention).Format("2 January 2006")))
}

func timeOr(t *time.Time, or time.Time) time.Time {
	if t != nil {
		return *t
	}
	return or
}
