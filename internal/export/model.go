package export

import "github.com/wellness-rtbf/rtbf/internal/exportmodel"

// The records and ports live in internal/exportmodel, which links no
// archive code; these are the same types and values under this package's
// name, for the export functions and the tests.

type (
	Status       = exportmodel.Status
	Counts       = exportmodel.Counts
	Export       = exportmodel.Export
	Result       = exportmodel.Result
	Author       = exportmodel.Author
	JournalEntry = exportmodel.JournalEntry
	Document     = exportmodel.Document
	ChatSession  = exportmodel.ChatSession
	ChatMessage  = exportmodel.ChatMessage
	View         = exportmodel.View
	Gate         = exportmodel.Gate
	Quota        = exportmodel.Quota
	Slot         = exportmodel.Slot

	Access    = exportmodel.Access
	Records   = exportmodel.Records
	Content   = exportmodel.Content
	Files     = exportmodel.Files
	Part      = exportmodel.Part
	Archives  = exportmodel.Archives
	Schedule  = exportmodel.Schedule
	Scheduler = exportmodel.Scheduler
)

const (
	StatusPending = exportmodel.StatusPending
	StatusRunning = exportmodel.StatusRunning
	StatusReady   = exportmodel.StatusReady
	StatusFailed  = exportmodel.StatusFailed

	ReasonTimeout   = exportmodel.ReasonTimeout
	ReasonTooLarge  = exportmodel.ReasonTooLarge
	ReasonInternal  = exportmodel.ReasonInternal
	ReasonAbandoned = exportmodel.ReasonAbandoned

	AbandonedAfter = exportmodel.AbandonedAfter
	MinPartSize    = exportmodel.MinPartSize
	MaxParts       = exportmodel.MaxParts
	QuotaLimit     = exportmodel.QuotaLimit
	QuotaWindow    = exportmodel.QuotaWindow
)

// NewID returns a new export id.
func NewID() string { return exportmodel.NewID() }

// ScheduleName is the name of the one-shot schedule that starts an export.
func ScheduleName(exportID string) string { return exportmodel.ScheduleName(exportID) }

// ObjectKey is where an export's archive is stored.
func ObjectKey(e Export) string { return exportmodel.ObjectKey(e) }
