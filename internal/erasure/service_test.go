package erasure_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// t0 is the fixed "now" of every test: Saturday 28 November 2026, noon UTC.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

const (
	practiceID = "p1"
	clientID   = "c1"
	otherID    = "c2"
	sweepGrace = time.Hour
)

// clock is a settable, concurrency-safe clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// fixture is the use cases wired to the in-memory fakes, with a practice p1
// whose owner "owner" and practitioners "prac-a", "prac-b", "prac-c" exist.
// Client c1 is assigned to prac-b, the owner (again), prac-a and a
// practitioner who is not in the directory; client c2 to prac-a.
type fixture struct {
	mem     *porttest.Memory
	objects *porttest.Objects
	sched   *porttest.Scheduler
	mailer  *porttest.Mailer
	ledger  *porttest.Ledger
	clock   *clock
	svc     *services
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		mem:     porttest.NewMemory(),
		objects: porttest.NewObjects(),
		sched:   porttest.NewScheduler(),
		mailer:  &porttest.Mailer{},
		ledger:  porttest.NewLedger(),
		clock:   &clock{t: t0},
	}
	var n atomic.Int64
	f.svc = &services{
		Settings:      f.mem,
		Roster:        f.mem,
		Directory:     f.mem,
		Requests:      f.mem,
		Notifications: f.mem,
		Inbox:         f.mem,
		Content:       f.mem,
		Objects:       f.objects,
		Scheduler:     f.sched,
		Mailer:        f.mailer,
		Ledger:        f.ledger,
		PurgeDelay:    erasure.DefaultPurgeDelay,
		SweepGrace:    sweepGrace,
		Now:           f.clock.Now,
		NewID:         func() string { return fmt.Sprintf("req-%03d", n.Add(1)) },
		Log:           slog.New(slog.DiscardHandler),
	}
	f.mem.AddPractice(erasure.Practice{ID: practiceID, Name: "Calm Clinic", OwnerID: "owner"})
	for _, p := range []erasure.Practitioner{
		{ID: "owner", Name: "Olive Owner", Email: "owner@example.com"},
		{ID: "prac-a", Name: "Ann A", Email: "a@example.com"},
		{ID: "prac-b", Name: "Ben B", Email: "b@example.com"},
		{ID: "prac-c", Name: "Cid C", Email: "c@example.com"},
	} {
		f.mem.AddPractitioner(practiceID, p)
	}
	f.mem.AddClient(erasure.Client{PracticeID: practiceID, ID: clientID, FirstName: "Ada", LastName: "Lovelace",
		PractitionerIDs: []string{"prac-b", "owner", "prac-a", "ghost"}, PortalUserID: "user-" + clientID})
	f.mem.AddClient(erasure.Client{PracticeID: practiceID, ID: otherID, FirstName: "Bob",
		PractitionerIDs: []string{"prac-a"}, PortalUserID: "user-" + otherID})
	return f
}

// recipients of c1's notices: the owner first, then by id, each once.
var c1Recipients = []string{"owner@example.com", "a@example.com", "b@example.com"}
var c1Practitioners = []string{"owner", "prac-a", "prac-b"}

func (f *fixture) setEnabled(t *testing.T, enabled bool) {
	t.Helper()
	if _, err := f.svc.PutSetting(context.Background(), ownerActor(t), enabled); err != nil {
		t.Fatalf("PutSetting: got error %v, want nil", err)
	}
}

func (f *fixture) request(t *testing.T, a identity.Actor) erasure.Request {
	t.Helper()
	r, _, err := f.svc.RequestDeletion(context.Background(), a)
	if err != nil {
		t.Fatalf("RequestDeletion: got error %v, want nil", err)
	}
	return r
}

func (f *fixture) stored(t *testing.T, id string) erasure.Request {
	t.Helper()
	r, err := f.mem.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRequest(%q): got error %v, want nil", id, err)
	}
	return r
}

