package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/metrics"
	"github.com/wellness-rtbf/rtbf/internal/metrics/metricstest"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// t0 is when the request is made; the purge is due 30 days later.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// requestID is the id of the seeded request: the one events/purge-scheduled.json names.
const requestID = "0123456789abcdef0123456789abcdef"

var clientActor = identity.Actor{Subject: "cl-ava-sub", Role: identity.RoleClient, PracticeID: "prac-demo", ClientID: "cl-ava"}

// scope is what cl-ava's purge deletes.
var scope = erasure.Counts{JournalEntries: 2, Documents: 1, ChatSessions: 1, ChatMessages: 2}

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

// fixture is the purge handler wired as main.go wires it (no scheduler),
// over the demo practice whose client cl-ava has asked for deletion.
type fixture struct {
	mem     *porttest.Memory
	objects *porttest.Objects
	mailer  *porttest.Mailer
	clock   *clock
	h       *Handler
	metrics bytes.Buffer // the handler's metric lines

	// What is kept: the practitioners' content, and a note.
	keep        []erasure.ItemKey
	keepObjects []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		mem:     porttest.NewMemory(),
		objects: porttest.NewObjects("practices/prac-demo/clients/cl-ava/uploads/d1.pdf", "practices/prac-demo/clients/cl-ava/uploads/d1-preview.png", "practices/prac-demo/clients/cl-ava/shared/d2.pdf"),
		mailer:  &porttest.Mailer{},
		clock:   &clock{t: t0},
	}
	log := slog.New(slog.DiscardHandler)
	m := f.mem
	m.AddPractice(erasure.Practice{ID: "prac-demo", Name: "Demo Practice", OwnerID: "pr-owner"})
	m.AddPractitioner("prac-demo", erasure.Practitioner{ID: "pr-owner", Name: "Olive Owner", Email: "owner@example.com"})
	m.AddPractitioner("prac-demo", erasure.Practitioner{ID: "pr-member", Name: "Max Member", Email: "member@example.com"})
	m.AddClient(erasure.Client{PracticeID: "prac-demo", ID: "cl-ava", FirstName: "Ava", LastName: "Demo", PractitionerIDs: []string{"pr-member"}, PortalUserID: "cl-ava-sub"})
	client := erasure.Author{Role: identity.RoleClient, ID: "cl-ava"}
	prac := erasure.Author{Role: identity.RolePractitioner, ID: "pr-member"}
	m.AddJournal("prac-demo", "cl-ava", "j1", client)
	m.AddJournal("prac-demo", "cl-ava", "j2", client)
	f.keep = append(f.keep, m.AddJournal("prac-demo", "cl-ava", "j3", prac))
	m.AddDocument("prac-demo", "cl-ava", "d1", client, "practices/prac-demo/clients/cl-ava/uploads/d1.pdf", "practices/prac-demo/clients/cl-ava/uploads/d1-preview.png")
	f.keep = append(f.keep, m.AddDocument("prac-demo", "cl-ava", "d2", prac, "practices/prac-demo/clients/cl-ava/shared/d2.pdf"))
	m.AddChat("prac-demo", "s1", "cl-ava")
	m.AddMessage("prac-demo", "s1", "m1", client)
	m.AddMessage("prac-demo", "s1", "m2", prac)
	f.keep = append(f.keep, m.AddOther("PRACTICE#prac-demo#CLIENT#cl-ava", "NOTE#n1"))
	slices.SortFunc(f.keep, func(a, b erasure.ItemKey) int { return strings.Compare(a.PK+"\x00"+a.SK, b.PK+"\x00"+b.SK) })
	f.keepObjects = []string{"practices/prac-demo/clients/cl-ava/shared/d2.pdf"}

	// The request is made as the deletionrequest function makes it.
	opts := erasure.Options{Now: f.clock.Now, NewID: func() string { return requestID }, Log: log}
	sched := porttest.NewScheduler()
	ctx := context.Background()
	owner := identity.Actor{Subject: "pr-owner", Role: identity.RolePractitioner, PracticeID: "prac-demo", TeamRole: identity.TeamOwner}
	if _, err := erasure.NewSettings(m, m, opts).PutSetting(ctx, owner, true); err != nil {
		t.Fatalf("PutSetting: got error %v, want nil", err)
	}
	if _, created, err := erasure.NewClientRequests(m, m, m, m, m, sched, f.mailer, 0, opts).RequestDeletion(ctx, clientActor); err != nil || !created {
		t.Fatalf("RequestDeletion: got created %v and error %v, want true and nil", created, err)
	}

	f.h = &Handler{
		svc: erasure.NewPurger(m, m, m, m, f.objects, sched, f.mailer, porttest.NewLedger(),
			erasure.PurgeConfig{SweepGrace: time.Hour}, erasure.Options{Now: f.clock.Now, Log: log}),
		log:     log,
		metrics: metrics.New(&f.metrics, "test-stack"),
		now:     f.clock.Now,
	}
	return f
}

