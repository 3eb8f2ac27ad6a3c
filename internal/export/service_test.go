package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

const practice = "prac-1"

var (
	t0     = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	ava    = export.Author{Role: identity.RoleClient, ID: "cl-ava"}
	ben    = export.Author{Role: identity.RoleClient, ID: "cl-ben"}
	member = export.Author{Role: identity.RolePractitioner, ID: "pr-member"}
)

const hostile = `<script>alert("pwned")</script> & 'quotes'`

func actor(t *testing.T, sub, role, practiceID, clientID, team string) identity.Actor {
	t.Helper()
	a, err := identity.NewActor(sub, role, practiceID, clientID, team)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type fixture struct {
	mem   *porttest.ExportMemory
	files *porttest.ExportFiles
	arch  *porttest.ExportArchives
	sched *porttest.ExportScheduler
	svc   *services
	now   time.Time
	// What ava's archive must hold.
	journal  []export.JournalEntry
	sessions []export.ChatSession
	messages map[string][]export.ChatMessage
	docs     map[string][]byte // archive path -> content
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		mem: porttest.NewExportMemory(), files: porttest.NewExportFiles(), arch: porttest.NewExportArchives(),
		sched: porttest.NewExportScheduler(), now: time.Date(2026, 11, 28, 12, 0, 30, 0, time.UTC),
		messages: map[string][]export.ChatMessage{}, docs: map[string][]byte{},
	}
	f.arch.MinPartSize = 1 << 10
	n := 0
	f.svc = &services{
		Access: f.mem, Roster: f.mem, Records: f.mem, Scheduler: f.sched, Content: f.mem, Files: f.files, Archives: f.arch,
		PartSize: 1 << 10, TempDir: t.TempDir(),
		Now:   func() time.Time { return f.now },
		NewID: func() string { n++; return fmt.Sprintf("ex-%d", n) },
		Log:   slog.New(slog.DiscardHandler),
	}
	m := f.mem
	m.AddPractitioner(practice, "pr-owner", true)
	m.AddPractitioner(practice, "pr-member", false)
	m.AddPractitioner("prac-other", "pr-x", true)
	m.AddClient(practice, "cl-ava")
	m.AddClient(practice, "cl-ben")
	m.AddClient("prac-other", "cl-zed")
	for i, e := range []export.JournalEntry{
		{ID: "j0", Author: ava, CreatedAt: t0, Title: "Monday", Body: "Slept well.\nWalked 5 km."},
		{ID: "j1", Author: ava, CreatedAt: t0.Add(24 * time.Hour), Title: hostile, Body: hostile},
		{ID: "j2", Author: member, CreatedAt: t0.Add(48 * time.Hour), Title: "Practitioner's note to Ava", Body: "Keep going."},
		{ID: "j3", Author: ava, CreatedAt: t0.Add(72 * time.Hour), Title: "Émotions 😊", Body: strings.Repeat("long entry ", 300)},
	} {
		_ = i
		m.AddJournalEntry(practice, "cl-ava", e)
		f.journal = append(f.journal, e)
	}
	m.AddJournalEntry(practice, "cl-ben", export.JournalEntry{ID: "jb", Author: ben, CreatedAt: t0, Title: "Ben's", Body: "BEN-PRIVATE"})
	m.AddNote(practice, "cl-ava", "n1")

	doc := func(id string, a export.Author, name, folder, archiveName string, content []byte, keys ...string) {
		m.AddDocument(practice, "cl-ava", export.Document{ID: id, Author: a, CreatedAt: t0, Title: "t " + id, FileName: name, ObjectKeys: keys})
		if content != nil {
			f.files.Put(keys[0], content)
			for _, k := range keys[1:] {
				f.files.Put(k, []byte("preview of "+k))
			}
		}
		if folder != "" {
			f.docs[folder+"/"+archiveName] = content
		}
	}
	// 64 KiB that does not compress (as a PDF or a photo), so the archive
	// takes many parts.
	big := make([]byte, 64<<10)
	_, _ = mathrand.NewChaCha8([32]byte{1}).Read(big)
	doc("d1", ava, "results.pdf", "documents/uploaded", "results.pdf", []byte("%PDF results"), "practices/prac-1/clients/cl-ava/u/d1.pdf", "practices/prac-1/clients/cl-ava/u/d1-preview.png")
	doc("d2", ava, "results.pdf", "documents/uploaded", "results (2).pdf", big, "practices/prac-1/clients/cl-ava/u/d2.pdf")
	doc("d3", ava, "../../etc/passwd", "documents/uploaded", ".._.._etc_passwd", []byte("not a password"), "practices/prac-1/clients/cl-ava/u/d3")
	doc("d4", ava, "", "documents/uploaded", "scan-0001.jpg", []byte("jpeg"), "practices/prac-1/clients/cl-ava/u/scan-0001.jpg")
	doc("d5", member, "Results.PDF", "documents/shared", "Results.PDF", []byte("%PDF plan"), "practices/prac-1/clients/cl-ava/s/d5.pdf")
	doc("d6", member, "plan\x00.pdf", "documents/shared", "plan.pdf", []byte("%PDF plan 2"), "practices/prac-1/clients/cl-ava/s/d6.pdf")
	doc("d7", ava, "gone.pdf", "", "", nil, "practices/prac-1/clients/cl-ava/u/missing.pdf") // its file is missing
	doc("d8", ben, "bens.pdf", "", "", []byte("BEN-PRIVATE"), "practices/prac-1/clients/cl-ben/u/bens.pdf")
	// Documents of ava's file whose file is outside her folder: another
	// client's, another practice's, a prefix sibling's. Left out, whoever
	// wrote them.
	doc("dx1", ava, "bens.pdf", "", "", []byte("BEN-PRIVATE 2"), "practices/prac-1/clients/cl-ben/u/bens-2.pdf")
	doc("dx2", member, "zed.pdf", "", "", []byte("ZED-PRIVATE"), "practices/prac-other/clients/cl-zed/s/zed.pdf")
	doc("dx3", ava, "ava2.pdf", "", "", []byte("AVA2-PRIVATE"), "practices/prac-1/clients/cl-ava2/u/ava2.pdf")

	direct := export.ChatSession{ID: "s-direct", Title: "Ava and her practitioner", ClientIDs: []string{"cl-ava"}, PractitionerIDs: []string{"pr-member"}, CreatedAt: t0}
	group := export.ChatSession{ID: "s-group", Title: "", ClientIDs: []string{"cl-ava", "cl-ben"}, PractitionerIDs: []string{"pr-member"}, CreatedAt: t0}
	bens := export.ChatSession{ID: "s-ben", Title: "Ben only", ClientIDs: []string{"cl-ben"}, PractitionerIDs: []string{"pr-member"}, CreatedAt: t0}
	for _, s := range []export.ChatSession{direct, group, bens} {
		m.AddChatSession(practice, s)
	}
	f.sessions = []export.ChatSession{direct, group}
	add := func(s string, a export.Author, i int, body string) {
		msg := export.ChatMessage{ID: fmt.Sprintf("%s-m%d", s, i), Author: a, CreatedAt: t0.Add(time.Duration(i) * time.Minute), Body: body}
		m.AddChatMessage(practice, s, msg)
		f.messages[s] = append(f.messages[s], msg)
	}
	for i, a := range []export.Author{ava, member, ava, member, ava} {
		add("s-direct", a, i, fmt.Sprintf("direct message %d %s", i, hostile))
	}
	add("s-group", ava, 0, "hello group")
	add("s-group", ben, 1, "hi from ben")
	add("s-group", member, 2, "welcome")
	add("s-ben", ben, 0, "BEN-PRIVATE")
	return f
}

