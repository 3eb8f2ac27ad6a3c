package oneshot

import (
	"context"

	"github.com/wellness-rtbf/rtbf/internal/export"
)

var _ export.Scheduler = (*Scheduler)(nil)

// ExportInput is what an export's schedule passes to the export worker.
type ExportInput struct {
	ExportID string `json:"exportId"`
}

// CreateExportSchedule creates the one-shot schedule that starts an
// export's worker (the Scheduler's target).
func (s *Scheduler) CreateExportSchedule(ctx context.Context, es export.Schedule) error {
	return s.CreateOneShot(ctx, OneShot{
		Name: es.Name, At: es.At, Input: ExportInput{ExportID: es.ExportID},
		Description: "Export " + es.ExportID + " of a client's file",
	})
}