func (f *fixture) request(t *testing.T) erasure.Request {
	t.Helper()
	r, err := f.mem.GetRequest(context.Background(), requestID)
	if err != nil {
		t.Fatalf("GetRequest: got error %v, want nil", err)
	}
	return r
}

// state is everything an invocation might change.
type state struct {
	Keys          []erasure.ItemKey
	Objects       []string
	Requests      []erasure.Request
	Notifications int
	Emails        int
	Closed        bool
}

func (f *fixture) state(t *testing.T) state {
	t.Helper()
	closed, err := f.mem.PortalClosed(context.Background(), "prac-demo", "cl-ava")
	if err != nil {
		t.Fatalf("PortalClosed: got error %v, want nil", err)
	}
	return state{
		Keys:          f.mem.Keys(),
		Objects:       f.objects.Keys(),
		Requests:      f.mem.Requests(),
		Notifications: len(f.mem.Notifications()),
		Emails:        len(f.mailer.Emails()),
		Closed:        closed,
	}
}

// checkPurged: exactly the client's content is gone, the portal is closed,
// the practitioners are told, and the request is complete.
func (f *fixture) checkPurged(t *testing.T) {
	t.Helper()
	if got := f.mem.Keys(); !reflect.DeepEqual(got, f.keep) {
		t.Errorf("content: got %v, want %v", got, f.keep)
	}
	if got := f.objects.Keys(); !reflect.DeepEqual(got, f.keepObjects) {
		t.Errorf("objects: got %v, want %v", got, f.keepObjects)
	}
	r := f.request(t)
	if r.Status != erasure.StatusCompleted || r.Deleted != scope {
		t.Errorf("request: got status %q and deleted %+v, want %q and %+v", r.Status, r.Deleted, erasure.StatusCompleted, scope)
	}
	if s := f.state(t); !s.Closed {
		t.Errorf("portal closed: got false, want true")
	}
	var completed int
	for _, n := range f.mem.Notifications() {
		if n.Kind == erasure.NoticeDeletionCompleted && n.RequestID == requestID {
			completed++
		}
	}
	if completed != 2 {
		t.Errorf("completion notifications: got %d, want 2 (owner and member)", completed)
	}
}

func (f *fixture) handle(t *testing.T, raw string) (Result, error) {
	t.Helper()
	return f.h.Handle(context.Background(), json.RawMessage(raw))
}

func TestHandler_Handle(t *testing.T) {
	t.Run("OK/Scheduled", func(t *testing.T) {
		f := newFixture(t)
		f.clock.Set(f.request(t).PurgeAt)
		res, err := f.handle(t, `{"requestId":"`+requestID+`"}`)
		if err != nil {
			t.Fatalf("Handle: got error %v, want nil", err)
		}
		want := Result{RequestID: requestID, Status: erasure.StatusCompleted, Deleted: &scope}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("result: got %+v, want %+v", res, want)
		}
		b, _ := json.Marshal(res)
		if got, want := string(b), `{"requestId":"`+requestID+`","status":"completed","deleted":{"journalEntries":2,"documents":1,"chatSessions":1,"chatMessages":2}}`; got != want {
			t.Errorf("result JSON: got %s, want %s", got, want)
		}
		f.checkPurged(t)

		// A second delivery of the same schedule changes nothing.
		before := f.state(t)
		res, err = f.handle(t, `{"requestId":"`+requestID+`"}`)
		if err != nil {
			t.Fatalf("repeat: got error %v, want nil", err)
		}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("repeat result: got %+v, want %+v", res, want)
		}
		if after := f.state(t); !reflect.DeepEqual(after, before) {
			t.Errorf("repeat: got state %+v, want unchanged %+v", after, before)
		}
	})

	t.Run("OK/Sweep", func(t *testing.T) {
		f := newFixture(t)
		// Before the purge is due, the sweep purges nothing.
		before := f.state(t)
		res, err := f.handle(t, `{"sweep":true}`)
		if err != nil || !reflect.DeepEqual(res, Result{Swept: true}) {
			t.Fatalf("Handle: got %+v and error %v, want %+v and nil", res, err, Result{Swept: true})
		}
		if after := f.state(t); !reflect.DeepEqual(after, before) {
			t.Errorf("state: got %+v, want unchanged %+v", after, before)
		}
		// Past the purge time and the grace, it purges the request itself.
		f.clock.Set(f.request(t).PurgeAt.Add(time.Hour + time.Minute))
		res, err = f.handle(t, `{"sweep":true}`)
		if err != nil || !reflect.DeepEqual(res, Result{Swept: true}) {
			t.Fatalf("Handle: got %+v and error %v, want %+v and nil", res, err, Result{Swept: true})
		}
		f.checkPurged(t)
	})

	t.Run("OK/UnknownRequest", func(t *testing.T) {
		// The schedule of a request rolled back: nothing to do, no retry.
		f := newFixture(t)
		before := f.state(t)
		res, err := f.handle(t, `{"requestId":"fedcba9876543210fedcba9876543210"}`)
		if err != nil {
			t.Fatalf("Handle: got error %v, want nil", err)
		}
		if want := (Result{RequestID: "fedcba9876543210fedcba9876543210"}); !reflect.DeepEqual(res, want) {
			t.Errorf("result: got %+v, want %+v", res, want)
		}
		if after := f.state(t); !reflect.DeepEqual(after, before) {
			t.Errorf("state: got %+v, want unchanged %+v", after, before)
		}
	})

	t.Run("ErrTransient", func(t *testing.T) {
		// A failure the invoker should retry is returned as an error; the
		// retry finishes the purge.
		f := newFixture(t)
		f.clock.Set(f.request(t).PurgeAt)
		f.objects.Fail = errors.New("s3: service unavailable")
		if _, err := f.handle(t, `{"requestId":"`+requestID+`"}`); err == nil {
			t.Fatal("Handle: got nil error, want one so that Lambda retries")
		}
		if r := f.request(t); r.Status == erasure.StatusCompleted {
			t.Errorf("status: got %q, want the request still pending", r.Status)
		}
		f.objects.Fail = nil
		if _, err := f.handle(t, `{"requestId":"`+requestID+`"}`); err != nil {
			t.Fatalf("retry: got error %v, want nil", err)
		}
		f.checkPurged(t)
	})

	t.Run("ErrTransient/Sweep", func(t *testing.T) {
		f := newFixture(t)
		f.clock.Set(f.request(t).PurgeAt.Add(2 * time.Hour))
		f.objects.Fail = errors.New("s3: service unavailable")
		if _, err := f.handle(t, `{"sweep":true}`); err == nil {
			t.Fatal("Handle: got nil error, want one so that Lambda retries")
		}
	})
}

