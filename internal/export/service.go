package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Requests is the API side of exports: a practitioner asks for one and
// reads it back with its download URL.
type Requests struct {
	env
	access    Access
	roster    erasure.Roster
	records   Records
	scheduler Scheduler
	archives  Archives
	cfg       Downloads
}

// Downloads bounds the download URLs Get hands out.
type Downloads struct {
	// URLTTL is how long a download URL works (default 15 minutes).
	URLTTL time.Duration
	// Retention is how long the exports bucket keeps an archive (its
	// lifecycle rule; default 7 days): no URL is handed out after it.
	Retention time.Duration
}

// NewRequests returns the API side, with exactly the ports it calls; it
// panics on a nil one.
func NewRequests(access Access, roster erasure.Roster, records Records, scheduler Scheduler, archives Archives, cfg Downloads, o erasure.Options) *Requests {
	erasure.RequirePorts("export.Requests", access, roster, records, scheduler, archives)
	return &Requests{env: env{o}, access: access, roster: roster, records: records, scheduler: scheduler, archives: archives, cfg: cfg}
}

// Worker runs an export: it writes the client's file to the archive.
type Worker struct {
	env
	records  Records
	content  Content
	files    Files
	archives Archives
	cfg      WorkerConfig
}

// WorkerConfig tunes the worker.
type WorkerConfig struct {
	// PartSize is the size of the one part buffer the archive is uploaded
	// through (default DefaultPartSize; at least MinPartSize on S3).
	PartSize int
	// MaxAttempts is how many worker attempts an export gets before it is
	// marked failed (default 3: Lambda's first try and its two retries).
	MaxAttempts int
	// Margin is how long before the invocation's deadline the worker gives
	// up, so that it can still record why (default 30 seconds).
	Margin time.Duration
	// TempDir holds the worker's spool file (default os.cfg.TempDir()).
	TempDir string
}

// NewWorker returns the worker, with exactly the ports it calls; it panics
// on a nil one.
func NewWorker(records Records, content Content, files Files, archives Archives, cfg WorkerConfig, o erasure.Options) *Worker {
	erasure.RequirePorts("export.Worker", records, content, files, archives)
	return &Worker{env: env{o}, records: records, content: content, files: files, archives: archives, cfg: cfg}
}

// env is the clock, ids and log an export runs with.
type env struct{ o erasure.Options }

// Defaults.
const (
	DefaultPartSize    = 8 << 20
	DefaultURLTTL      = 15 * time.Minute
	DefaultRetention   = 7 * 24 * time.Hour
	DefaultMaxAttempts = 3
	DefaultMargin      = 30 * time.Second
	// defaultRunTime bounds a run whose context has no deadline.
	defaultRunTime = 15 * time.Minute
	// minScheduleLead: a schedule is never set less than this far ahead.
	minScheduleLead = 10 * time.Second
)

func (e env) now() time.Time    { return e.o.Time() }
func (e env) log() *slog.Logger { return e.o.Logger() }

