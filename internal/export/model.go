package export

import (
	"time"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Status is where an export is in its life.
type Status string

const (
	// StatusPending: recorded and scheduled; the worker has not started.
	StatusPending Status = "pending"
	// StatusRunning: a worker is writing the archive.
	StatusRunning Status = "running"
	// StatusReady: the archive is stored and may be downloaded.
	StatusReady Status = "ready"
	// StatusFailed: the export ended without an archive; FailureReason
	// says why, as a code.
	StatusFailed Status = "failed"
)

// Done reports whether the export has ended, one way or the other.
func (s Status) Done() bool { return s == StatusReady || s == StatusFailed }

// Failure reasons: codes, never personal content.
const (
	// ReasonTimeout: the archive could not be written within the worker's
	// time limit.
	ReasonTimeout = "timeout"
	// ReasonTooLarge: the archive would exceed the storage's upload limit.
	ReasonTooLarge = "too_large"
	// ReasonInternal: the worker failed on every attempt.
	ReasonInternal = "internal_error"
	// ReasonAbandoned: no worker finished the export before its schedule's
	// retries ran out (every attempt crashed without recording why).
	ReasonAbandoned = "abandoned"
)

// AbandonedAfter is how long after it was requested an export that is
// still pending or running can no longer finish: the schedule delivers it
// for at most 24 hours (oneshot's maximum event age), and a worker
// runs for at most 15 minutes more.
const AbandonedAfter = 24*time.Hour + 15*time.Minute

// Counts is what an archive holds, per category.
type Counts struct {
	JournalEntries int `json:"journalEntries" dynamodbav:"journalEntries"`
	ChatSessions   int `json:"chatSessions" dynamodbav:"chatSessions"`
	ChatMessages   int `json:"chatMessages" dynamodbav:"chatMessages"`
	Documents      int `json:"documents" dynamodbav:"documents"`
}

// Export is the record of one export of a client's file. It holds ids,
// times, counts and codes: no personal content.
type Export struct {
	ID          string
	PracticeID  string
	ClientID    string
	RequestedBy string // the practitioner's token sub
	Status      Status
	RequestedAt time.Time

	ScheduleName string
	// Attempts counts the worker invocations that took the export on.
	Attempts  int
	StartedAt *time.Time
	// CompletedAt is when the export became ready or failed.
	CompletedAt   *time.Time
	Counts        Counts
	SizeBytes     int64
	ObjectKey     string // the archive's key in the exports bucket, once ready
	FailureReason string
}

// Gate is what an export request is checked against, as the practice's
// records have it.
type Gate struct {
	// Member: the practice has a practitioner item for the caller.
	Member bool
	// ClientExists: the practice has the client's profile.
	ClientExists bool
	// Active is the id of the client's latest export ("" for none); it
	// may have ended since.
	Active string
	// Quota is the caller's recent exports.
	Quota Quota
}

// Quota is a practitioner's recent exports, which the per-hour limit
// counts.
type Quota struct {
	// Times are when the practitioner's latest exports were asked for,
	// oldest first, at most QuotaLimit of them.
	Times []time.Time
	// Version counts the writes of the quota; 0 when it was never written.
	Version int64
}

// The per-practitioner limit: at most QuotaLimit exports in any
// QuotaWindow.
const (
	QuotaLimit  = 20
	QuotaWindow = time.Hour
)

// Next is the quota after an export asked for at now, or, when the limit
// is reached, how long until the oldest export in the window leaves it.
func (q Quota) Next(now time.Time) (Quota, time.Duration) {
	var kept []time.Time
	for _, t := range q.Times {
		if now.Sub(t) < QuotaWindow {
			kept = append(kept, t)
		}
	}
	if len(kept) >= QuotaLimit {
		return q, kept[len(kept)-QuotaLimit].Add(QuotaWindow).Sub(now)
	}
	return Quota{Times: append(kept, now), Version: q.Version + 1}, 0
}

// Slot is what creating an export takes: the client's active-export
// pointer, which must still be Active ("" for none), and the
// practitioner's quota, written as Quota (one version past the one read).
type Slot struct {
	Active string
	Quota  Quota
}

// Result is what a finished archive is.
type Result struct {
	At        time.Time
	ObjectKey string
	SizeBytes int64
	Counts    Counts
}

// Author is who created an item, as the platform records it.
type Author struct {
	Role string `json:"role"` // client | practitioner
	ID   string `json:"id"`   // client id or practitioner id
}

// JournalEntry is one journal entry in the client's file.
type JournalEntry struct {
	ID        string
	Author    Author
	CreatedAt time.Time
	Title     string
	Body      string
}

// Document is one document in the client's file: uploaded by the client
// or shared with them by a practitioner. Its file is the first of
// ObjectKeys (the others are derived: previews, thumbnails).
type Document struct {
	ID         string
	Author     Author
	CreatedAt  time.Time
	Title      string
	FileName   string // the original file name, as uploaded
	ObjectKeys []string
}

// ChatSession is a secure-messenger conversation the client takes part in.
type ChatSession struct {
	ID              string
	Title           string
	ClientIDs       []string
	PractitionerIDs []string
	CreatedAt       time.Time
}

// ChatMessage is one message of a session.
type ChatMessage struct {
	ID        string
	Author    Author
	CreatedAt time.Time
	Body      string
}

// NewID returns a random, URL-safe export id, of the form of a request's.
func NewID() string { return identity.NewRequestID() }

// ScheduleName is the name of the one-shot schedule that starts an
// export's worker: derived from the export, so it cannot be made twice.
func ScheduleName(exportID string) string { return "rtbf-export-" + exportID }

// ObjectKey is where an export's archive is stored in the exports bucket.
func ObjectKey(e Export) string {
	return "practices/" + e.PracticeID + "/clients/" + e.ClientID + "/exports/" + e.ID + ".zip"
}

// View is an export as the practitioner sees it: with a download URL
// while it is ready and its archive kept.
type View struct {
	Export
	DownloadURL          string
	DownloadURLExpiresAt *time.Time
}