// TestHandler_Handle_Ignored: an event that names no valid request is
// dropped (no error: retrying would not improve it) and changes nothing.
func TestHandler_Handle_Ignored(t *testing.T) {
	for _, tt := range []struct{ name, raw string }{
		{"Malformed", `{"requestId":`},
		{"Empty", ``},
		{"Null", `null`},
		{"EmptyObject", `{}`},
		{"Array", `["` + requestID + `"]`},
		{"String", `"` + requestID + `"`},
		{"WrongType", `{"requestId":123}`},
		{"SweepWrongType", `{"sweep":"true"}`},
		{"SweepFalse", `{"sweep":false}`},
		{"EmptyID", `{"requestId":""}`},
		{"IDWithSeparator", `{"requestId":"` + requestID + `#CLIENT#cl-ava"}`},
		{"IDOnlySeparator", `{"requestId":"#"}`},
		{"IDWithSlash", `{"requestId":"../` + requestID + `"}`},
		{"IDTooLong", `{"requestId":"` + strings.Repeat("a", 129) + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.clock.Set(f.request(t).PurgeAt.Add(2 * time.Hour))
			before := f.state(t)
			res, err := f.handle(t, tt.raw)
			if err != nil {
				t.Errorf("Handle: got error %v, want nil", err)
			}
			if res != (Result{}) {
				t.Errorf("result: got %+v, want none", res)
			}
			if after := f.state(t); !reflect.DeepEqual(after, before) {
				t.Errorf("state: got %+v, want unchanged %+v", after, before)
			}
			if f.metrics.Len() != 0 {
				t.Errorf("metrics: got %q, want none", f.metrics.String())
			}
		})
	}
}

// lines reads back the metric lines the handler wrote since the last call.
func (f *fixture) lines(t *testing.T) []metricstest.Line {
	t.Helper()
	lines := metricstest.Lines(t, f.metrics.Bytes())
	f.metrics.Reset()
	for _, l := range lines {
		if l.Namespace != metrics.Namespace || l.Dimensions[metrics.Dimension] != "test-stack" || len(l.Dimensions) != 1 {
			t.Errorf("line: got namespace %q and dimensions %v, want %q and the stack", l.Namespace, l.Dimensions, metrics.Namespace)
		}
	}
	return lines
}

// wantLine checks a line's time and values (each metric the line declares,
// no other).
func wantLine(t *testing.T, what string, l metricstest.Line, at time.Time, values map[string]float64) {
	t.Helper()
	if !l.Timestamp.Equal(at) {
		t.Errorf("%s: got a line at %v, want %v", what, l.Timestamp, at)
	}
	if !reflect.DeepEqual(l.Values, values) {
		t.Errorf("%s: got %v, want %v", what, l.Values, values)
	}
}