func (f *fixture) notifications(kind string) []erasure.Notification {
	var ns []erasure.Notification
	for _, n := range f.mem.Notifications() {
		if n.Kind == kind {
			ns = append(ns, n)
		}
	}
	return ns
}

func mustActor(t *testing.T, sub, role, practice, client, team string) identity.Actor {
	t.Helper()
	a, err := identity.NewActor(sub, role, practice, client, team)
	if err != nil {
		t.Fatalf("NewActor: got error %v, want nil", err)
	}
	return a
}

func ownerActor(t *testing.T) identity.Actor {
	return mustActor(t, "owner", identity.RolePractitioner, practiceID, "", identity.TeamOwner)
}

func memberActor(t *testing.T) identity.Actor {
	return mustActor(t, "prac-a", identity.RolePractitioner, practiceID, "", identity.TeamMember)
}

func clientActor(t *testing.T, id string) identity.Actor {
	return mustActor(t, "user-"+id, identity.RoleClient, practiceID, id, "")
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := identity.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

func TestService_GetSetting(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		for _, a := range []identity.Actor{ownerActor(t), memberActor(t)} {
			st, err := f.svc.GetSetting(context.Background(), a)
			if err != nil {
				t.Fatalf("GetSetting(%s): got error %v, want nil", a.Subject, err)
			}
			if st.Enabled || st.UpdatedAt != nil || st.UpdatedBy != "" {
				t.Fatalf("GetSetting(%s): got %+v, want off and never updated", a.Subject, st)
			}
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.GetSetting(context.Background(), clientActor(t, clientID))
		wantCode(t, err, identity.EForbidden)
	})
}

func TestService_PutSetting(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		for _, enabled := range []bool{true, false, true} {
			f.clock.Advance(time.Minute)
			want := f.clock.Now()
			st, err := f.svc.PutSetting(ctx, ownerActor(t), enabled)
			if err != nil {
				t.Fatalf("PutSetting(%v): got error %v, want nil", enabled, err)
			}
			got, err := f.svc.GetSetting(ctx, memberActor(t))
			if err != nil {
				t.Fatalf("GetSetting: got error %v, want nil", err)
			}
			for _, s := range []erasure.Setting{st, got} {
				if s.Enabled != enabled {
					t.Errorf("Enabled: got %v, want %v", s.Enabled, enabled)
				}
				if s.PracticeID != practiceID {
					t.Errorf("PracticeID: got %q, want %q", s.PracticeID, practiceID)
				}
				if s.UpdatedBy != "owner" {
					t.Errorf("UpdatedBy: got %q, want %q", s.UpdatedBy, "owner")
				}
				if s.UpdatedAt == nil || !s.UpdatedAt.Equal(want) {
					t.Errorf("UpdatedAt: got %v, want %v", s.UpdatedAt, want)
				}
			}
		}
	})
	for _, tc := range []struct {
		name  string
		actor func(*testing.T) identity.Actor
	}{
		{"ErrForbidden/Member", memberActor},
		{"ErrForbidden/Client", func(t *testing.T) identity.Actor { return clientActor(t, clientID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.PutSetting(context.Background(), tc.actor(t), true)
			wantCode(t, err, identity.EForbidden)
			st, _ := f.mem.GetSetting(context.Background(), practiceID)
			if st.Enabled || st.UpdatedAt != nil {
				t.Fatalf("setting: got %+v, want unchanged (off, never updated)", st)
			}
		})
	}
}

