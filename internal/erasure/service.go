package erasure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Service runs the deletion lifecycle. A function sets the ports it uses
// and leaves the others nil.
type Service struct {
	Settings      SettingStore
	Roster        Roster
	Directory     Directory
	Requests      RequestStore
	Notifications NotificationStore
	Content       Content
	Objects       Objects
	Scheduler     Scheduler
	Mailer        Mailer
	Inbox         Inbox

	// PurgeDelay is how long after the request the purge runs.
	PurgeDelay time.Duration
	// PurgeConcurrency bounds the delete batches in flight (default 8).
	PurgeConcurrency int
	// PurgeBudget, when set, caps one invocation's purge work; the
	// invocation's deadline (less PurgeMargin, default a minute) caps it
	// anyway.
	PurgeBudget time.Duration
	PurgeMargin time.Duration

	// SweepGrace is how far past its purge time a pending request must be
	// before the sweep purges it itself (the schedule gets the first go).
	SweepGrace time.Duration

	Now   func() time.Time
	NewID func() string
	Log   *slog.Logger
}

// DefaultPurgeDelay is the 30 days the product promises.
const DefaultPurgeDelay = 30 * 24 * time.Hour

// emailClaimTTL is how long a claim to send a request's email holds before
// another invocation may take it over.
const emailClaimTTL = 5 * time.Minute

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// NewRequestID returns a random, URL-safe request id.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ScheduleName is the deterministic name of a request's purge schedule, so
// that creating it twice cannot make two.
func ScheduleName(requestID string) string { return "rtbf-purge-" + requestID }

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
func (s *Service) member(ctx context.Context, a Actor) (Member, error) {
	if err := RequirePractitioner(a); err != nil {
		return Member{}, err
	}
	m, err := s.Roster.Member(ctx, a.PracticeID, a.Subject)
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

// GetSetting returns the practice's Right To Be Forgotten setting to a
// practitioner of the practice; the setting and the caller's membership
// are read together.
func (s *Service) GetSetting(ctx context.Context, a Actor) (Setting, error) {
	if err := RequirePractitioner(a); err != nil {
		return Setting{}, err
	}
	st, _, err := s.Settings.GetSettingAs(ctx, a.PracticeID, a.Subject)
	if err := MemberError(err); err != nil {
		return Setting{}, err
	}
	return st, nil
}

// PutSetting turns client-initiated deletion on or off. Only the team owner
// may: the practitioner whose sub the practice's record names its owner.
// Turning it off does not cancel requests already accepted.
func (s *Service) PutSetting(ctx context.Context, a Actor, enabled bool) (Setting, error) {
	if err := RequireOwner(a); err != nil {
		return Setting{}, err
	}
	m, err := s.member(ctx, a)
	if err != nil {
		return Setting{}, err
	}
	if !m.Owner {
		return Setting{}, Errorf(EForbidden, "only the team owner may change this setting")
	}
	now := s.now()
	st := Setting{PracticeID: a.PracticeID, Enabled: enabled, UpdatedAt: &now, UpdatedBy: a.Subject}
	if err := s.Settings.PutSetting(ctx, st); err != nil {
		return Setting{}, fmt.Errorf("put setting: %w", err)
	}
	return st, nil
}

// PortalView is what the client portal needs to show My Profile.
type PortalView struct {
	Available bool
	Request   *Request
}

// Portal tells a client whether they may delete their account and what
// became of a request they made.
func (s *Service) Portal(ctx context.Context, a Actor) (PortalView, error) {
	if _, err := s.openClient(ctx, a); err != nil {
		return PortalView{}, err
	}
	st, err := s.Settings.GetSetting(ctx, a.PracticeID)
	if err != nil {
		return PortalView{}, fmt.Errorf("get setting: %w", err)
	}
	v := PortalView{Available: st.Enabled}
	r, err := s.Requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return PortalView{}, fmt.Errorf("active request: %w", err)
	default:
		v.Request = &r
	}
	return v, nil
}