// TestHandler_Metrics: a purge reports its figures once, by the invocation
// that completes it; a sweep reports what it counted, stamped when it
// looked, even when part of it failed, and the purges it completed.
func TestHandler_Metrics(t *testing.T) {
	purged := func(items, objects, seconds float64) map[string]float64 {
		return map[string]float64{
			metrics.RequestsPurged.Name: 1, metrics.ItemsDeleted.Name: items,
			metrics.ObjectsDeleted.Name: objects, metrics.PurgeDuration.Name: seconds,
		}
	}
	const objects = 2 // cl-ava's d1: the file and its preview
	swept := func(overdue, attention, owed float64) map[string]float64 {
		return map[string]float64{
			metrics.OverdueRequests.Name: overdue, metrics.NeedsAttention.Name: attention, metrics.EmailsOwed.Name: owed,
		}
	}
	items := float64(scope.JournalEntries + scope.Documents + scope.ChatSessions + scope.ChatMessages)

	t.Run("Purge", func(t *testing.T) {
		f := newFixture(t)
		at := f.request(t).PurgeAt
		f.clock.Set(at)
		if _, err := f.handle(t, `{"requestId":"`+requestID+`"}`); err != nil {
			t.Fatal(err)
		}
		lines := f.lines(t)
		if len(lines) != 1 {
			t.Fatalf("lines: got %d, want 1", len(lines))
		}
		wantLine(t, "purge", lines[0], at, purged(items, objects, 0))
		// A second delivery finds it done: nothing more.
		f.clock.Set(at.Add(time.Minute))
		if _, err := f.handle(t, `{"requestId":"`+requestID+`"}`); err != nil {
			t.Fatal(err)
		}
		if lines := f.lines(t); len(lines) != 0 {
			t.Errorf("repeat: got %+v, want no line", lines)
		}
	})

	t.Run("Purge/Duration", func(t *testing.T) {
		// The first invocation fails part way; its retry, 90 seconds on,
		// completes the purge: the duration runs from the first start.
		f := newFixture(t)
		at := f.request(t).PurgeAt
		f.clock.Set(at)
		f.objects.Fail = errors.New("s3: service unavailable")
		if _, err := f.handle(t, `{"requestId":"`+requestID+`"}`); err == nil {
			t.Fatal("Handle: got nil error, want one")
		}
		if lines := f.lines(t); len(lines) != 0 {
			t.Errorf("failed purge: got %+v, want no line", lines)
		}
		f.objects.Fail = nil
		f.clock.Set(at.Add(90 * time.Second))
		if _, err := f.handle(t, `{"requestId":"`+requestID+`"}`); err != nil {
			t.Fatal(err)
		}
		lines := f.lines(t)
		if len(lines) != 1 {
			t.Fatalf("lines: got %d, want 1", len(lines))
		}
		wantLine(t, "retry", lines[0], at.Add(90*time.Second), purged(items, objects, 90))
	})

	t.Run("Sweep", func(t *testing.T) {
		f := newFixture(t)
		due := f.request(t).PurgeAt
		// Nothing overdue yet.
		if _, err := f.handle(t, `{"sweep":true}`); err != nil {
			t.Fatal(err)
		}
		lines := f.lines(t)
		if len(lines) != 1 {
			t.Fatalf("lines: got %d, want 1", len(lines))
		}
		wantLine(t, "sweep", lines[0], t0, swept(0, 0, 0))
		// An hour past its purge time: overdue, and the sweep purges it.
		at := due.Add(time.Hour + time.Minute)
		f.clock.Set(at)
		if _, err := f.handle(t, `{"sweep":true}`); err != nil {
			t.Fatal(err)
		}
		lines = f.lines(t)
		if len(lines) != 2 {
			t.Fatalf("lines: got %d, want 2 (the sweep's, the purge's)", len(lines))
		}
		wantLine(t, "overdue sweep", lines[0], at, swept(1, 0, 0))
		wantLine(t, "sweep's purge", lines[1], at, purged(items, objects, 0))
	})

	t.Run("Sweep/Fails", func(t *testing.T) {
		// The purge of the overdue request fails: the sweep still reports
		// it, and the invocation fails so that Lambda retries it.
		f := newFixture(t)
		at := f.request(t).PurgeAt.Add(2 * time.Hour)
		f.clock.Set(at)
		f.objects.Fail = errors.New("s3: service unavailable")
		if _, err := f.handle(t, `{"sweep":true}`); err == nil {
			t.Fatal("Handle: got nil error, want one")
		}
		lines := f.lines(t)
		if len(lines) != 1 {
			t.Fatalf("lines: got %d, want 1", len(lines))
		}
		wantLine(t, "failed sweep", lines[0], at, swept(1, 0, 0))
	})
}
