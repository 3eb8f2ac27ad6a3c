package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/metrics"
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
	// metrics receives what the purges and sweeps report (nil: nothing).
	metrics *metrics.Writer
	// now is the use case's clock (nil: time.Now): a purge completed at or
	// after the invocation's start on it was completed by the invocation.
	now func() time.Time
}

func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		// A malformed event will not improve with retries: report, do not retry.
		h.log.ErrorContext(ctx, "malformed purge event", "err", err)
		return Result{}, nil
	}
	start := h.time()
	switch {
	case ev.Sweep:
		rep, err := h.svc.Sweep(ctx)
		// What it counted is reported even when part of it failed.
		h.log.InfoContext(ctx, "sweep", "overdue", rep.Overdue, "needsAttention", rep.NeedsAttention, "emailsOwed", rep.EmailsOwed)
		h.reportSweep(ctx, start, rep)
		if err != nil {
			return Result{}, fmt.Errorf("sweep: %w", err)
		}
		return Result{Swept: true}, nil
	case identity.ValidID(ev.RequestID):
		r, err := h.svc.Purge(ctx, ev.RequestID)
		if err != nil {
			return Result{}, fmt.Errorf("purge %s: %w", ev.RequestID, err)
		}
		h.reportPurged(ctx, start, r)
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

func (h *Handler) time() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

// reportSweep emits what a sweep counted, stamped when it looked, and the
// purges it completed. A sweep that could not list the pending requests
// counted nothing, and nothing is emitted: the alarm on the sweep's
// silence tells.
func (h *Handler) reportSweep(ctx context.Context, start time.Time, rep erasure.SweepReport) {
	if rep.At.IsZero() {
		return
	}
	h.emit(ctx, rep.At,
		metrics.OverdueRequests.Of(float64(rep.Overdue)),
		metrics.NeedsAttention.Of(float64(rep.NeedsAttention)),
		metrics.EmailsOwed.Of(float64(rep.EmailsOwed)))
	for _, r := range rep.Completed {
		h.reportPurged(ctx, start, r)
	}
}

// reportPurged emits a purge's figures once: by the invocation that
// completed it. A delivery that finds the purge completed before it
// started (a repeated schedule, the retry that only sends the client's
// receipt) reports nothing.
func (h *Handler) reportPurged(ctx context.Context, start time.Time, r erasure.Request) {
	if r.Status != erasure.StatusCompleted || r.CompletedAt == nil || r.CompletedAt.Before(start) {
		return
	}
	d := r.Deleted
	samples := []metrics.Sample{
		metrics.RequestsPurged.Of(1),
		metrics.ItemsDeleted.Of(float64(d.JournalEntries + d.Documents + d.ChatSessions + d.ChatMessages)),
		metrics.ObjectsDeleted.Of(float64(r.DeletedObjects)),
	}
	if r.PurgeStartedAt != nil {
		samples = append(samples, metrics.PurgeDuration.Of(r.CompletedAt.Sub(*r.PurgeStartedAt).Seconds()))
	}
	h.emit(ctx, *r.CompletedAt, samples...)
}

// emit writes a metric line; a line that cannot be written is logged and
// fails nothing else.
func (h *Handler) emit(ctx context.Context, at time.Time, samples ...metrics.Sample) {
	if err := h.metrics.Emit(at, samples...); err != nil {
		h.log.WarnContext(ctx, "write metrics", "err", err)
	}
}
