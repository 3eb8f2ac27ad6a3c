package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Event is what invokes the purge: the one-shot schedule of a request
// ({"requestId":"..."}) or the hourly sweep ({"sweep":true}).
type Event struct {
	RequestID string `json:"requestId,omitempty"`
	Sweep     bool   `json:"sweep,omitempty"`
}

// Result reports what the invocation did.
type Result struct {
	RequestID string          `json:"requestId,omitempty"`
	Status    erasure.Status  `json:"status,omitempty"`
	Deleted   *erasure.Counts `json:"deleted,omitempty"`
	Swept     bool            `json:"swept,omitempty"`
}

// Handler runs purges. It is invoked asynchronously: an error makes Lambda
// retry the invocation, which is safe because the purge is idempotent.
type Handler struct {
	svc *erasure.Purger
	log *slog.Logger
}

func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		// A malformed event will not improve with retries: report, do not retry.
		h.log.ErrorContext(ctx, "malformed purge event", "err", err)
		return Result{}, nil
	}
	switch {
	case ev.Sweep:
		if _, err := h.svc.Sweep(ctx); err != nil {
			return Result{}, fmt.Errorf("sweep: %w", err)
		}
		return Result{Swept: true}, nil
	case identity.ValidID(ev.RequestID):
		r, err := h.svc.Purge(ctx, ev.RequestID)
		if err != nil {
			return Result{}, fmt.Errorf("purge %s: %w", ev.RequestID, err)
		}
		res := Result{RequestID: ev.RequestID, Status: r.Status}
		if r.ID != "" {
			d := r.Deleted
			res.Deleted = &d
		}
		return res, nil
	default:
		h.log.ErrorContext(ctx, "purge event names no request")
		return Result{}, nil
	}
}