func TestRequest(t *testing.T) {
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	memberActor := actor(t, "pr-member", identity.RolePractitioner, practice, "", identity.TeamMember)
	client := actor(t, "cl-ava", identity.RoleClient, practice, "cl-ava", "")
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		for i, a := range []identity.Actor{owner, memberActor} {
			client := []string{"cl-ava", "cl-ben"}[i]
			e, created, err := f.svc.Request(ctx, a, client)
			if err != nil || !created {
				t.Fatalf("got created %v, %v; want a new export", created, err)
			}
			if e.Status != export.StatusPending || e.ClientID != client || e.PracticeID != practice || e.RequestedBy != a.Subject || !e.RequestedAt.Equal(f.now) {
				t.Errorf("got %+v", e)
			}
			sc, ok := f.sched.Schedules[export.ScheduleName(e.ID)]
			if want := time.Date(2026, 11, 28, 12, 1, 0, 0, time.UTC); !ok || sc.ExportID != e.ID || !sc.At.Equal(want) {
				t.Errorf("schedule: got %+v, want one at %v for %s", sc, want, e.ID)
			}
			if got, err := f.mem.GetExport(ctx, e.ID); err != nil || got.Status != export.StatusPending {
				t.Errorf("record: got %+v, %v", got, err)
			}
		}
	})
	for _, tc := range []struct {
		name     string
		a        identity.Actor
		clientID string
		code     string
	}{
		{"ErrForbidden/Client", client, "cl-ava", identity.EForbidden},
		{"ErrInvalid/ClientID", owner, "cl#ava", identity.EInvalid},
		{"ErrInvalid/Empty", owner, "", identity.EInvalid},
		{"ErrNotFound/Unknown", owner, "cl-nobody", identity.ENotFound},
		{"ErrNotFound/AnotherPractice", owner, "cl-zed", identity.ENotFound},
		{"ErrForbidden/NotInDirectory", actor(t, "pr-ghost", identity.RolePractitioner, practice, "", identity.TeamMember), "cl-ava", identity.EForbidden},
		{"ErrForbidden/RealSubOtherPractice", actor(t, "pr-owner", identity.RolePractitioner, "prac-other", "", identity.TeamOwner), "cl-zed", identity.EForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, _, err := f.svc.Request(ctx, tc.a, tc.clientID)
			if got := identity.ErrorCode(err); got != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
			if len(f.mem.Exports()) != 0 || len(f.sched.Schedules) != 0 {
				t.Errorf("a refused request left %d exports, %d schedules", len(f.mem.Exports()), len(f.sched.Schedules))
			}
		})
	}
	t.Run("ErrUnavailable/RolledBack", func(t *testing.T) {
		f := newFixture(t)
		f.sched.FailNext = 1
		_, _, err := f.svc.Request(ctx, owner, "cl-ava")
		if identity.ErrorCode(err) != identity.EUnavailable {
			t.Fatalf("got %v, want service_unavailable", err)
		}
		if got := f.mem.Exports(); len(got) != 0 {
			t.Fatalf("got %d exports after the rollback, want none", len(got))
		}
		if g, _ := f.mem.ExportAccess(ctx, practice, "pr-owner", "cl-ava"); g.Active != "" || g.Quota.Version != 0 {
			t.Fatalf("after the rollback: got %+v, want no pointer and no quota counted", g)
		}
		// A retry starts afresh.
		if _, _, err := f.svc.Request(ctx, owner, "cl-ava"); err != nil {
			t.Fatal(err)
		}
		if len(f.mem.Exports()) != 1 || len(f.sched.Schedules) != 1 {
			t.Fatalf("after the retry: got %d exports, %d schedules, want 1 and 1", len(f.mem.Exports()), len(f.sched.Schedules))
		}
	})
}

