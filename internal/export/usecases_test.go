package export_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// services holds a fixture's ports and settings and builds, at each call,
// the side the call belongs to (the API's Requests or the Worker) through
// its constructor, so that a test may change a setting between calls.
type services struct {
	Access    export.Access
	Roster    erasure.Roster
	Records   export.Records
	Scheduler export.Scheduler
	Content   export.Content
	Files     export.Files
	Archives  export.Archives

	PartSize    int
	URLTTL      time.Duration
	Retention   time.Duration
	MaxAttempts int
	Margin      time.Duration
	TempDir     string

	Now   func() time.Time
	NewID func() string
	Log   *slog.Logger
}

func (s *services) opts() erasure.Options {
	return erasure.Options{Now: s.Now, NewID: s.NewID, Log: s.Log}
}

func (s *services) requests() *export.Requests {
	return export.NewRequests(s.Access, s.Roster, s.Records, s.Scheduler, s.Archives,
		export.Downloads{URLTTL: s.URLTTL, Retention: s.Retention}, s.opts())
}

func (s *services) Request(ctx context.Context, a identity.Actor, clientID string) (export.Export, bool, error) {
	return s.requests().Request(ctx, a, clientID)
}

func (s *services) Get(ctx context.Context, a identity.Actor, clientID, exportID string) (export.View, error) {
	return s.requests().Get(ctx, a, clientID, exportID)
}

func (s *services) Run(ctx context.Context, id string) (export.Export, error) {
	w := export.NewWorker(s.Records, s.Content, s.Files, s.Archives,
		export.WorkerConfig{PartSize: s.PartSize, MaxAttempts: s.MaxAttempts, Margin: s.Margin, TempDir: s.TempDir}, s.opts())
	return w.Run(ctx, id)
}