// openClient is the caller's client profile, once it names the caller and
// their portal is open. A token is a client's only when its sub is the
// profile's portalUserId: a token naming another client, or a client with
// no profile, is refused before anything else of that client is read.
func (s *Service) openClient(ctx context.Context, a Actor) (Client, error) {
	if err := RequireClient(a); err != nil {
		return Client{}, err
	}
	c, err := s.Directory.GetClient(ctx, a.PracticeID, a.ClientID)
	if errors.Is(err, ErrNotFound) || (err == nil && (c.PortalUserID == "" || c.PortalUserID != a.Subject)) {
		return Client{}, Errorf(EForbidden, "no client profile matches this token")
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
func (s *Service) portalOpen(ctx context.Context, a Actor) error {
	closed, err := s.Requests.PortalClosed(ctx, a.PracticeID, a.ClientID)
	if err != nil {
		return fmt.Errorf("portal access: %w", err)
	}
	if closed {
		return Errorf(EAccountClosed, "this account was deleted at the client's request")
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
func (s *Service) RequestDeletion(ctx context.Context, a Actor) (Request, bool, error) {
	client, err := s.openClient(ctx, a)
	if err != nil {
		return Request{}, false, err
	}
	existing, err := s.Requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
	if err == nil {
		r, err := s.accept(ctx, existing, false, nil)
		return r, false, err
	}
	if !errors.Is(err, ErrNotFound) {
		return Request{}, false, fmt.Errorf("active request: %w", err)
	}

	st, err := s.Settings.GetSetting(ctx, a.PracticeID)
	if err != nil {
		return Request{}, false, fmt.Errorf("get setting: %w", err)
	}
	if !st.Enabled {
		return Request{}, false, Errorf(EDeletionDisabled, "your practitioner has not enabled account deletion from the client portal; please contact them")
	}
	counts, err := s.Scope(ctx, a.PracticeID, a.ClientID)
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
		PurgeAt:      now.Add(s.purgeDelay()).Truncate(time.Second),
		WillDelete:   counts,
		ScheduleName: ScheduleName(id),
	}
	err = s.Requests.CreateRequest(ctx, r)
	if errors.Is(err, ErrConditionFailed) {
		// Another call won the race (or the portal closed meanwhile):
		// answer with what it made.
		if err := s.portalOpen(ctx, a); err != nil {
			return Request{}, false, err
		}
		existing, err := s.Requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
		if err != nil {
			return Request{}, false, Errorf(EConflict, "another request for this account is being made; try again")
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

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return NewRequestID()
}

func (s *Service) purgeDelay() time.Duration {
	if s.PurgeDelay > 0 {
		return s.PurgeDelay
	}
	return DefaultPurgeDelay
}

// accept brings a recorded request to the point where the purge is
// committed (its schedule exists) and tries to tell the practitioners.
// Every step is idempotent, so concurrent and repeated calls converge.
// client is the request's client when the caller has read it, else nil.
func (s *Service) accept(ctx context.Context, r Request, created bool, client *Client) (Request, error) {
	if r.Status == StatusAccepting {
		err := s.Scheduler.CreatePurgeSchedule(ctx, PurgeSchedule{Name: r.ScheduleName, At: r.PurgeAt, RequestID: r.ID})
		if err != nil && !errors.Is(err, ErrAlreadyExists) {
			s.log().ErrorContext(ctx, "create purge schedule", "requestId", r.ID, "err", err)
			if created {
				if err := s.Requests.DeleteAcceptingRequest(ctx, r); err != nil {
					s.log().ErrorContext(ctx, "roll back request", "requestId", r.ID, "err", err)
				}
			}
			return Request{}, Errorf(EUnavailable, "your request could not be scheduled just now; nothing was changed, please try again")
		}
		if err := s.Requests.MarkScheduled(ctx, r.ID); err != nil {
			s.log().ErrorContext(ctx, "mark scheduled", "requestId", r.ID, "err", err)
			return Request{}, Errorf(EUnavailable, "your request could not be confirmed just now; please try again")
		}
		r.Status = StatusScheduled
	}
	if r.NotifiedAt == nil && r.Status == StatusScheduled {
		// The purge is committed whatever happens here. What fails is
		// retried by the client's next call or by the sweep.
		if err := s.notifyRequested(ctx, r, client); err != nil {
			s.log().WarnContext(ctx, "notify practitioners; the sweep will retry", "requestId", r.ID, "err", err)
		}
	}
	return r, nil
}

// CancelDeletion withdraws the client's pending request before its purge
// starts: the request becomes cancelled, its schedule is deleted and the
// practitioners are told. Once the purge has started it is too late.
func (s *Service) CancelDeletion(ctx context.Context, a Actor) (Request, error) {
	if _, err := s.openClient(ctx, a); err != nil {
		return Request{}, err
	}
	r, err := s.Requests.ActiveRequest(ctx, a.PracticeID, a.ClientID)
	if errors.Is(err, ErrNotFound) {
		return Request{}, Errorf(ENotFound, "there is no pending deletion request to cancel")
	}
	if err != nil {
		return Request{}, fmt.Errorf("active request: %w", err)
	}
	now := s.now()
	if err := s.Requests.CancelRequest(ctx, r, now); err != nil {
		if !errors.Is(err, ErrConditionFailed) {
			return Request{}, fmt.Errorf("cancel request: %w", err)
		}
		cur, gerr := s.Requests.GetRequest(ctx, r.ID)
		if gerr != nil {
			return Request{}, fmt.Errorf("get request: %w", gerr)
		}
		switch cur.Status {
		case StatusCompleted:
			return Request{}, Errorf(EAlreadyCompleted, "the deletion was completed; it cannot be cancelled")
		case StatusCancelled:
			// Cancelled by a concurrent or earlier call: confirm to the
			// client if that call could not.
			s.confirmCancelled(ctx, cur)
			return cur, nil
		}
		return Request{}, Errorf(EAlreadyPurging, "the deletion has started; it can no longer be cancelled")
	}
	r.Status, r.CancelledAt = StatusCancelled, &now
	// The schedule would find the request cancelled and do nothing; delete
	// it anyway, so nothing fires for a withdrawn request.
	if err := s.Scheduler.DeletePurgeSchedule(ctx, r.ScheduleName); err != nil {
		s.log().WarnContext(ctx, "delete the schedule of a cancelled request", "requestId", r.ID, "err", err)
	}
	c, p, err := s.notifyCancelled(ctx, r, now)
	if err != nil {
		s.log().WarnContext(ctx, "notify practitioners of a cancellation", "requestId", r.ID, "err", err)
		s.confirmCancelled(ctx, r)
		return r, nil
	}
	if err := s.emailClient(ctx, r, EmailClientCancelled, c, p, ClientCancelledEmail); err != nil {
		s.log().WarnContext(ctx, "email the client a cancellation", "requestId", r.ID, "err", err)
	}
	return r, nil
}

// confirmCancelled emails the client that their request was cancelled,
// reading their profile and the practice first. A failure is logged: the
// cancel stands, and the client's next DELETE tries the email again.
func (s *Service) confirmCancelled(ctx context.Context, r Request) {
	if err := s.readAndEmailClient(ctx, r, EmailClientCancelled, ClientCancelledEmail); err != nil {
		s.log().WarnContext(ctx, "email the client a cancellation", "requestId", r.ID, "err", err)
	}
}

// readAndEmailClient is emailClient for a caller that has not read the
// client and the practice: it reads them only if the email is still to
// send.
func (s *Service) readAndEmailClient(ctx context.Context, r Request, kind string, build func(Request, Client, Practice) Email) error {
	if slices.Contains(r.EmailsSent, kind) {
		return nil
	}
	c, err := s.client(ctx, r)
	if err != nil {
		return err
	}
	p, err := s.Directory.GetPractice(ctx, r.PracticeID)
	if err != nil {
		return fmt.Errorf("get practice: %w", err)
	}
	return s.emailClient(ctx, r, kind, c, p, build)
}

// emailClient sends client c, at the email on their profile, the email of
// the given kind about r, unless r records it sent; then records it. A
// client without an email is told nothing.
func (s *Service) emailClient(ctx context.Context, r Request, kind string, c Client, p Practice, build func(Request, Client, Practice) Email) error {
	if c.Email == "" {
		return nil
	}
	return s.sendOnce(ctx, r, kind, build(r, c, p))
}

// sendOnce sends e unless r records an email of its kind sent, then
// records it. A failure between the send and the record sends it again on
// the retry: at least once, and once whenever nothing fails.
func (s *Service) sendOnce(ctx context.Context, r Request, kind string, e Email) error {
	if slices.Contains(r.EmailsSent, kind) || len(e.To) == 0 {
		return nil
	}
	if err := s.Mailer.Send(ctx, e); err != nil {
		return fmt.Errorf("send %s email: %w", kind, err)
	}
	if err := s.Requests.MarkEmailSent(ctx, r.ID, kind); err != nil {
		return fmt.Errorf("mark %s email sent: %w", kind, err)
	}
	return nil
}

// notifyCancelled tells the practitioners in the portal; it returns the
// client and the practice it read for that.
func (s *Service) notifyCancelled(ctx context.Context, r Request, at time.Time) (Client, Practice, error) {
	c, err := s.client(ctx, r)
	if err != nil {
		return Client{}, Practice{}, err
	}
	ps, practice, err := s.recipients(ctx, r.PracticeID, c)
	if err != nil {
		return Client{}, Practice{}, err
	}
	for _, p := range ps {
		n := Notification{
			PractitionerID: p.ID, PracticeID: r.PracticeID, ID: r.ID + "-cancelled",
			Kind: NoticeDeletionCancelled, RequestID: r.ID, ClientID: r.ClientID, ClientName: c.DisplayName(),
			CreatedAt: at, PurgeAt: r.PurgeAt,
			Message: fmt.Sprintf("%s cancelled their account deletion request. Nothing will be deleted.", c.DisplayName()),
		}
		if err := s.Notifications.PutNotification(ctx, n); err != nil {
			return Client{}, Practice{}, fmt.Errorf("put notification: %w", err)
		}
	}
	return c, practice, nil
}

// recipients are the practice owner and the client's assigned
// practitioners, each once.
func (s *Service) recipients(ctx context.Context, practiceID string, c Client) ([]Practitioner, Practice, error) {
	p, err := s.Directory.GetPractice(ctx, practiceID)
	if err != nil {
		return nil, Practice{}, fmt.Errorf("get practice: %w", err)
	}
	ids := append([]string{p.OwnerID}, c.PractitionerIDs...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ps, err := s.Directory.GetPractitioners(ctx, practiceID, ids)
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
func (s *Service) notifyRequested(ctx context.Context, r Request, client *Client) error {
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
		if err := s.Notifications.PutNotification(ctx, n); err != nil {
			return fmt.Errorf("put notification: %w", err)
		}
	}

	now := s.now()
	// The claim answers with the request as claimed: which emails an
	// earlier, failed attempt sent.
	cur, err := s.Requests.ClaimEmail(ctx, r.ID, now, now.Add(-emailClaimTTL))
	if errors.Is(err, ErrConditionFailed) {
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
		if rerr := s.Requests.ReleaseEmailClaim(ctx, r.ID); rerr != nil {
			s.log().ErrorContext(ctx, "release email claim", "requestId", r.ID, "err", rerr)
		}
		return err
	}
	if err := s.Requests.MarkNotified(ctx, r.ID, s.now()); err != nil {
		return fmt.Errorf("mark notified: %w", err)
	}
	return nil
}

// client is the request's client for notices. A profile removed since the
// request must not stop the purge or its notices: the client is then named
// by id.
func (s *Service) client(ctx context.Context, r Request) (Client, error) {
	c, err := s.Directory.GetClient(ctx, r.PracticeID, r.ClientID)
	if errors.Is(err, ErrNotFound) {
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

// Page sizes of the notifications list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListNotifications lists the calling practitioner's own notifications, newest
// first, a page at a time.
func (s *Service) ListNotifications(ctx context.Context, a Actor, limit int, token string) ([]Notification, string, error) {
	if err := RequirePractitioner(a); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", Errorf(EInvalid, "limit must be from 1 to %d", MaxPageSize)
	}
	if _, err := s.member(ctx, a); err != nil {
		return nil, "", err
	}
	ns, next, err := s.Inbox.ListNotifications(ctx, a.PracticeID, a.Subject, limit, token)
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
func (s *Service) MarkNotificationRead(ctx context.Context, a Actor, id string) (Notification, error) {
	if err := RequirePractitioner(a); err != nil {
		return Notification{}, err
	}
	if !ValidID(id) {
		return Notification{}, Errorf(ENotFound, "no such notification")
	}
	if _, err := s.member(ctx, a); err != nil {
		return Notification{}, err
	}
	n, err := s.Inbox.MarkRead(ctx, a.PracticeID, a.Subject, id)
	if errors.Is(err, ErrNotFound) {
		return Notification{}, Errorf(ENotFound, "no such notification")
	}
	if err != nil {
		return Notification{}, fmt.Errorf("mark read: %w", err)
	}
	return n, nil
}

// Statuses a practitioner may filter the practice's requests by.
var listableStatuses = map[Status]bool{
	StatusScheduled: true, StatusPurging: true, StatusCompleted: true, StatusCancelled: true,
}

// ListDeletionRequests lists the calling practitioner's practice's
// deletion requests, newest first, a page at a time.
func (s *Service) ListDeletionRequests(ctx context.Context, a Actor, status Status, limit int, token string) ([]Request, string, error) {
	if err := RequirePractitioner(a); err != nil {
		return nil, "", err
	}
	if status != "" && !listableStatuses[status] {
		return nil, "", Errorf(EInvalid, "status must be one of scheduled, purging, completed, cancelled")
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", Errorf(EInvalid, "limit must be from 1 to %d", MaxPageSize)
	}
	if _, err := s.member(ctx, a); err != nil {
		return nil, "", err
	}
	rs, next, err := s.Requests.ListRequests(ctx, a.PracticeID, status, limit, token)
	if errors.Is(err, ErrBadToken) {
		return nil, "", Errorf(EInvalid, "nextToken is not a token this API gave")
	}
	if err != nil {
		return nil, "", fmt.Errorf("list requests: %w", err)
	}
	return rs, next, nil
}

// GetDeletionRequest returns one of the practice's requests; another
// practice's is not found.
func (s *Service) GetDeletionRequest(ctx context.Context, a Actor, id string) (Request, error) {
	if err := RequirePractitioner(a); err != nil {
		return Request{}, err
	}
	if !ValidID(id) {
		return Request{}, Errorf(ENotFound, "no such deletion request")
	}
	if _, err := s.member(ctx, a); err != nil {
		return Request{}, err
	}
	r, err := s.Requests.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && r.PracticeID != a.PracticeID) {
		return Request{}, Errorf(ENotFound, "no such deletion request")
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	return r, nil
}
