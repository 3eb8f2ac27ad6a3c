package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// Event is what an operator invokes the replay with after a restore
// (README, "Operations": the restore runbook).
type Event struct {
	// Table is the restored table; Bucket the documents bucket (whose
	// objects were restored from their noncurrent versions).
	Table  string `json:"table"`
	Bucket string `json:"bucket"`
	// Since is the restore point, RFC 3339.
	Since string `json:"since"`
	// Live must be true to replay on the live table.
	Live bool `json:"live,omitempty"`
	// Cursor is the next of the invocation before, to go on.
	Cursor string `json:"cursor,omitempty"`
}

// Result is the replay's report, with the table and bucket it ran on.
// Next, when set, is the cursor to invoke it with again. Error, when set,
// says why the invocation stopped short: its Next goes on from there.
type Result struct {
	Table  string `json:"table"`
	Bucket string `json:"bucket"`
	erasure.ReplayReport
	Error string `json:"error,omitempty"`
}

// Handler runs a replay on the table and bucket an event names, within
// what the function was deployed to touch.
type Handler struct {
	// live is the stack's table (TABLE_NAME); prefix what a restored
	// table's name starts with (RESTORE_TABLE_PREFIX); bucket the
	// documents bucket (DOCUMENTS_BUCKET).
	live, prefix, bucket string
	// replayer returns the replay over table's content and the documents
	// bucket's objects.
	replayer func(table string) *erasure.Replayer
	log      *slog.Logger
}

// Handle runs the replay the event asks for and returns its report. An
// event it cannot run as given (malformed, a table or bucket outside what
// it may touch, the live table without "live": true) is refused: nothing
// is done and the result's error says why. It is invoked synchronously, so
// the operator reads either; no error is retried.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return h.refuse(ctx, ev, "malformed event: %v", err)
	}
	since, err := time.Parse(time.RFC3339Nano, ev.Since)
	switch {
	case ev.Table == "":
		return h.refuse(ctx, ev, "the event names no table")
	case err != nil:
		return h.refuse(ctx, ev, "since %q is not an RFC 3339 time", ev.Since)
	case ev.Table == h.live && !ev.Live:
		return h.refuse(ctx, ev, "%s is the live table: refused without \"live\": true", ev.Table)
	case ev.Table != h.live && ev.Live:
		return h.refuse(ctx, ev, "\"live\": true, but %s is not the live table", ev.Table)
	case ev.Table != h.live && (!strings.HasPrefix(ev.Table, h.prefix) || ev.Table == h.prefix):
		return h.refuse(ctx, ev, "table %s is neither a restored table (%s…) nor the live table", ev.Table, h.prefix)
	case ev.Bucket != h.bucket:
		return h.refuse(ctx, ev, "bucket %s is not the documents bucket", ev.Bucket)
	}
	h.log.InfoContext(ctx, "replay", "table", ev.Table, "since", since, "resumed", ev.Cursor != "")
	rep, err := h.replayer(ev.Table).Replay(ctx, erasure.ReplayInput{Since: since, Cursor: ev.Cursor})
	res := Result{Table: ev.Table, Bucket: ev.Bucket, ReplayReport: rep}
	if err != nil {
		// Report what was done, and where to go on (Next, when the
		// replay got as far as starting).
		h.log.ErrorContext(ctx, "replay stopped short", "replayId", rep.ReplayID, "err", err)
		res.Error = err.Error()
	}
	h.log.InfoContext(ctx, "replay report", "replayId", rep.ReplayID, "requests", len(rep.Requests),
		"refused", len(rep.Refused), "older", rep.Older, "done", rep.Next == "" && res.Error == "")
	return res, nil
}

func (h *Handler) refuse(ctx context.Context, ev Event, format string, args ...any) (Result, error) {
	why := "replay refused: " + fmt.Sprintf(format, args...)
	h.log.ErrorContext(ctx, why)
	return Result{Table: ev.Table, Bucket: ev.Bucket, Error: why}, nil
}
