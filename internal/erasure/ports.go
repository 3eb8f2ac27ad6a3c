package erasure

import (
	"context"
	"time"
)

// The ports below are what the use cases consume. Each is small so that a
// use case's constructor takes only what it uses and a fake can implement it honestly;
// internal/porttest holds the fakes and the contract suites that keep
// them in step with the real adapters.

// SettingStore keeps the practice setting.
type SettingStore interface {
	// GetSetting returns the practice's setting, or the zero Setting (off,
	// never updated) when the practice has none.
	GetSetting(ctx context.Context, practiceID string) (Setting, error)
	// GetSettingAs reads the setting and the caller's membership (as
	// Roster.Member does) in one read; ErrNotFound, and no setting, when
	// the practice has no practitioner item for sub.
	GetSettingAs(ctx context.Context, practiceID, sub string) (Setting, Member, error)
	PutSetting(ctx context.Context, s Setting) error
}

// Roster checks practitioner callers against the practice's own records.
type Roster interface {
	// Member returns the practitioner whose sub is sub in the practice,
	// and whether the practice's record names them its owner; ErrNotFound
	// when the practice has no practitioner item for sub.
	Member(ctx context.Context, practiceID, sub string) (Member, error)
}

// Directory reads records other services of the platform own.
type Directory interface {
	// GetPractice returns ErrNotFound when there is no such practice.
	GetPractice(ctx context.Context, practiceID string) (Practice, error)
	// GetPractitioners returns those of ids that exist, in any order.
	GetPractitioners(ctx context.Context, practiceID string, ids []string) ([]Practitioner, error)
	// GetClient returns ErrNotFound when there is no such client.
	GetClient(ctx context.Context, practiceID, clientID string) (Client, error)
}

// RequestStore keeps deletion requests and the client's portal access.
type RequestStore interface {
	// PortalClosed reports whether the client's portal access was closed by
	// a completed purge.
	PortalClosed(ctx context.Context, practiceID, clientID string) (bool, error)
	// ActiveRequest returns the client's pending request, or
	// ErrNotFound.
	ActiveRequest(ctx context.Context, practiceID, clientID string) (Request, error)
	// CreateRequest records r and makes it the client's active request in
	// one conditional write; ErrConditionFailed when the client already has
	// one or their portal is closed.
	CreateRequest(ctx context.Context, r Request) error
	// GetRequest returns ErrNotFound when there is no such request.
	GetRequest(ctx context.Context, id string) (Request, error)
	// DeleteAcceptingRequest removes a request still in StatusAccepting
	// (its schedule could not be made); ErrConditionFailed otherwise.
	DeleteAcceptingRequest(ctx context.Context, r Request) error
	// MarkScheduled moves an accepting request to StatusScheduled; it is a
	// no-op for a request already past that, and ErrNotFound for none.
	MarkScheduled(ctx context.Context, id string) error
	// ClaimEmail takes the right to send the request's email: it fails with
	// ErrConditionFailed when the email was sent, or another claim newer
	// than staleBefore holds it.
	// It returns the request as claimed.
	ClaimEmail(ctx context.Context, id string, now, staleBefore time.Time) (Request, error)
	// ReleaseEmailClaim gives the claim back after a failed send.
	ReleaseEmailClaim(ctx context.Context, id string) error
	// MarkEmailSent records that the email of the given kind (an Email*
	// constant) was sent about the request; ErrNotFound when there is no
	// such request.
	MarkEmailSent(ctx context.Context, id, kind string) error
	// MarkNotified records that the practitioners were told.
	MarkNotified(ctx context.Context, id string, at time.Time) error
	// CancelRequest marks a request that is accepting or scheduled, and
	// whose purge has not started, cancelled, and frees the client to ask
	// again; ErrConditionFailed when the purge has started or the request is
	// no longer pending.
	CancelRequest(ctx context.Context, r Request, at time.Time) error
	// StartPurge moves a pending request to StatusPurging, counts the
	// invocation and takes the purge lease until leaseUntil. It returns
	// ErrConditionFailed when the request is not pending or another
	// invocation holds an unexpired lease.
	StartPurge(ctx context.Context, id string, now, leaseUntil time.Time) (Request, error)
	// ReleasePurge gives back the lease taken until leaseUntil, if it is
	// still that lease, so a retry need not wait for it to expire.
	ReleasePurge(ctx context.Context, id string, leaseUntil time.Time) error
	// Checkpoint records where a purge continues from (its phase, and in
	// the chats phase the last chat link done) and adds to the request's
	// deleted counts, in one write.
	Checkpoint(ctx context.Context, id, phase, cursor string, add Counts) error
	// RecordSkippedObjects adds keys to the request's set of object keys
	// the purge left outside the client's folder (SkippedObjects). A key
	// already in the set, or given twice, is recorded once, so a retry
	// records nothing new; no keys is no write. ErrNotFound when there is
	// no such request.
	RecordSkippedObjects(ctx context.Context, id string, keys []string) error
	// ClosePortal closes the client's portal access for good.
	ClosePortal(ctx context.Context, practiceID, clientID, requestID string, at time.Time) error
	// CompletePurge marks the request completed and releases the lease.
	CompletePurge(ctx context.Context, id string, at time.Time) (Request, error)
	// ListRequests returns up to limit of the practice's requests, newest
	// first, only those in status when it is set, from the opaque page
	// token ("" first), and the next page's token ("" for none);
	// ErrBadToken for a token it did not give for this practice.
	ListRequests(ctx context.Context, practiceID string, status Status, limit int, token string) ([]Request, string, error)
	// PendingRequests calls fn with every request still pending, a page at
	// a time.
	PendingRequests(ctx context.Context, fn func([]Request) error) error
}

