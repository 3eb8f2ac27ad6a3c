package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Event is what an export's schedule sends ({"exportId":"..."}, see
// oneshot.ExportInput).
type Event struct {
	ExportID string `json:"exportId"`
}

// Result reports what the invocation left the export at.
type Result struct {
	ExportID      string         `json:"exportId,omitempty"`
	Status        export.Status  `json:"status,omitempty"`
	Counts        *export.Counts `json:"counts,omitempty"`
	SizeBytes     int64          `json:"sizeBytes,omitempty"`
	FailureReason string         `json:"failureReason,omitempty"`
}

// Handler runs exports. It is invoked asynchronously: an error makes Lambda
// retry the invocation, which is safe because the export is idempotent.
type Handler struct {
	svc *export.Worker
	log *slog.Logger
}

func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		// A malformed event will not improve with retries: report, do not retry.
		h.log.ErrorContext(ctx, "malformed export event", "err", err)
		return Result{}, nil
	}
	if !identity.ValidID(ev.ExportID) {
		h.log.ErrorContext(ctx, "export event names no valid export")
		return Result{}, nil
	}
	e, err := h.svc.Run(ctx, ev.ExportID)
	if err != nil {
		return Result{}, fmt.Errorf("export %s: %w", ev.ExportID, err)
	}
	res := Result{ExportID: ev.ExportID, Status: e.Status, FailureReason: e.FailureReason}
	if e.Status == export.StatusReady {
		counts := e.Counts
		res.Counts, res.SizeBytes = &counts, e.SizeBytes
	}
	return res, nil
}