func TestStartAt(t *testing.T) {
	for _, tc := range []struct{ now, want string }{
		{"12:00:00", "12:01:00"},
		{"12:00:30", "12:01:00"},
		{"12:00:49", "12:01:00"},
		{"12:00:51", "12:02:00"}, // under ten seconds ahead: the minute after
		{"12:59:59", "13:01:00"},
	} {
		now, _ := time.Parse("15:04:05", tc.now)
		want, _ := time.Parse("15:04:05", tc.want)
		if got := export.StartAt(now); !got.Equal(want) {
			t.Errorf("StartAt(%s): got %s, want %s", tc.now, got.Format("15:04:05"), tc.want)
		}
	}
}

// archive reads the export's archive from the fake bucket.
func archive(t *testing.T, f *fixture, e export.Export) map[string][]byte {
	t.Helper()
	b, ok := f.arch.Object(e.ObjectKey)
	if !ok {
		t.Fatalf("no archive at %q", e.ObjectKey)
	}
	if int64(len(b)) != e.SizeBytes {
		t.Errorf("sizeBytes: got %d, archive has %d", e.SizeBytes, len(b))
	}
	return readZip(t, b)
}

func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		if _, dup := out[zf.Name]; dup {
			t.Errorf("%s: twice in the archive", zf.Name)
		}
		out[zf.Name] = data
	}
	return out
}