func (e env) newID() string {
	if e.o.NewID != nil {
		return e.o.NewID()
	}
	return NewID()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// RequirePractitioner refuses anyone but a practitioner (owner or team
// member) of the caller's practice. The API edge calls it before reading a
// body, so a caller who may not use the route learns only that.
func RequirePractitioner(a identity.Actor) error {
	if a.Role != identity.RolePractitioner {
		return identity.Errorf(identity.EForbidden, "only practitioners may export a client's file")
	}
	return nil
}

// CheckID refuses an id that is not a valid id, naming the parameter.
func CheckID(param, id string) error {
	if !identity.ValidID(id) {
		return identity.Errorf(identity.EInvalid, "%s must be 1 to 128 of the characters A-Z a-z 0-9 _ . : @ -", param)
	}
	return nil
}

// StartAt is when an export asked for at now starts: the next whole
// minute, at least ten seconds ahead.
func StartAt(now time.Time) time.Time {
	at := now.UTC().Truncate(time.Minute).Add(time.Minute)
	if at.Sub(now) < minScheduleLead {
		at = at.Add(time.Minute)
	}
	return at
}

// Request records an export of the client's file and schedules its
// worker, and reports whether this call made it. A returned export will
// run: its schedule exists. While an export of the client is pending or
// running, Request returns that one and makes none. Each practitioner may
// ask for QuotaLimit exports in any QuotaWindow; past that the caller gets
// ETooManyRequests with how long to wait. When the schedule cannot be made
// the record is rolled back and the caller gets EUnavailable, so a retry
// starts afresh. The caller must be a practitioner of the practice (its
// records say so, not the token); a client who is not in the practice is
// not found, like one who does not exist.
func (s *Requests) Request(ctx context.Context, a identity.Actor, clientID string) (Export, bool, error) {
	if err := RequirePractitioner(a); err != nil {
		return Export{}, false, err
	}
	if err := CheckID("clientId", clientID); err != nil {
		return Export{}, false, err
	}
	for attempt := 1; ; attempt++ {
		e, created, err := s.request(ctx, a, clientID)
		if !errors.Is(err, identity.ErrConditionFailed) {
			return e, created, err
		}
		// Another request made an export of the client, or one of the
		// caller's, since this one read: read again.
		if attempt == requestAttempts {
			return Export{}, false, identity.Errorf(identity.EConflict, "other exports were being asked for at the same time; try again")
		}
	}
}

// requestAttempts bounds how often Request reads again after losing a
// race.
const requestAttempts = 8

func (s *Requests) request(ctx context.Context, a identity.Actor, clientID string) (Export, bool, error) {
	g, err := s.access.ExportAccess(ctx, a.PracticeID, a.Subject, clientID)
	if err != nil {
		return Export{}, false, fmt.Errorf("read access: %w", err)
	}
	if !g.Member {
		return Export{}, false, erasure.MemberError(identity.ErrNotFound)
	}
	if !g.ClientExists {
		return Export{}, false, identity.Errorf(identity.ENotFound, "there is no such client")
	}
	now := s.now()
	if g.Active != "" {
		cur, err := s.records.GetExport(ctx, g.Active)
		switch {
		case err == nil && !cur.Status.Done() && now.Before(cur.RequestedAt.Add(AbandonedAfter)):
			return cur, false, nil // still to finish: that is the export
		case err != nil && !errors.Is(err, identity.ErrNotFound):
			return Export{}, false, fmt.Errorf("get active export: %w", err)
		}
	}
	quota, wait := g.Quota.Next(now)
	if wait > 0 {
		return Export{}, false, &identity.Error{
			Code:       identity.ETooManyRequests,
			Message:    fmt.Sprintf("at most %d exports an hour may be asked for; try again later", QuotaLimit),
			RetryAfter: wait,
		}
	}
	id := s.newID()
	e := Export{
		ID: id, PracticeID: a.PracticeID, ClientID: clientID, RequestedBy: a.Subject,
		Status: StatusPending, RequestedAt: now, ScheduleName: ScheduleName(id),
	}
	slot := Slot{Active: g.Active, Quota: quota}
	if err := s.records.CreateExport(ctx, e, slot); err != nil {
		if errors.Is(err, identity.ErrConditionFailed) {
			return Export{}, false, err
		}
		return Export{}, false, fmt.Errorf("create export: %w", err)
	}
	err = s.scheduler.CreateExportSchedule(ctx, Schedule{Name: e.ScheduleName, At: StartAt(now), ExportID: id})
	if err != nil && !errors.Is(err, identity.ErrAlreadyExists) {
		s.log().ErrorContext(ctx, "create export schedule", "exportId", id, "err", err)
		bg := context.WithoutCancel(ctx)
		if err := s.records.DeletePendingExport(bg, id); err != nil {
			s.log().ErrorContext(ctx, "roll back export", "exportId", id, "err", err)
		}
		if err := s.records.ReleaseSlot(bg, e, Slot{Active: g.Active, Quota: g.Quota}, slot); err != nil {
			s.log().ErrorContext(ctx, "give back the export's slot", "exportId", id, "err", err)
		}
		return Export{}, false, identity.Errorf(identity.EUnavailable, "the export could not be scheduled just now; nothing was recorded, please try again")
	}
	return e, true, nil
}

// Get returns one of the caller's practice's exports of the client. An
// export of another client or practice is not found, like an unknown one.
func (s *Requests) Get(ctx context.Context, a identity.Actor, clientID, exportID string) (View, error) {
	if err := RequirePractitioner(a); err != nil {
		return View{}, err
	}
	if err := CheckID("clientId", clientID); err != nil {
		return View{}, err
	}
	if err := CheckID("exportId", exportID); err != nil {
		return View{}, err
	}
	if _, err := s.roster.Member(ctx, a.PracticeID, a.Subject); err != nil {
		return View{}, erasure.MemberError(err)
	}
	e, err := s.records.GetExport(ctx, exportID)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (e.PracticeID != a.PracticeID || e.ClientID != clientID)) {
		return View{}, identity.Errorf(identity.ENotFound, "there is no such export of this client")
	}
	if err != nil {
		return View{}, fmt.Errorf("get export: %w", err)
	}
	v := View{Export: e}
	now := s.now()
	if !e.Status.Done() && now.After(e.RequestedAt.Add(AbandonedAfter)) {
		// Nothing will finish it: say so rather than "running" for ever.
		at := e.RequestedAt.Add(AbandonedAfter)
		v.Status, v.FailureReason, v.CompletedAt = StatusFailed, ReasonAbandoned, &at
	}
	if e.Status == StatusReady && e.ObjectKey != "" && e.CompletedAt != nil && now.Before(e.CompletedAt.Add(orDefault(s.cfg.Retention, DefaultRetention))) {
		ttl := orDefault(s.cfg.URLTTL, DefaultURLTTL)
		url, err := s.archives.PresignGet(ctx, e.ObjectKey, ttl)
		if err != nil {
			return View{}, fmt.Errorf("presign: %w", err)
		}
		exp := now.Add(ttl)
		v.DownloadURL, v.DownloadURLExpiresAt = url, &exp
	}
	return v, nil
}