func TestService_Portal(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			enabled bool
		}{{"Off", false}, {"On", true}} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t)
				f.setEnabled(t, tc.enabled)
				v, err := f.svc.Portal(ctx, clientActor(t, clientID))
				if err != nil {
					t.Fatalf("Portal: got error %v, want nil", err)
				}
				if v.Available != tc.enabled {
					t.Errorf("Available: got %v, want %v", v.Available, tc.enabled)
				}
				if v.Request != nil {
					t.Errorf("Request: got %+v, want nil", v.Request)
				}
			})
		}
	})
	t.Run("OK/RequestMade", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		r := f.request(t, clientActor(t, clientID))
		v, err := f.svc.Portal(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("Portal: got error %v, want nil", err)
		}
		if v.Request == nil || v.Request.ID != r.ID || v.Request.Status != erasure.StatusScheduled {
			t.Fatalf("Request: got %+v, want %s scheduled", v.Request, r.ID)
		}
		// The other client of the practice sees no request.
		v, err = f.svc.Portal(ctx, clientActor(t, otherID))
		if err != nil || v.Request != nil || !v.Available {
			t.Fatalf("Portal(c2): got %+v, %v, want available and no request", v, err)
		}
	})
	t.Run("ErrAccountClosed", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		r := f.request(t, clientActor(t, clientID))
		f.clock.Set(r.PurgeAt)
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatalf("Purge: got error %v, want nil", err)
		}
		_, err := f.svc.Portal(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.EAccountClosed)
		_, _, err = f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.EAccountClosed)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.Portal(ctx, ownerActor(t))
		wantCode(t, err, identity.EForbidden)
	})
}