func TestRun_Archive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	e, _, err := f.svc.Request(ctx, owner, "cl-ava")
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	done, err := f.svc.Run(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := export.Counts{JournalEntries: 4, ChatSessions: 2, ChatMessages: 8, Documents: 6}
	if done.Status != export.StatusReady || done.Counts != wantCounts || done.Attempts != 1 || done.ObjectKey != "practices/prac-1/clients/cl-ava/exports/ex-1.zip" {
		t.Fatalf("got %+v, want ready with %+v", done, wantCounts)
	}
	if f.arch.Parts < 60 || f.arch.OpenUploads() != 0 {
		t.Errorf("got %d parts and %d open uploads, want many parts of 1 KiB and none open", f.arch.Parts, f.arch.OpenUploads())
	}
	if got := f.arch.DownloadNames[done.ObjectKey]; got != "client-cl-ava-export-2026-11-28.zip" {
		t.Errorf("download name: got %q", got)
	}
	files := archive(t, f, done)

	// Exactly these files.
	want := []string{"manifest.json", "journal/entries.json", "journal/entries.html",
		"chats/s-direct.json", "chats/s-direct.html", "chats/s-group.json", "chats/s-group.html"}
	for p := range f.docs {
		want = append(want, p)
	}
	var got []string
	for p := range files {
		got = append(got, p)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files: got %q,\nwant %q", got, want)
	}
	for p, content := range f.docs {
		if !bytes.Equal(files[p], content) {
			t.Errorf("%s: got %d bytes that differ from the document's %d", p, len(files[p]), len(content))
		}
	}
	for p, b := range files {
		for _, marker := range []string{"BEN-PRIVATE", "ZED-PRIVATE", "AVA2-PRIVATE"} {
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("%s holds another client's content (%s)", p, marker)
			}
		}
	}

	var m export.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.ExportID != e.ID || m.ClientID != "cl-ava" || m.PracticeID != practice || m.Counts != wantCounts ||
		!m.GeneratedAt.Equal(f.now) || !slices.Equal(m.MissingDocuments, []string{"d7"}) || !slices.Equal(m.SkippedDocuments, []string{"dx1", "dx2", "dx3"}) {
		t.Errorf("manifest: got %+v", m)
	}

	emulatortest.CheckJournalAndChats(t, files, f.journal, f.sessions, f.messages)
	page := string(files["journal/entries.html"])
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &#39;quotes&#39;") ||
		!strings.Contains(page, "Walked 5 km.") || strings.Count(page, `class="entry"`) != 4 {
		t.Errorf("journal page: escaped content or entries missing:\n%s", page)
	}

	for _, s := range f.sessions {
		want := f.messages[s.ID]
		page := string(files["chats/"+s.ID+".html"])
		if strings.Contains(page, "<script>") || strings.Count(page, `<div class="message `) != len(want) {
			t.Errorf("%s.html: got %d messages or unescaped text:\n%s", s.ID, strings.Count(page, `<div class="message `), page)
		}
	}
}