// Run is the worker: it takes the export on, writes its archive and marks
// it ready. It is idempotent: a delivery for an export that is done, or
// that another attempt is working on, changes nothing. A failure that a
// retry may cure returns an error (the caller retries); one it cannot
// (the time limit, the size limit, the last attempt) marks the export
// failed with a reason code and returns none.
func (s *Worker) Run(ctx context.Context, id string) (Export, error) {
	now := s.now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultRunTime)
	}
	// The lease lasts as long as this invocation may: a retry after a crash
	// or a timeout finds it expired and takes over. (The deadline is on the
	// real clock; the lease on the service's.)
	leaseUntil := now.Add(time.Until(deadline)).Truncate(time.Millisecond)
	e, err := s.records.StartExport(ctx, id, now, leaseUntil)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		s.log().WarnContext(ctx, "no such export; nothing to do", "exportId", id)
		return Export{}, nil
	case errors.Is(err, identity.ErrConditionFailed):
		cur, err := s.records.GetExport(ctx, id)
		if err != nil {
			return Export{}, fmt.Errorf("get export: %w", err)
		}
		s.log().InfoContext(ctx, "export done or in progress; nothing to do", "exportId", id, "status", cur.Status)
		return cur, nil
	case err != nil:
		return Export{}, fmt.Errorf("start export: %w", err)
	}

	work, cancel := context.WithDeadline(ctx, deadline.Add(-orDefault(s.cfg.Margin, DefaultMargin)))
	defer cancel()
	res, err := s.build(work, e, now)
	if err == nil {
		done, err := s.records.CompleteExport(ctx, id, res)
		if errors.Is(err, identity.ErrConditionFailed) {
			// Another attempt finished it meanwhile, with the same archive.
			return s.records.GetExport(ctx, id)
		}
		if err != nil {
			return Export{}, fmt.Errorf("complete export: %w", err)
		}
		s.log().InfoContext(ctx, "export ready", "exportId", id, "bytes", res.SizeBytes, "counts", res.Counts)
		return done, nil
	}

	reason := ""
	switch {
	case errors.Is(err, errTooLarge):
		reason = ReasonTooLarge
	case work.Err() != nil && ctx.Err() == nil:
		reason = ReasonTimeout
	case e.Attempts >= orDefault(s.cfg.MaxAttempts, DefaultMaxAttempts):
		reason = ReasonInternal
	}
	bg := context.WithoutCancel(ctx)
	if reason == "" {
		s.log().ErrorContext(ctx, "export failed; a retry takes it on", "exportId", id, "attempt", e.Attempts, "err", err)
		if err := s.records.ReleaseExport(bg, id, leaseUntil); err != nil {
			s.log().WarnContext(ctx, "release export lease", "exportId", id, "err", err)
		}
		return Export{}, fmt.Errorf("export %s: %w", id, err)
	}
	s.log().ErrorContext(ctx, "export failed", "exportId", id, "reason", reason, "attempt", e.Attempts, "err", err)
	if err := s.records.FailExport(bg, id, s.now(), reason); err != nil && !errors.Is(err, identity.ErrConditionFailed) {
		return Export{}, fmt.Errorf("record export failure: %w", err)
	}
	return s.records.GetExport(bg, id)
}

// build writes the export's archive to the exports bucket, as one
// multipart upload that is completed only when the archive is whole and
// aborted otherwise.
func (s *Worker) build(ctx context.Context, e Export, at time.Time) (Result, error) {
	key := ObjectKey(e)
	spool, err := os.CreateTemp(s.cfg.TempDir, "rtbf-export-*")
	if err != nil {
		return Result{}, fmt.Errorf("spool: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	uploadID, err := s.archives.CreateUpload(ctx, key, "client-"+e.ClientID+"-export-"+at.Format("2006-01-02")+".zip")
	if err != nil {
		return Result{}, fmt.Errorf("create upload: %w", err)
	}
	pw := newPartWriter(ctx, s.archives, key, uploadID, make([]byte, orDefault(s.cfg.PartSize, DefaultPartSize)))
	b := &builder{
		ctx: ctx, s: s, e: e, at: at, zw: newZipWriter(pw), spool: spool,
		names: newNames(), copyBuf: make([]byte, 32<<10),
	}
	err = b.write()
	if err == nil {
		err = pw.Close()
	}
	if err == nil {
		if err = s.archives.CompleteUpload(ctx, key, uploadID, pw.parts); err != nil {
			err = fmt.Errorf("complete upload: %w", err)
		}
	}
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if aerr := s.archives.AbortUpload(actx, key, uploadID); aerr != nil {
			s.log().WarnContext(ctx, "abort upload; the bucket's lifecycle removes it in a day", "exportId", e.ID, "err", aerr)
		}
		return Result{}, err
	}
	return Result{At: s.now(), ObjectKey: key, SizeBytes: pw.written, Counts: b.counts}, nil
}