func TestService_RequestDeletion(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		seedContent(f)
		f.setEnabled(t, true)
		r, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("RequestDeletion: got error %v, want nil", err)
		}
		if !created {
			t.Errorf("created: got false, want true")
		}
		if r.Status != erasure.StatusScheduled {
			t.Errorf("Status: got %q, want %q", r.Status, erasure.StatusScheduled)
		}
		if r.PracticeID != practiceID || r.ClientID != clientID || r.RequestedBy != "user-c1" {
			t.Errorf("owner: got %s/%s by %s, want %s/%s by user-c1", r.PracticeID, r.ClientID, r.RequestedBy, practiceID, clientID)
		}
		if !r.RequestedAt.Equal(t0) {
			t.Errorf("RequestedAt: got %v, want %v", r.RequestedAt, t0)
		}
		if want := t0.Add(erasure.DefaultPurgeDelay); !r.PurgeAt.Equal(want) {
			t.Errorf("PurgeAt: got %v, want %v", r.PurgeAt, want)
		}
		if r.WillDelete != wantScope {
			t.Errorf("WillDelete: got %+v, want %+v", r.WillDelete, wantScope)
		}
		if got := f.stored(t, r.ID); got.Status != erasure.StatusScheduled || len(got.Owed) != 0 || !sameTime(got.DeliveredAt(erasure.DeliveryPractitionersRequested), t0) {
			t.Errorf("stored: got status %q owing %v delivered %v, want scheduled, practitioners told at %v", got.Status, got.Owed, got.Delivered, t0)
		}

		// One schedule, named after the request, at its purge time.
		if got := len(f.sched.Schedules); got != 1 {
			t.Fatalf("schedules: got %d, want 1", got)
		}
		s, ok := f.sched.Schedules[erasure.ScheduleName(r.ID)]
		if !ok {
			t.Fatalf("schedule %q: got none, want one (have %v)", erasure.ScheduleName(r.ID), f.sched.Schedules)
		}
		if r.ScheduleName != s.Name || s.RequestID != r.ID || !s.At.Equal(r.PurgeAt) {
			t.Errorf("schedule: got %+v, want name %q, request %q, at %v", s, r.ScheduleName, r.ID, r.PurgeAt)
		}

		// One email to the owner and the assigned practitioners, each once.
		emails := f.mailer.Emails()
		if len(emails) != 1 {
			t.Fatalf("emails: got %d, want 1", len(emails))
		}
		if !slices.Equal(emails[0].To, c1Recipients) {
			t.Errorf("To: got %v, want %v", emails[0].To, c1Recipients)
		}
		if want := "Account deletion requested by Ada Lovelace"; emails[0].Subject != want {
			t.Errorf("Subject: got %q, want %q", emails[0].Subject, want)
		}

		// One in-portal notification per practitioner.
		ns := f.notifications(erasure.NoticeDeletionRequested)
		var got []string
		for _, n := range ns {
			got = append(got, n.PractitionerID)
			if n.RequestID != r.ID || n.ClientID != clientID || n.ClientName != "Ada Lovelace" ||
				!n.PurgeAt.Equal(r.PurgeAt) || n.Counts != wantScope || n.PracticeID != practiceID {
				t.Errorf("notification: got %+v, want request %s for Ada Lovelace with %+v", n, r.ID, wantScope)
			}
		}
		if !slices.Equal(got, c1Practitioners) {
			t.Errorf("notified: got %v, want %v", got, c1Practitioners)
		}
		if len(f.mem.Notifications()) != len(ns) {
			t.Errorf("notifications: got %d, want %d", len(f.mem.Notifications()), len(ns))
		}
	})

	t.Run("OK/Repeat", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		first := f.request(t, clientActor(t, clientID))
		f.clock.Advance(time.Hour)
		r, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("RequestDeletion: got error %v, want nil", err)
		}
		if created {
			t.Errorf("created: got true, want false")
		}
		if r.ID != first.ID || !r.PurgeAt.Equal(first.PurgeAt) || r.Status != erasure.StatusScheduled {
			t.Errorf("request: got %s at %v (%s), want %s at %v (scheduled)", r.ID, r.PurgeAt, r.Status, first.ID, first.PurgeAt)
		}
		if got := len(f.mem.Requests()); got != 1 {
			t.Errorf("requests: got %d, want 1", got)
		}
		if got := len(f.sched.Schedules); got != 1 {
			t.Errorf("schedules: got %d, want 1", got)
		}
		if got := f.sched.Calls; got != 1 {
			t.Errorf("scheduler calls: got %d, want 1", got)
		}
		if got := len(f.mailer.Emails()); got != 1 {
			t.Errorf("emails: got %d, want 1", got)
		}
		if got := len(f.mem.Notifications()); got != len(c1Practitioners) {
			t.Errorf("notifications: got %d, want %d", got, len(c1Practitioners))
		}
	})

	t.Run("OK/Concurrent", func(t *testing.T) {
		f := newFixture(t)
		seedContent(f)
		f.setEnabled(t, true)
		const n = 20
		type result struct {
			r       erasure.Request
			created bool
			err     error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				r, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
				results[i] = result{r, created, err}
			})
		}
		close(start)
		wg.Wait()

		rs := f.mem.Requests()
		if len(rs) != 1 {
			t.Fatalf("requests: got %d, want 1", len(rs))
		}
		createdCount := 0
		for i, res := range results {
			if res.err != nil {
				t.Errorf("call %d: got error %v, want nil", i, res.err)
				continue
			}
			if res.created {
				createdCount++
			}
			if res.r.ID != rs[0].ID || res.r.Status != erasure.StatusScheduled {
				t.Errorf("call %d: got %s (%s), want %s (scheduled)", i, res.r.ID, res.r.Status, rs[0].ID)
			}
		}
		if createdCount != 1 {
			t.Errorf("created: got %d calls, want 1", createdCount)
		}
		if got := len(f.sched.Schedules); got != 1 {
			t.Errorf("schedules: got %d, want 1", got)
		}
		if got := len(f.mailer.Emails()); got != 1 {
			t.Errorf("emails: got %d, want 1", got)
		}
		if got := len(f.mem.Notifications()); got != len(c1Practitioners) {
			t.Errorf("notifications: got %d, want %d", got, len(c1Practitioners))
		}
	})

	t.Run("OK/SettingOffAfterAcceptance", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		first := f.request(t, clientActor(t, clientID))
		f.setEnabled(t, false)
		r, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("RequestDeletion: got error %v, want nil", err)
		}
		if created || r.ID != first.ID || r.Status != erasure.StatusScheduled {
			t.Errorf("got %s (%s, created %v), want %s (scheduled, created false)", r.ID, r.Status, created, first.ID)
		}
		v, err := f.svc.Portal(ctx, clientActor(t, clientID))
		if err != nil || v.Available || v.Request == nil || v.Request.ID != first.ID {
			t.Errorf("Portal: got %+v, %v, want unavailable with request %s", v, err, first.ID)
		}
		if got := len(f.sched.Schedules); got != 1 {
			t.Errorf("schedules: got %d, want 1", got)
		}
		// Other clients may no longer ask.
		_, _, err = f.svc.RequestDeletion(ctx, clientActor(t, otherID))
		wantCode(t, err, identity.EDeletionDisabled)
	})

	t.Run("OK/MailerFailsOnce", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		f.mailer.FailNext = 1
		r, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("RequestDeletion: got error %v, want nil (the request is accepted)", err)
		}
		if !created || r.Status != erasure.StatusScheduled {
			t.Fatalf("got status %q created %v, want scheduled, created", r.Status, created)
		}
		if r.DeliveredAt(erasure.DeliveryPractitionersRequested) != nil {
			t.Errorf("Delivered: got %v, want the practitioners' delivery unmade", r.Delivered)
		}
		if got := f.stored(t, r.ID); !got.Owes(erasure.DeliveryPractitionersRequested) {
			t.Errorf("stored: owing %v, want the practitioners' delivery among them", got.Owed)
		}
		if got := len(f.mailer.Emails()); got != 0 {
			t.Errorf("emails: got %d, want 0", got)
		}
		if got := len(f.sched.Schedules); got != 1 {
			t.Errorf("schedules: got %d, want 1", got)
		}

		f.clock.Advance(time.Hour)
		if _, err := f.svc.Sweep(ctx); err != nil {
			t.Fatalf("Sweep: got error %v, want nil", err)
		}
		emails := f.mailer.Emails()
		if len(emails) != 1 {
			t.Fatalf("emails after sweep: got %d, want 1", len(emails))
		}
		if !slices.Equal(emails[0].To, c1Recipients) {
			t.Errorf("To: got %v, want %v", emails[0].To, c1Recipients)
		}
		got := f.stored(t, r.ID)
		if want := t0.Add(time.Hour); !sameTime(got.DeliveredAt(erasure.DeliveryPractitionersRequested), want) {
			t.Errorf("practitioners told: got %v, want %v", got.Delivered, want)
		}
		if got.Status != erasure.StatusScheduled {
			t.Errorf("Status: got %q, want %q (not due)", got.Status, erasure.StatusScheduled)
		}

		if _, err := f.svc.Sweep(ctx); err != nil {
			t.Fatalf("second Sweep: got error %v, want nil", err)
		}
		if got := len(f.mailer.Emails()); got != 1 {
			t.Errorf("emails after second sweep: got %d, want 1", got)
		}
		if got := len(f.mem.Notifications()); got != len(c1Practitioners) {
			t.Errorf("notifications: got %d, want %d", got, len(c1Practitioners))
		}
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		f.sched.FailNext = 1
		_, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.EUnavailable)
		if created {
			t.Errorf("created: got true, want false")
		}
		if rs := f.mem.Requests(); len(rs) != 0 {
			t.Fatalf("requests: got %+v, want none", rs)
		}
		if got := len(f.sched.Schedules); got != 0 {
			t.Errorf("schedules: got %d, want 0", got)
		}
		if got := len(f.mailer.Emails()); got != 0 {
			t.Errorf("emails: got %d, want 0", got)
		}
		if got := len(f.mem.Notifications()); got != 0 {
			t.Errorf("notifications: got %d, want 0", got)
		}
		v, err := f.svc.Portal(ctx, clientActor(t, clientID))
		if err != nil || v.Request != nil {
			t.Errorf("Portal: got %+v, %v, want no request", v, err)
		}

		// The retry starts afresh and succeeds.
		r, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("retry: got error %v, want nil", err)
		}
		if !created || r.Status != erasure.StatusScheduled {
			t.Errorf("retry: got status %q created %v, want scheduled, created", r.Status, created)
		}
		if rs := f.mem.Requests(); len(rs) != 1 || rs[0].ID != r.ID {
			t.Errorf("requests: got %+v, want only %s", rs, r.ID)
		}
		if _, ok := f.sched.Schedules[erasure.ScheduleName(r.ID)]; !ok || len(f.sched.Schedules) != 1 {
			t.Errorf("schedules: got %v, want only %s", f.sched.Schedules, erasure.ScheduleName(r.ID))
		}
		if got := len(f.mailer.Emails()); got != 1 {
			t.Errorf("emails: got %d, want 1", got)
		}
	})

	t.Run("ErrDeletionDisabled", func(t *testing.T) {
		f := newFixture(t)
		_, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.EDeletionDisabled)
		if created {
			t.Errorf("created: got true, want false")
		}
		if rs := f.mem.Requests(); len(rs) != 0 {
			t.Errorf("requests: got %d, want 0", len(rs))
		}
		if f.sched.Calls != 0 || len(f.mailer.Emails()) != 0 {
			t.Errorf("side effects: got %d schedule calls and %d emails, want none", f.sched.Calls, len(f.mailer.Emails()))
		}
	})

	t.Run("ErrForbidden", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			actor func(*testing.T) identity.Actor
		}{
			{"Owner", ownerActor},
			{"Member", memberActor},
			// A valid token for a client the directory does not know.
			{"UnknownClient", func(t *testing.T) identity.Actor { return clientActor(t, "c404") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t)
				f.setEnabled(t, true)
				_, _, err := f.svc.RequestDeletion(ctx, tc.actor(t))
				wantCode(t, err, identity.EForbidden)
				if rs := f.mem.Requests(); len(rs) != 0 {
					t.Errorf("requests: got %d, want 0", len(rs))
				}
			})
		}
	})
}