func TestRun_EmptyFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.mem.AddClient(practice, "cl-new")
	e, _, err := f.svc.Request(ctx, actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner), "cl-new")
	if err != nil {
		t.Fatal(err)
	}
	done, err := f.svc.Run(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	files := archive(t, f, done)
	if len(files) != 3 || string(files["journal/entries.json"]) != "[]\n" || !strings.Contains(string(files["journal/entries.html"]), "No journal entries.") {
		t.Errorf("got %d files: %q", len(files), files["journal/entries.json"])
	}
	if done.Counts != (export.Counts{}) {
		t.Errorf("counts: got %+v, want zero", done.Counts)
	}
}

func TestRun_Idempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	e, _, _ := f.svc.Request(ctx, owner, "cl-ava")
	first, err := f.svc.Run(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := f.arch.Object(first.ObjectKey)
	creates := f.arch.Creates
	// A repeated delivery (Scheduler or Lambda may deliver twice) does nothing.
	again, err := f.svc.Run(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.arch.Object(first.ObjectKey)
	if again.Status != export.StatusReady || again.Attempts != 1 || f.arch.Creates != creates || !bytes.Equal(before, after) {
		t.Errorf("second delivery: got %+v, %d uploads (was %d)", again, f.arch.Creates, creates)
	}
	// An unknown export: nothing to do, nothing to retry.
	if got, err := f.svc.Run(ctx, "ex-unknown"); err != nil || got.ID != "" {
		t.Errorf("unknown: got %+v, %v", got, err)
	}
}

func TestRun_LeaseHeld(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	e, _, _ := f.svc.Request(ctx, actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner), "cl-ava")
	// Another invocation holds it.
	if _, err := f.mem.StartExport(ctx, e.ID, f.now, f.now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Run(ctx, e.ID)
	if err != nil || got.Status != export.StatusRunning || f.arch.Creates != 0 {
		t.Fatalf("got %+v, %v, %d uploads; want it left to the holder", got, err, f.arch.Creates)
	}
	// Once the lease has run out, a retry takes over.
	f.now = f.now.Add(11 * time.Minute)
	got, err = f.svc.Run(ctx, e.ID)
	if err != nil || got.Status != export.StatusReady || got.Attempts != 2 {
		t.Fatalf("takeover: got %+v, %v", got, err)
	}
}

func TestRun_Failures(t *testing.T) {
	ctx := context.Background()
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	t.Run("TransientThenRetry", func(t *testing.T) {
		f := newFixture(t)
		e, _, _ := f.svc.Request(ctx, owner, "cl-ava")
		f.arch.FailPart = 3
		if _, err := f.svc.Run(ctx, e.ID); err == nil {
			t.Fatal("got nil, want an error so that Lambda retries")
		}
		cur, _ := f.mem.GetExport(ctx, e.ID)
		if cur.Status != export.StatusRunning || f.arch.Aborts != 1 || f.arch.OpenUploads() != 0 {
			t.Fatalf("after a failure: got %+v, %d aborts, %d open uploads", cur, f.arch.Aborts, f.arch.OpenUploads())
		}
		// The lease was given back: the retry need not wait for it.
		got, err := f.svc.Run(ctx, e.ID)
		if err != nil || got.Status != export.StatusReady || got.Attempts != 2 {
			t.Fatalf("retry: got %+v, %v", got, err)
		}
	})
	t.Run("LastAttemptFails", func(t *testing.T) {
		f := newFixture(t)
		f.svc.MaxAttempts = 2
		e, _, _ := f.svc.Request(ctx, owner, "cl-ava")
		f.arch.FailPart = 2
		if _, err := f.svc.Run(ctx, e.ID); err == nil {
			t.Fatal("attempt 1: got nil, want an error")
		}
		f.arch.FailPart = 2
		got, err := f.svc.Run(ctx, e.ID)
		if err != nil || got.Status != export.StatusFailed || got.FailureReason != export.ReasonInternal || got.CompletedAt == nil {
			t.Fatalf("attempt 2: got %+v, %v; want failed (internal_error) and no retry", got, err)
		}
		if f.arch.OpenUploads() != 0 {
			t.Errorf("got %d open uploads, want none", f.arch.OpenUploads())
		}
		// Nothing takes a failed export on again.
		if again, err := f.svc.Run(ctx, e.ID); err != nil || again.Status != export.StatusFailed || f.arch.Creates != 2 {
			t.Errorf("after failing: got %+v, %v, %d uploads", again, err, f.arch.Creates)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		f := newFixture(t)
		e, _, _ := f.svc.Request(ctx, owner, "cl-ava")
		// The invocation ends in 31 s and the worker keeps 30 s for itself;
		// a file takes longer than what is left.
		f.svc.Margin = 30 * time.Second
		f.files.PutFunc("practices/prac-1/clients/cl-ava/u/d2.pdf", func() io.Reader { return &slowReader{d: 2 * time.Second} })
		rctx, cancel := context.WithTimeout(ctx, 31*time.Second)
		defer cancel()
		start := time.Now()
		got, err := f.svc.Run(rctx, e.ID)
		if err != nil || got.Status != export.StatusFailed || got.FailureReason != export.ReasonTimeout {
			t.Fatalf("got %+v, %v; want failed (timeout)", got, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v, want it to stop at its margin", d)
		}
		if f.arch.Aborts != 1 || f.arch.OpenUploads() != 0 {
			t.Errorf("got %d aborts, %d open uploads; want the upload aborted", f.arch.Aborts, f.arch.OpenUploads())
		}
	})
}

// slowReader blocks, as a stalled download would, until d has passed.
type slowReader struct{ d time.Duration }

func (s *slowReader) Read([]byte) (int, error) {
	time.Sleep(s.d)
	return 0, errors.New("stalled")
}

func TestGet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	memberA := actor(t, "pr-member", identity.RolePractitioner, practice, "", identity.TeamMember)
	e, _, _ := f.svc.Request(ctx, owner, "cl-ava")

	v, err := f.svc.Get(ctx, memberA, "cl-ava", e.ID)
	if err != nil || v.Status != export.StatusPending || v.DownloadURL != "" || v.DownloadURLExpiresAt != nil {
		t.Fatalf("pending: got %+v, %v", v, err)
	}
	if _, err := f.svc.Run(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	v, err = f.svc.Get(ctx, owner, "cl-ava", e.ID)
	if err != nil || v.Status != export.StatusReady || !strings.Contains(v.DownloadURL, v.ObjectKey) || v.DownloadURLExpiresAt == nil ||
		!v.DownloadURLExpiresAt.Equal(f.now.Add(15*time.Minute)) || !strings.Contains(v.DownloadURL, "X-Amz-Expires=900") {
		t.Fatalf("ready: got %+v, %v; want a URL valid 15 minutes", v, err)
	}
	// Past the bucket's retention the archive is gone: no URL.
	f.now = f.now.Add(7 * 24 * time.Hour)
	if v, err := f.svc.Get(ctx, owner, "cl-ava", e.ID); err != nil || v.Status != export.StatusReady || v.DownloadURL != "" {
		t.Errorf("expired: got %+v, %v; want no URL", v, err)
	}

	// An export no worker finished (every attempt crashed) shows failed
	// once its schedule can deliver it no more.
	stuck, _, _ := f.svc.Request(ctx, owner, "cl-ava")
	f.now = stuck.RequestedAt.Add(export.AbandonedAfter)
	if v, err := f.svc.Get(ctx, owner, "cl-ava", stuck.ID); err != nil || v.Status != export.StatusPending {
		t.Errorf("within the schedule's retries: got %+v, %v; want pending", v, err)
	}
	f.now = f.now.Add(time.Second)
	if v, err := f.svc.Get(ctx, owner, "cl-ava", stuck.ID); err != nil || v.Status != export.StatusFailed ||
		v.FailureReason != export.ReasonAbandoned || v.CompletedAt == nil || !v.CompletedAt.Equal(stuck.RequestedAt.Add(export.AbandonedAfter)) {
		t.Errorf("past them: got %+v, %v; want failed (abandoned)", v, err)
	}

	other := actor(t, "pr-x", identity.RolePractitioner, "prac-other", "", identity.TeamOwner)
	client := actor(t, "cl-ava", identity.RoleClient, practice, "cl-ava", "")
	for _, tc := range []struct {
		name               string
		a                  identity.Actor
		clientID, exportID string
		code               string
	}{
		{"ErrForbidden/Client", client, "cl-ava", e.ID, identity.EForbidden},
		{"ErrInvalid/ClientID", owner, "cl ava", e.ID, identity.EInvalid},
		{"ErrInvalid/ExportID", owner, "cl-ava", "../x", identity.EInvalid},
		{"ErrNotFound/Unknown", owner, "cl-ava", "ex-404", identity.ENotFound},
		{"ErrNotFound/AnotherClient", owner, "cl-ben", e.ID, identity.ENotFound},
		{"ErrNotFound/AnotherPractice", other, "cl-ava", e.ID, identity.ENotFound},
		{"ErrForbidden/NotInDirectory", actor(t, "pr-ghost", identity.RolePractitioner, practice, "", identity.TeamOwner), "cl-ava", e.ID, identity.EForbidden},
		{"ErrForbidden/RealSubOtherPractice", actor(t, "pr-owner", identity.RolePractitioner, "prac-other", "", identity.TeamOwner), "cl-ava", e.ID, identity.EForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Get(ctx, tc.a, tc.clientID, tc.exportID)
			if got := identity.ErrorCode(err); got != tc.code {
				t.Errorf("got %v, want code %s", err, tc.code)
			}
		})
	}
}

// A practitioner removed from the practice loses access at once, whatever
// their token still says.
func TestRequest_RemovedPractitioner(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	member := actor(t, "pr-member", identity.RolePractitioner, practice, "", identity.TeamMember)
	e, _, err := f.svc.Request(ctx, member, "cl-ava")
	if err != nil {
		t.Fatal(err)
	}
	f.mem.RemovePractitioner(practice, "pr-member")
	if _, _, err := f.svc.Request(ctx, member, "cl-ben"); identity.ErrorCode(err) != identity.EForbidden {
		t.Errorf("request: got %v, want forbidden", err)
	}
	if _, err := f.svc.Get(ctx, member, "cl-ava", e.ID); identity.ErrorCode(err) != identity.EForbidden {
		t.Errorf("get: got %v, want forbidden", err)
	}
	if n := len(f.mem.Exports()); n != 1 {
		t.Errorf("got %d exports, want 1", n)
	}
}

// While an export of the client is pending or running, asking again
// answers with it; once it is done (or can no longer finish) a new one is
// made.
func TestRequest_OneActivePerClient(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	member := actor(t, "pr-member", identity.RolePractitioner, practice, "", identity.TeamMember)
	first, created, err := f.svc.Request(ctx, owner, "cl-ava")
	if err != nil || !created {
		t.Fatalf("first: got created %v, %v", created, err)
	}
	for _, a := range []identity.Actor{owner, member} {
		again, created, err := f.svc.Request(ctx, a, "cl-ava")
		if err != nil || created || again.ID != first.ID {
			t.Fatalf("pending: got %s created %v, %v; want %s again", again.ID, created, err, first.ID)
		}
	}
	if _, err := f.mem.StartExport(ctx, first.ID, f.now, f.now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if again, created, err := f.svc.Request(ctx, member, "cl-ava"); err != nil || created || again.ID != first.ID {
		t.Fatalf("running: got %s created %v, %v; want %s again", again.ID, created, err, first.ID)
	}
	if err := f.mem.FailExport(ctx, first.ID, f.now, export.ReasonInternal); err != nil {
		t.Fatal(err)
	}
	second, created, err := f.svc.Request(ctx, member, "cl-ava")
	if err != nil || !created || second.ID == first.ID {
		t.Fatalf("after it failed: got %s created %v, %v; want a new export", second.ID, created, err)
	}
	// One that no worker finished in time counts as ended.
	f.now = second.RequestedAt.Add(export.AbandonedAfter)
	third, created, err := f.svc.Request(ctx, member, "cl-ava")
	if err != nil || !created || third.ID == second.ID {
		t.Fatalf("after it was abandoned: got %s created %v, %v; want a new export", third.ID, created, err)
	}
	if n := len(f.sched.Schedules); n != 3 {
		t.Errorf("got %d schedules, want 3", n)
	}
}

// Each practitioner may ask for QuotaLimit exports in any hour; the next
// gets too_many_requests with how long to wait, and the window slides.
func TestRequest_Quota(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	member := actor(t, "pr-member", identity.RolePractitioner, practice, "", identity.TeamMember)
	start := f.now
	for i := range export.QuotaLimit {
		client := fmt.Sprintf("cl-q%02d", i)
		f.mem.AddClient(practice, client)
		f.now = start.Add(time.Duration(i) * time.Minute)
		if _, created, err := f.svc.Request(ctx, owner, client); err != nil || !created {
			t.Fatalf("export %d: got created %v, %v", i+1, created, err)
		}
	}
	f.now = start.Add(59 * time.Minute)
	_, _, err := f.svc.Request(ctx, owner, "cl-ava")
	if identity.ErrorCode(err) != identity.ETooManyRequests {
		t.Fatalf("export %d: got %v, want too_many_requests", export.QuotaLimit+1, err)
	}
	if got := identity.RetryAfter(err); got != time.Minute {
		t.Errorf("retry after: got %v, want 1m (the first export leaves the window)", got)
	}
	// An export already pending is still answered, and others are not
	// held back by this practitioner's quota.
	if e, created, err := f.svc.Request(ctx, owner, "cl-q00"); err != nil || created || e.ClientID != "cl-q00" {
		t.Errorf("pending export past the quota: got %+v created %v, %v", e, created, err)
	}
	if _, created, err := f.svc.Request(ctx, member, "cl-ava"); err != nil || !created {
		t.Errorf("another practitioner: got created %v, %v", created, err)
	}
	f.now = start.Add(time.Hour)
	if _, created, err := f.svc.Request(ctx, owner, "cl-ben"); err != nil || !created {
		t.Errorf("once the first left the window: got created %v, %v", created, err)
	}
	if _, _, err := f.svc.Request(ctx, owner, "cl-zz"); identity.ErrorCode(err) != identity.ENotFound {
		// (cl-zz does not exist; the quota is full again, but a client
		// that is not there is not found first.)
		t.Errorf("unknown client: got %v, want not_found", err)
	}
	if n := len(f.mem.Exports()); n != export.QuotaLimit+2 {
		t.Errorf("got %d exports, want %d", n, export.QuotaLimit+2)
	}
}

// Many requests for one client at once make one export; the others answer
// with it.
func TestRequest_Flood(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := actor(t, "pr-owner", identity.RolePractitioner, practice, "", identity.TeamOwner)
	var mu sync.Mutex
	f.svc.NewID = func() string { mu.Lock(); defer mu.Unlock(); return identity.NewRequestID() }
	var wg sync.WaitGroup
	ids := make([]string, 50)
	made := make([]bool, 50)
	errs := make([]error, 50)
	for i := range ids {
		wg.Go(func() {
			e, created, err := f.svc.Request(ctx, owner, "cl-ava")
			ids[i], made[i], errs[i] = e.ID, created, err
		})
	}
	wg.Wait()
	created := 0
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("request %d answered %s, request 0 %s", i, ids[i], ids[0])
		}
		if made[i] {
			created++
		}
	}
	if created != 1 || len(f.mem.Exports()) != 1 || len(f.sched.Schedules) != 1 {
		t.Errorf("got %d created, %d exports, %d schedules; want 1 each", created, len(f.mem.Exports()), len(f.sched.Schedules))
	}
}
