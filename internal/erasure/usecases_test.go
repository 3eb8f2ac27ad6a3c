package erasure_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// services holds the fixture's ports and settings and builds, at each
// call, the use case the call belongs to through its constructor, so that a
// test may swap a port (a failing Content, a budget) between calls and
// every call goes through the wiring a function uses.
type services struct {
	Settings      erasure.SettingStore
	Roster        erasure.Roster
	Directory     erasure.Directory
	Requests      erasure.RequestStore
	Notifications erasure.NotificationStore
	Inbox         erasure.Inbox
	Content       erasure.Content
	Objects       erasure.Objects
	Scheduler     erasure.Scheduler
	Mailer        erasure.Mailer
	Ledger        erasure.Ledger

	PurgeDelay       time.Duration
	PurgeConcurrency int
	PurgeBudget      time.Duration
	PurgeMargin      time.Duration
	SweepGrace       time.Duration

	Now   func() time.Time
	NewID func() string
	Log   *slog.Logger
}

func (s *services) opts() erasure.Options {
	return erasure.Options{Now: s.Now, NewID: s.NewID, Log: s.Log}
}

func (s *services) settings() *erasure.Settings {
	return erasure.NewSettings(s.Settings, s.Roster, s.opts())
}

func (s *services) client() *erasure.ClientRequests {
	return erasure.NewClientRequests(s.Settings, s.Directory, s.Requests, s.Notifications, s.Content, s.Scheduler, s.Mailer, s.PurgeDelay, s.opts())
}

func (s *services) purger() *erasure.Purger {
	return erasure.NewPurger(s.Directory, s.Requests, s.Notifications, s.Content, s.Objects, s.Scheduler, s.Mailer, s.Ledger,
		erasure.PurgeConfig{Concurrency: s.PurgeConcurrency, Budget: s.PurgeBudget, Margin: s.PurgeMargin, SweepGrace: s.SweepGrace}, s.opts())
}

func (s *services) GetSetting(ctx context.Context, a identity.Actor) (erasure.Setting, error) {
	return s.settings().GetSetting(ctx, a)
}

func (s *services) PutSetting(ctx context.Context, a identity.Actor, enabled bool) (erasure.Setting, error) {
	return s.settings().PutSetting(ctx, a, enabled)
}

func (s *services) Portal(ctx context.Context, a identity.Actor) (erasure.PortalView, error) {
	return s.client().Portal(ctx, a)
}

func (s *services) RequestDeletion(ctx context.Context, a identity.Actor) (erasure.Request, bool, error) {
	return s.client().RequestDeletion(ctx, a)
}

func (s *services) CancelDeletion(ctx context.Context, a identity.Actor) (erasure.Request, error) {
	r, _, err := s.client().CancelDeletion(ctx, a)
	return r, err
}

func (s *services) Scope(ctx context.Context, practiceID, clientID string) (erasure.Counts, error) {
	return erasure.Scope(ctx, s.Content, practiceID, clientID)
}

func (s *services) Purge(ctx context.Context, requestID string) (erasure.Request, error) {
	return s.purger().Purge(ctx, requestID)
}

func (s *services) Sweep(ctx context.Context) (erasure.SweepReport, error) {
	return s.purger().Sweep(ctx)
}

func (s *services) ListNotifications(ctx context.Context, a identity.Actor, limit int, token string) ([]erasure.Notification, string, error) {
	return erasure.NewNotifications(s.Roster, s.Inbox, s.opts()).ListNotifications(ctx, a, limit, token)
}

func (s *services) MarkNotificationRead(ctx context.Context, a identity.Actor, id string) (erasure.Notification, error) {
	return erasure.NewNotifications(s.Roster, s.Inbox, s.opts()).MarkNotificationRead(ctx, a, id)
}

func (s *services) ListDeletionRequests(ctx context.Context, a identity.Actor, status erasure.Status, limit int, token string) ([]erasure.Request, string, error) {
	return erasure.NewPracticeRequests(s.Roster, s.Requests, s.opts()).ListDeletionRequests(ctx, a, status, limit, token)
}

func (s *services) GetDeletionRequest(ctx context.Context, a identity.Actor, id string) (erasure.Request, error) {
	return erasure.NewPracticeRequests(s.Roster, s.Requests, s.opts()).GetDeletionRequest(ctx, a, id)
}

// A use case refuses a nil port when it is built, not when a request
// reaches the call that needs it.
func TestNewUseCase_ErrNilPort(t *testing.T) {
	mem := porttest.NewMemory()
	var nilMailer *porttest.Mailer
	for name, build := range map[string]func(){
		"Settings": func() { erasure.NewSettings(mem, nil, erasure.Options{}) },
		"ClientRequests": func() {
			erasure.NewClientRequests(mem, mem, mem, mem, mem, porttest.NewScheduler(), nilMailer, 0, erasure.Options{})
		},
		"Purger": func() {
			erasure.NewPurger(mem, mem, mem, mem, nil, porttest.NewScheduler(), &porttest.Mailer{}, porttest.NewLedger(), erasure.PurgeConfig{}, erasure.Options{})
		},
		"Purger/Ledger": func() {
			erasure.NewPurger(mem, mem, mem, mem, porttest.NewObjects(), porttest.NewScheduler(), &porttest.Mailer{}, nil, erasure.PurgeConfig{}, erasure.Options{})
		},
		"Notifications":    func() { erasure.NewNotifications(nil, mem, erasure.Options{}) },
		"PracticeRequests": func() { erasure.NewPracticeRequests(mem, nil, erasure.Options{}) },
		"Certificates":     func() { erasure.NewCertificates(mem, mem, nil, erasure.Options{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("got no panic, want one for the nil port")
				}
			}()
			build()
		})
	}
}