// A token's claims are inputs: only the practice's records make a caller a
// practitioner, the owner, or a client. Each forged caller is refused and
// changes nothing: no request, schedule, notification, email or setting.
func TestService_Directory(t *testing.T) {
	ctx := context.Background()
	forged := []struct {
		name string
		call func(f *fixture, t *testing.T) error
	}{
		// Another client's id with the caller's own sub.
		{"Client/AnotherClientsID/Portal", func(f *fixture, t *testing.T) error {
			_, err := f.svc.Portal(ctx, mustActor(t, "user-"+otherID, identity.RoleClient, practiceID, clientID, ""))
			return err
		}},
		{"Client/AnotherClientsID/Request", func(f *fixture, t *testing.T) error {
			_, _, err := f.svc.RequestDeletion(ctx, mustActor(t, "user-"+otherID, identity.RoleClient, practiceID, clientID, ""))
			return err
		}},
		{"Client/AnotherClientsID/Cancel", func(f *fixture, t *testing.T) error {
			_, err := f.svc.CancelDeletion(ctx, mustActor(t, "user-"+otherID, identity.RoleClient, practiceID, clientID, ""))
			return err
		}},
		// A profile that names no portal user.
		{"Client/NoPortalUser", func(f *fixture, t *testing.T) error {
			f.mem.AddClient(erasure.Client{PracticeID: practiceID, ID: "c-nouser", FirstName: "No"})
			_, _, err := f.svc.RequestDeletion(ctx, mustActor(t, "user-c-nouser", identity.RoleClient, practiceID, "c-nouser", ""))
			return err
		}},
		// The right sub with another practice's id.
		{"Client/AnotherPractice", func(f *fixture, t *testing.T) error {
			_, _, err := f.svc.RequestDeletion(ctx, mustActor(t, "user-"+clientID, identity.RoleClient, "p-other", clientID, ""))
			return err
		}},
		{"Member/ClaimsOwner", func(f *fixture, t *testing.T) error {
			_, err := f.svc.PutSetting(ctx, mustActor(t, "prac-a", identity.RolePractitioner, practiceID, "", identity.TeamOwner), false)
			return err
		}},
		{"Practitioner/NotInPractice/Setting", func(f *fixture, t *testing.T) error {
			_, err := f.svc.GetSetting(ctx, mustActor(t, "prac-ghost", identity.RolePractitioner, practiceID, "", identity.TeamMember))
			return err
		}},
		{"Practitioner/NotInPractice/Requests", func(f *fixture, t *testing.T) error {
			_, _, err := f.svc.ListDeletionRequests(ctx, mustActor(t, "prac-ghost", identity.RolePractitioner, practiceID, "", identity.TeamMember), "", 0, "")
			return err
		}},
		{"Practitioner/NotInPractice/Notifications", func(f *fixture, t *testing.T) error {
			_, _, err := f.svc.ListNotifications(ctx, mustActor(t, "prac-ghost", identity.RolePractitioner, practiceID, "", identity.TeamMember), 0, "")
			return err
		}},
		{"Practitioner/Removed/Request", func(f *fixture, t *testing.T) error {
			f.mem.RemovePractitioner(practiceID, "prac-a")
			_, err := f.svc.GetDeletionRequest(ctx, memberActor(t), "req-001")
			return err
		}},
		{"Practitioner/Removed/MarkRead", func(f *fixture, t *testing.T) error {
			f.mem.RemovePractitioner(practiceID, "prac-a")
			_, err := f.svc.MarkNotificationRead(ctx, memberActor(t), "req-001-requested")
			return err
		}},
		{"Owner/Removed", func(f *fixture, t *testing.T) error {
			f.mem.RemovePractitioner(practiceID, "owner")
			_, err := f.svc.PutSetting(ctx, ownerActor(t), false)
			return err
		}},
		{"Owner/AnotherPractice", func(f *fixture, t *testing.T) error {
			_, err := f.svc.PutSetting(ctx, mustActor(t, "owner", identity.RolePractitioner, "p-other", "", identity.TeamOwner), true)
			return err
		}},
	}
	for _, tc := range forged {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.setEnabled(t, true)
			// A pending request of c1 for the forged cancels to aim at.
			f.request(t, clientActor(t, clientID))
			f.mem.AddPractice(erasure.Practice{ID: "p-other", Name: "Other", OwnerID: "x"})
			before := f.mem.Requests()
			notices, mails, schedules := len(f.mem.Notifications()), len(f.mailer.Emails()), len(f.sched.Schedules)
			st, _ := f.mem.GetSetting(ctx, practiceID)
			err := tc.call(f, t)
			wantCode(t, err, identity.EForbidden)
			if got := f.mem.Requests(); !reflect.DeepEqual(got, before) {
				t.Errorf("requests changed: got %+v, want %+v", got, before)
			}
			if len(f.mem.Notifications()) != notices || len(f.mailer.Emails()) != mails || len(f.sched.Schedules) != schedules {
				t.Errorf("notices, emails or schedules changed")
			}
			if got, _ := f.mem.GetSetting(ctx, practiceID); !reflect.DeepEqual(got, st) {
				t.Errorf("setting changed: got %+v, want %+v", got, st)
			}
			if got, _ := f.mem.GetSetting(ctx, "p-other"); got.UpdatedAt != nil {
				t.Errorf("another practice's setting was written: %+v", got)
			}
		})
	}
	// The honest callers still work.
	f := newFixture(t)
	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	if _, err := f.svc.GetDeletionRequest(ctx, memberActor(t), r.ID); err != nil {
		t.Errorf("member reads the request: %v", err)
	}
	if _, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID)); err != nil {
		t.Errorf("client cancels: %v", err)
	}
}

// sameTime reports whether p is set to t.
func sameTime(p *time.Time, t time.Time) bool { return p != nil && p.Equal(t) }