// NotificationStore keeps practitioners' in-portal notifications.
type NotificationStore interface {
	// PutNotification writes n once: writing the same notification again
	// (same practitioner and id) changes nothing.
	PutNotification(ctx context.Context, n Notification) error
}

// Inbox reads and marks a practitioner's notifications.
type Inbox interface {
	// ListNotifications returns up to limit of the practitioner's
	// notifications, newest first, starting at the opaque page token
	// ("" for the first page), and the token of the next page ("" for
	// none). A token that is not one it gave returns ErrBadToken.
	ListNotifications(ctx context.Context, practiceID, practitionerID string, limit int, token string) ([]Notification, string, error)
	// MarkRead marks one of the practitioner's notifications read;
	// ErrNotFound when the practitioner has no such notification.
	MarkRead(ctx context.Context, practiceID, practitionerID, id string) (Notification, error)
}

// ItemKey is the storage key of one item, opaque to the domain.
type ItemKey struct{ PK, SK string }

// Author is who created an item, as the platform records it.
type Author struct {
	Role string // client | practitioner
	ID   string // client id or practitioner id
}

// JournalEntry is one journal entry in a client's file.
type JournalEntry struct {
	Key    ItemKey
	Author Author
}

// Document is one document in a client's file: uploaded by the client or
// shared with them by a practitioner. ObjectKeys are every S3 object it
// points to (the file, previews, ...).
type Document struct {
	Key        ItemKey
	Author     Author
	ObjectKeys []string
}

// ChatRef links a client to a secure-messenger chat session.
type ChatRef struct {
	Key       ItemKey
	SessionID string
}

// ChatSession is a secure-messenger conversation.
type ChatSession struct {
	Key       ItemKey
	ID        string
	ClientIDs []string // the clients taking part
}

// ChatMessage is one message in a chat session.
type ChatMessage struct {
	Key    ItemKey
	Author Author
}

// Content reads a client's file and deletes items from it. Readers call fn
// a page at a time and stop at the first error fn returns. They may return
// more than the client created (filters are an optimisation); the purge
// decides what is in scope.
type Content interface {
	JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]JournalEntry) error) error
	Documents(ctx context.Context, practiceID, clientID string, fn func([]Document) error) error
	// ChatRefs reads the client's chat links in key order, those after the
	// link whose sort key is after ("" for all).
	ChatRefs(ctx context.Context, practiceID, clientID, after string, fn func([]ChatRef) error) error
	// ChatSessions reads the sessions of the ids, consistently, and returns
	// those that exist, by id (a missing one is no error).
	ChatSessions(ctx context.Context, practiceID string, sessionIDs []string) (map[string]ChatSession, error)
	ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]ChatMessage) error) error
	// DeleteItems deletes the items; deleting a missing item is no error.
	DeleteItems(ctx context.Context, keys []ItemKey) error
	// ExistingItems returns those of keys that exist, read consistently.
	// A purge uses it to learn what a failed delete did.
	ExistingItems(ctx context.Context, keys []ItemKey) ([]ItemKey, error)
}

// Objects deletes document objects.
type Objects interface {
	// DeleteObjects deletes the current version of each key and returns nil
	// only once the store confirms that none of them has a current version;
	// a missing key is no error.
	DeleteObjects(ctx context.Context, keys []string) error
}

// PurgeSchedule is the one-shot schedule that starts a request's purge.
type PurgeSchedule struct {
	Name      string
	At        time.Time // UTC
	RequestID string
}

// Scheduler creates purge schedules.
type Scheduler interface {
	// CreatePurgeSchedule returns ErrAlreadyExists when a schedule with
	// that name exists.
	CreatePurgeSchedule(ctx context.Context, s PurgeSchedule) error
	// DeletePurgeSchedule deletes the named schedule; a missing one is no
	// error.
	DeletePurgeSchedule(ctx context.Context, name string) error
}

// Email is a message with a text and an HTML part.
type Email struct {
	To      []string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}
