package erasure

import (
	"slices"
	"time"
)

// Setting is a practice's Right To Be Forgotten setting. The zero value (off,
// never changed) is what a practice has until its owner changes it.
type Setting struct {
	PracticeID string
	Enabled    bool
	UpdatedAt  *time.Time
	UpdatedBy  string
}

// Practice is the part of a practice record the purge flow reads.
type Practice struct {
	ID      string
	Name    string
	OwnerID string // the practitioner id (token sub) of the team owner
}

// Practitioner is a member of a practice's team.
type Practitioner struct {
	ID    string // token sub
	Name  string
	Email string
}

// Member is a practitioner caller as the practice's own records have them:
// their practitioner item, and whether the practice names them its owner.
// Only the directory makes a caller a Member; a token's claims never do.
type Member struct {
	Practitioner
	Owner bool
}

// Client is the part of a client's profile the flow reads. It is never
// written by this service.
type Client struct {
	PracticeID      string
	ID              string
	FirstName       string
	LastName        string
	Email           string   // where the client's own emails go; may be empty
	PractitionerIDs []string // assigned practitioners
	// PortalUserID is the token sub of the client's portal user: a client
	// token is this client's only when its sub is this.
	PortalUserID string
}

// DisplayName is the client's name for practitioner-facing notices.
func (c Client) DisplayName() string {
	switch {
	case c.FirstName != "" && c.LastName != "":
		return c.FirstName + " " + c.LastName
	case c.FirstName+c.LastName != "":
		return c.FirstName + c.LastName
	default:
		return "Client " + c.ID
	}
}

// Counts is what a purge removes (or removed), per category.
type Counts struct {
	JournalEntries int `json:"journalEntries"`
	Documents      int `json:"documents"`
	ChatSessions   int `json:"chatSessions"`
	ChatMessages   int `json:"chatMessages"`
}

// Add returns the sum of c and o.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		JournalEntries: c.JournalEntries + o.JournalEntries,
		Documents:      c.Documents + o.Documents,
		ChatSessions:   c.ChatSessions + o.ChatSessions,
		ChatMessages:   c.ChatMessages + o.ChatMessages,
	}
}

// Status is where a deletion request is in its life.
type Status string

const (
	// StatusAccepting: recorded, its schedule not yet confirmed. A request
	// never stays here: the client's retry or the acceptance itself moves it
	// on, or the acceptance rolls it back.
	StatusAccepting Status = "accepting"
	// StatusScheduled: the purge schedule exists; the purge will happen.
	StatusScheduled Status = "scheduled"
	// StatusPurging: the purge has started.
	StatusPurging Status = "purging"
	// StatusNeedsAttention: the purge removed everything it could; objects
	// S3 refuses to delete for good are recorded on the request for
	// support, and the sweep tries them again once a day. The portal stays
	// closed.
	StatusNeedsAttention Status = "needs_attention"
	// StatusCompleted: the client's content is gone.
	StatusCompleted Status = "completed"
	// StatusCancelled: the client withdrew the request before its purge
	// started; nothing was deleted.
	StatusCancelled Status = "cancelled"
)

// Pending reports whether the purge is still to be done (a request set
// aside is not: the sweep retries it on its own timetable).
func (s Status) Pending() bool {
	return s == StatusAccepting || s == StatusScheduled || s == StatusPurging
}

// Request is a client's deletion request.
type Request struct {
	ID          string
	PracticeID  string
	ClientID    string
	RequestedBy string // the client's token sub
	Status      Status
	RequestedAt time.Time
	PurgeAt     time.Time
	WillDelete  Counts

	ScheduleName string
	// Owed are the deliveries (Delivery* kinds) the request's transitions
	// made it owe and that are not made yet; Delivered records when each
	// made one was made (or found nothing to send: a client without an
	// email address). Only one invocation at a time makes them (the
	// store's delivery claim).
	Owed      []string
	Delivered map[string]time.Time

	PurgeStartedAt *time.Time
	CompletedAt    *time.Time
	Deleted        Counts
	// DeletedObjects counts the S3 objects the purge deleted, each with
	// its document (an object is counted when its document's item is
	// confirmed gone, so a retry never counts one twice).
	DeletedObjects int
	// SkippedObjects are the object keys (in SkippedKey form) that the
	// client's documents pointed to outside the client's folder: the purge
	// left those objects and deleted the documents. Each is recorded once,
	// in any order.
	SkippedObjects []string
	// UnresolvedObjects are the object keys (in SkippedKey form) inside
	// the client's folder that S3 refused to delete for good, or that no
	// S3 object can have; their documents stay until they are resolved.
	// SetAsideAt is when the purge last ended with some.
	UnresolvedObjects []string
	SetAsideAt        *time.Time
	Invocations       int
	// PurgePhase and PurgeCursor are where the purge's next invocation
	// starts.
	PurgePhase  string
	PurgeCursor string
	CancelledAt *time.Time
}

// Owes reports whether the delivery kind is owed.
func (r Request) Owes(kind string) bool { return slices.Contains(r.Owed, kind) }

// DeliveredAt is when the delivery kind was made, or nil.
func (r Request) DeliveredAt(kind string) *time.Time {
	if t, ok := r.Delivered[kind]; ok {
		return &t
	}
	return nil
}

// BackupsClearBy is when no backup holds the purged data any more: the
// point-in-time-recovery window (and the documents bucket's noncurrent
// version expiry) after completion.
func (r Request) BackupsClearBy() *time.Time {
	if r.CompletedAt == nil {
		return nil
	}
	t := r.CompletedAt.Add(BackupRetention)
	return &t
}

// BackupRetention is how long backups (DynamoDB point-in-time recovery, S3
// noncurrent versions) keep data after it is deleted.
const BackupRetention = 30 * 24 * time.Hour

// Notification is an in-portal notice to one practitioner.
type Notification struct {
	PractitionerID string
	PracticeID     string
	ID             string
	Kind           string
	RequestID      string
	ClientID       string
	ClientName     string
	CreatedAt      time.Time
	PurgeAt        time.Time
	Counts         Counts
	Message        string
	Read           bool
}

// Notification kinds.
const (
	NoticeDeletionRequested = "client_deletion_requested"
	NoticeDeletionCompleted = "client_deletion_completed"
	NoticeDeletionCancelled = "client_deletion_cancelled"
	NoticeNeedsAttention    = "client_deletion_needs_attention"
)
