package erasure

import (
	"context"
	"fmt"
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
// Every change of a request's status is one row of Lifecycle, made in one
// conditional write that also records what the row makes the request owe.
type RequestStore interface {
	// PortalClosed reports whether the client's portal access was closed by
	// a purge.
	PortalClosed(ctx context.Context, practiceID, clientID string) (bool, error)
	// ActiveRequest returns the client's request not yet finished (any
	// status but completed and cancelled), or ErrNotFound.
	ActiveRequest(ctx context.Context, practiceID, clientID string) (Request, error)
	// LastCancelled returns the client's most recently cancelled request,
	// or ErrNotFound.
	LastCancelled(ctx context.Context, practiceID, clientID string) (Request, error)
	// CreateRequest records r, in StatusAccepting, and makes it the
	// client's active request in one conditional write; ErrConditionFailed
	// when the client already has one or their portal is closed. A request
	// accepting is in no practice's list.
	CreateRequest(ctx context.Context, r Request) error
	// GetRequest returns ErrNotFound when there is no such request.
	GetRequest(ctx context.Context, id string) (Request, error)
	// DeleteAcceptingRequest removes a request still in StatusAccepting
	// (EventRollBack); ErrConditionFailed otherwise.
	DeleteAcceptingRequest(ctx context.Context, r Request) error
	// MarkScheduled makes EventScheduled happen to an accepting request: it
	// joins the practice's list and owes the acceptance's deliveries. It is
	// a no-op for a request already past that, and ErrNotFound for none.
	MarkScheduled(ctx context.Context, r Request) error
	// CancelRequest makes EventCancel happen and frees the client to ask
	// again (the request becomes their LastCancelled);
	// ErrConditionFailed when the lifecycle refuses it at that time.
	CancelRequest(ctx context.Context, r Request, at time.Time) error
	// StartPurge makes EventStartPurge happen (or EventRetry, when retry
	// is set: the purge then starts again from its documents phase, with
	// no unresolved objects), counts the invocation and takes the purge
	// lease until leaseUntil. ErrConditionFailed when the lifecycle
	// refuses it at now.
	StartPurge(ctx context.Context, id string, now, leaseUntil time.Time, retry bool) (Request, error)
	// ReleasePurge gives back the lease taken until leaseUntil, if it is
	// still that lease, so a retry need not wait for it to expire.
	ReleasePurge(ctx context.Context, id string, leaseUntil time.Time) error
	// Checkpoint records where a purge continues from (its phase, and in
	// the chats phase the last chat link done) and adds to the request's
	// deleted counts and deleted objects, in one write.
	Checkpoint(ctx context.Context, id, phase, cursor string, add Counts, objects int) error
	// RecordSkippedObjects adds keys to the request's set of object keys
	// the purge left outside the client's folder (SkippedObjects). A key
	// already in the set, or given twice, is recorded once, so a retry
	// records nothing new; no keys is no write. ErrNotFound when there is
	// no such request.
	RecordSkippedObjects(ctx context.Context, id string, keys []string) error
	// RecordUnresolvedObjects adds keys to the request's set of
	// UnresolvedObjects, as RecordSkippedObjects does to its set.
	RecordUnresolvedObjects(ctx context.Context, id string, keys []string) error
	// ClosePortal closes the client's portal access for good.
	ClosePortal(ctx context.Context, practiceID, clientID, requestID string, at time.Time) error
	// CompletePurge makes EventComplete happen, releases the lease and
	// frees the client's active request.
	CompletePurge(ctx context.Context, id string, at time.Time) (Request, error)
	// SetAside makes EventSetAside happen at at and releases the lease.
	SetAside(ctx context.Context, id string, at time.Time) (Request, error)
	// ClaimDeliveries takes the right to make the request's owed
	// deliveries: ErrConditionFailed when it owes none, or another claim
	// newer than staleBefore holds it. It returns the request as claimed.
	ClaimDeliveries(ctx context.Context, id string, now, staleBefore time.Time) (Request, error)
	// MarkDelivered records the delivery kind made at at: it leaves Owed
	// for Delivered. ErrNotFound when there is no such request.
	MarkDelivered(ctx context.Context, id, kind string, at time.Time) error
	// ReleaseDeliveries gives the claim back; a finished request that owes
	// nothing more then leaves the sweep's index.
	ReleaseDeliveries(ctx context.Context, id string) error
	// ListRequests returns up to limit of the practice's requests past
	// accepting, newest first, only those in status when it is set, from
	// the opaque page token ("" first), and the next page's token ("" for
	// none); ErrBadToken for a token it did not give for this practice.
	ListRequests(ctx context.Context, practiceID string, status Status, limit int, token string) ([]Request, string, error)
	// OutstandingRequests calls fn, a page at a time, with every request
	// that has something left to do: a purge not finished (including those
	// set aside), or a delivery owed. It reads an index of those alone,
	// never the whole table. An index is read a moment behind the table:
	// a request is as it was then, may have just left, or not yet come;
	// callers read it again (GetRequest) before they act on it.
	OutstandingRequests(ctx context.Context, fn func([]Request) error) error
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
	// A store that takes writes to one partition (ItemKey.PK) only so
	// fast may delete some and return a *Throttled naming the others:
	// the caller sends those again, and slows down.
	DeleteItems(ctx context.Context, keys []ItemKey) error
	// ExistingItems returns those of keys that exist, read consistently.
	// A purge uses it to learn what a failed delete did.
	ExistingItems(ctx context.Context, keys []ItemKey) ([]ItemKey, error)
}

// Throttled is DeleteItems' answer when the store declined some of the
// keys for now, because writes to their partitions came faster than it
// takes them: Left are the keys not deleted; every other key is gone.
type Throttled struct {
	Left []ItemKey
}

func (t *Throttled) Error() string {
	return fmt.Sprintf("throttled: %d keys not deleted for now", len(t.Left))
}

// Objects deletes document objects.
type Objects interface {
	// DeleteObjects deletes the current version of each key. It returns
	// the keys the store refused for good (a permanent per-key error, so
	// that sending them again cannot help), and nil only once the store
	// confirms that none of the others has a current version; a missing
	// key is no error.
	DeleteObjects(ctx context.Context, keys []string) (refused []string, err error)
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
