package export

import (
	"context"
	"io"
	"time"
)

// The ports below are what Requests and Worker consume, each small enough
// that a constructor takes only what it uses and a fake implements it
// honestly.
// internal/porttest holds the fakes and the contract suite that keeps
// them in step with the DynamoDB adapter. Errors are the erasure sentinels
// (identity.ErrNotFound, identity.ErrConditionFailed,
// identity.ErrAlreadyExists), wrapped with %w.

// Access reads, from the practice's own records, what an export request is
// checked against, in one read.
type Access interface {
	// ExportAccess reads whether the practice has a practitioner item for
	// sub, whether it has the client, the client's active export pointer
	// and sub's export quota.
	ExportAccess(ctx context.Context, practiceID, sub, clientID string) (Gate, error)
}

// Records keeps export records.
type Records interface {
	// CreateExport records e (pending), makes it the client's active
	// export and writes the practitioner's quota, in one conditional
	// write: ErrConditionFailed, and nothing written, when an export with
	// its id exists, the client's active export is no longer slot.Active,
	// or the quota is no longer at the version before slot.Quota's.
	CreateExport(ctx context.Context, e Export, slot Slot) error
	// GetExport returns ErrNotFound when there is no such export.
	GetExport(ctx context.Context, id string) (Export, error)
	// ReleaseSlot gives back what CreateExport took for e when its
	// schedule could not be made: the client's pointer goes back to
	// before.Active if it still points at e, and the practitioner's quota
	// back to before if it is still at after's version. Either having
	// moved on since is no error.
	ReleaseSlot(ctx context.Context, e Export, before, after Slot) error
	// DeletePendingExport removes an export still pending (its schedule
	// could not be made); ErrConditionFailed when it is past pending, and
	// no error when it does not exist.
	DeletePendingExport(ctx context.Context, id string) error
	// StartExport moves a pending export, or a running one whose lease has
	// expired by now, to running, counts the attempt and takes the lease
	// until leaseUntil. ErrConditionFailed when the export is done, or
	// another attempt holds an unexpired lease; ErrNotFound for none.
	StartExport(ctx context.Context, id string, now, leaseUntil time.Time) (Export, error)
	// ReleaseExport gives back the lease taken until leaseUntil, if it is
	// still that lease, so a retry need not wait for it to expire.
	ReleaseExport(ctx context.Context, id string, leaseUntil time.Time) error
	// CompleteExport marks a running export ready with its archive;
	// ErrConditionFailed when it is not running.
	CompleteExport(ctx context.Context, id string, r Result) (Export, error)
	// FailExport marks a pending or running export failed with a reason
	// code; ErrConditionFailed when it is done already.
	FailExport(ctx context.Context, id string, at time.Time, reason string) error
}

// Content reads a client's file for an export, a page at a time: fn is
// called with each page in key order, and the first error it returns stops
// the reading. Pages are small (a page is all that is held).
type Content interface {
	// JournalEntries reads every journal entry in the client's file.
	JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]JournalEntry) error) error
	// Documents reads every document in the client's file.
	Documents(ctx context.Context, practiceID, clientID string, fn func([]Document) error) error
	// ChatSessions reads the sessions the client takes part in.
	ChatSessions(ctx context.Context, practiceID, clientID string, fn func([]ChatSession) error) error
	// ChatMessages reads a session's messages, oldest first.
	ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]ChatMessage) error) error
}

// Files reads document files.
type Files interface {
	// OpenFile returns the current content of the object key;
	// ErrNotFound when there is none.
	OpenFile(ctx context.Context, key string) (io.ReadCloser, error)
}

// Part is one uploaded part of an archive, as the store identifies it.
type Part struct {
	Number int32
	ETag   string
	// Checksum is the store's checksum of the part, when it keeps one.
	Checksum string
}

// Archives stores archives, written as multipart uploads, and hands out
// download URLs.
type Archives interface {
	// CreateUpload starts a multipart upload of key and returns its id.
	// downloadName is the file name a browser saves the archive as.
	CreateUpload(ctx context.Context, key, downloadName string) (string, error)
	// UploadPart uploads part number n (from 1); every part but the last
	// must be at least MinPartSize bytes. The store does not keep data.
	UploadPart(ctx context.Context, key, uploadID string, n int32, data []byte) (Part, error)
	// CompleteUpload assembles the parts into the object key.
	CompleteUpload(ctx context.Context, key, uploadID string, parts []Part) error
	// AbortUpload discards an upload and its parts.
	AbortUpload(ctx context.Context, key, uploadID string) error
	// PresignGet returns a URL that downloads key until now+ttl.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Schedule is the one-shot schedule that starts an export's worker.
type Schedule struct {
	Name     string
	At       time.Time // UTC, whole minutes
	ExportID string
}

// Scheduler creates export schedules.
type Scheduler interface {
	// CreateExportSchedule returns ErrAlreadyExists when a schedule with
	// that name exists.
	CreateExportSchedule(ctx context.Context, s Schedule) error
}

// Storage limits of S3 multipart uploads.
const (
	// MinPartSize is the smallest part but the last.
	MinPartSize = 5 << 20
	// MaxParts is the most parts an upload may have.
	MaxParts = 10000
)
