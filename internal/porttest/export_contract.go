package porttest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ExportSeeder writes the records other services of the platform own (the
// client's profile and file) that the export ports read.
type ExportSeeder interface {
	// AddPractitioner writes a practitioner's item; owner also writes the
	// practice's record naming them its owner.
	AddPractitioner(practiceID, sub string, owner bool)
	AddClient(practiceID, clientID string)
	AddJournalEntry(practiceID, clientID string, e export.JournalEntry)
	AddDocument(practiceID, clientID string, d export.Document)
	// AddChatSession writes a session and links each client taking part.
	AddChatSession(practiceID string, s export.ChatSession)
	// AddChatMessage writes a message of a session; messages are read
	// oldest first.
	AddChatMessage(practiceID, sessionID string, m export.ChatMessage)
	// AddNote writes a practitioner's note in the client's file: no export
	// reader may return it.
	AddNote(practiceID, clientID, id string)
}

// ExportStores is every export port the contract covers, as one value.
type ExportStores interface {
	export.Access
	erasure.Roster
	export.Records
	export.Content
}

// RunExportContract checks that the stores newStores returns honour the
// export ports' documented behaviour. Every subtest calls newStores for an
// empty store and seeds it only through the ExportSeeder. Times are whole
// milliseconds where a condition compares them, the precision a real
// store keeps.
func RunExportContract(t *testing.T, newStores func(t *testing.T) (ExportStores, ExportSeeder)) {
	ctx := context.Background()
	t0 := time.Date(2030, 3, 4, 10, 11, 12, 345000000, time.UTC)
	pending := func(id string) export.Export {
		return export.Export{
			ID: id, PracticeID: "pr-1", ClientID: "cl-a", RequestedBy: "p-owner", Status: export.StatusPending,
			RequestedAt: t0, ScheduleName: export.ScheduleName(id),
		}
	}

	t.Run("Access", func(t *testing.T) {
		s, seed := newStores(t)
		seed.AddPractitioner("pr-1", "p-owner", true)
		seed.AddPractitioner("pr-1", "p-member", false)
		seed.AddPractitioner("pr-2", "p-other", true)
		seed.AddClient("pr-1", "cl-a")
		seed.AddClient("pr-2", "cl-b")
		for _, c := range []struct {
			practice, sub, client string
			member, client2       bool
		}{
			{"pr-1", "p-owner", "cl-a", true, true}, {"pr-1", "p-member", "cl-a", true, true},
			{"pr-1", "p-owner", "cl-b", true, false}, {"pr-2", "p-owner", "cl-a", false, false},
			{"pr-1", "p-other", "cl-a", false, true}, {"pr-1", "p-owner", "cl-missing", true, false},
		} {
			g, err := s.ExportAccess(ctx, c.practice, c.sub, c.client)
			must(t, err)
			want := export.Gate{Member: c.member, ClientExists: c.client2}
			if !reflect.DeepEqual(g, want) {
				t.Errorf("ExportAccess(%s, %s, %s): got %+v, want %+v", c.practice, c.sub, c.client, g, want)
			}
		}
		for _, c := range []struct {
			practice, sub string
			want          *erasure.Member
		}{
			{"pr-1", "p-owner", &erasure.Member{Practitioner: erasure.Practitioner{ID: "p-owner"}, Owner: true}},
			{"pr-1", "p-member", &erasure.Member{Practitioner: erasure.Practitioner{ID: "p-member"}}},
			{"pr-2", "p-owner", nil}, {"pr-1", "p-other", nil},
		} {
			m, err := s.Member(ctx, c.practice, c.sub)
			if c.want == nil {
				wantErr(t, err, identity.ErrNotFound)
				continue
			}
			must(t, err)
			if m != *c.want {
				t.Errorf("Member(%s, %s): got %+v, want %+v", c.practice, c.sub, m, *c.want)
			}
		}
	})

	t.Run("CreateExport/Slot", func(t *testing.T) {
		s, seed := newStores(t)
		seed.AddPractitioner("pr-1", "p-owner", true)
		seed.AddClient("pr-1", "cl-a")
		q1 := export.Quota{Times: []time.Time{t0}, Version: 1}
		// A first export: no pointer, no quota yet; a slot that expects
		// either to exist loses.
		wantErr(t, s.CreateExport(ctx, pending("ex-0"), export.Slot{Active: "ex-none", Quota: q1}), identity.ErrConditionFailed)
		wantErr(t, s.CreateExport(ctx, pending("ex-0"), export.Slot{Quota: export.Quota{Times: q1.Times, Version: 2}}), identity.ErrConditionFailed)
		if _, err := s.GetExport(ctx, "ex-0"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("a refused create wrote the record: %v", err)
		}
		must(t, s.CreateExport(ctx, pending("ex-1"), export.Slot{Quota: q1}))
		g, err := s.ExportAccess(ctx, "pr-1", "p-owner", "cl-a")
		must(t, err)
		if g.Active != "ex-1" || g.Quota.Version != 1 || !slices.EqualFunc(g.Quota.Times, q1.Times, time.Time.Equal) {
			t.Fatalf("after the first export: got %+v, want active ex-1 and quota %+v", g, q1)
		}
		// A racing request that read before it: both pointers changed.
		wantErr(t, s.CreateExport(ctx, pending("ex-2"), export.Slot{Quota: q1}), identity.ErrConditionFailed)
		q2 := export.Quota{Times: []time.Time{t0, t0.Add(time.Minute)}, Version: 2}
		wantErr(t, s.CreateExport(ctx, pending("ex-2"), export.Slot{Active: "ex-other", Quota: q2}), identity.ErrConditionFailed)
		wantErr(t, s.CreateExport(ctx, pending("ex-2"), export.Slot{Active: "ex-1", Quota: q1}), identity.ErrConditionFailed)
		must(t, s.CreateExport(ctx, pending("ex-2"), export.Slot{Active: "ex-1", Quota: q2}))
		g, err = s.ExportAccess(ctx, "pr-1", "p-owner", "cl-a")
		must(t, err)
		if g.Active != "ex-2" || g.Quota.Version != 2 || !slices.EqualFunc(g.Quota.Times, q2.Times, time.Time.Equal) {
			t.Fatalf("after the second export: got %+v, want active ex-2 and quota %+v", g, q2)
		}
		// An id that exists is refused even with the right slot.
		q3 := export.Quota{Times: append(slices.Clone(q2.Times), t0.Add(2*time.Minute)), Version: 3}
		wantErr(t, s.CreateExport(ctx, pending("ex-1"), export.Slot{Active: "ex-2", Quota: q3}), identity.ErrConditionFailed)
		// Another client's pointer and another practitioner's quota are
		// their own.
		seed.AddClient("pr-1", "cl-c")
		other := pending("ex-3")
		other.ClientID, other.RequestedBy = "cl-c", "p-member"
		must(t, s.CreateExport(ctx, other, export.Slot{Quota: q1}))
		if g, _ := s.ExportAccess(ctx, "pr-1", "p-owner", "cl-a"); g.Active != "ex-2" || g.Quota.Version != 2 {
			t.Errorf("another client's export moved this client's pointer or quota: %+v", g)
		}
	})

	t.Run("ReleaseSlot", func(t *testing.T) {
		s, seed := newStores(t)
		seed.AddPractitioner("pr-1", "p-owner", true)
		seed.AddClient("pr-1", "cl-a")
		access := func() export.Gate {
			t.Helper()
			g, err := s.ExportAccess(ctx, "pr-1", "p-owner", "cl-a")
			must(t, err)
			return g
		}
		// A first export, given back: as if it never was.
		empty := export.Slot{}
		first := export.Slot{Quota: export.Quota{Times: []time.Time{t0}, Version: 1}}
		must(t, s.CreateExport(ctx, pending("ex-1"), first))
		must(t, s.DeletePendingExport(ctx, "ex-1"))
		must(t, s.ReleaseSlot(ctx, pending("ex-1"), empty, first))
		if g := access(); g.Active != "" || g.Quota.Version != 0 || len(g.Quota.Times) != 0 {
			t.Fatalf("after giving back the first: got %+v, want no pointer and no quota", g)
		}
		// A second over a first: the pointer and quota go back to the
		// first's.
		must(t, s.CreateExport(ctx, pending("ex-1"), first))
		second := export.Slot{Active: "ex-1", Quota: export.Quota{Times: []time.Time{t0, t0.Add(time.Minute)}, Version: 2}}
		must(t, s.CreateExport(ctx, pending("ex-2"), second))
		must(t, s.ReleaseSlot(ctx, pending("ex-2"), export.Slot{Active: "ex-1", Quota: first.Quota}, second))
		if g := access(); g.Active != "ex-1" || g.Quota.Version != 1 || !slices.EqualFunc(g.Quota.Times, first.Quota.Times, time.Time.Equal) {
			t.Fatalf("after giving back the second: got %+v, want ex-1 and the first's quota", g)
		}
		// Once another export moved them on, giving back changes nothing.
		third := export.Slot{Active: "ex-1", Quota: export.Quota{Times: []time.Time{t0, t0.Add(2 * time.Minute)}, Version: 2}}
		must(t, s.CreateExport(ctx, pending("ex-3"), third))
		must(t, s.ReleaseSlot(ctx, pending("ex-2"), export.Slot{Active: "ex-1", Quota: first.Quota}, export.Slot{Active: "ex-1", Quota: export.Quota{Version: 1}}))
		if g := access(); g.Active != "ex-3" || g.Quota.Version != 2 {
			t.Fatalf("a stale give-back moved things: got %+v, want ex-3 at version 2", g)
		}
	})

	// create records e with the slot its client and practitioner have now.
	create := func(t *testing.T, s ExportStores, e export.Export) error {
		t.Helper()
		g, err := s.ExportAccess(ctx, e.PracticeID, e.RequestedBy, e.ClientID)
		must(t, err)
		q, _ := g.Quota.Next(e.RequestedAt)
		return s.CreateExport(ctx, e, export.Slot{Active: g.Active, Quota: q})
	}

	t.Run("Records", func(t *testing.T) {
		t.Run("CreateGet", func(t *testing.T) {
			s, _ := newStores(t)
			want := pending("ex-1")
			must(t, create(t, s, want))
			got, err := s.GetExport(ctx, "ex-1")
			must(t, err)
			if !sameExport(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			wantErr(t, create(t, s, pending("ex-1")), identity.ErrConditionFailed)
			_, err = s.GetExport(ctx, "ex-missing")
			wantErr(t, err, identity.ErrNotFound)
		})
		t.Run("DeletePendingExport", func(t *testing.T) {
			s, _ := newStores(t)
			must(t, create(t, s, pending("ex-1")))
			must(t, s.DeletePendingExport(ctx, "ex-1"))
			_, err := s.GetExport(ctx, "ex-1")
			wantErr(t, err, identity.ErrNotFound)
			must(t, s.DeletePendingExport(ctx, "ex-1")) // gone already: no error

			must(t, create(t, s, pending("ex-2")))
			_, err = s.StartExport(ctx, "ex-2", t0, t0.Add(time.Minute))
			must(t, err)
			wantErr(t, s.DeletePendingExport(ctx, "ex-2"), identity.ErrConditionFailed)
			if _, err := s.GetExport(ctx, "ex-2"); err != nil {
				t.Errorf("a running export was deleted: %v", err)
			}
		})
		t.Run("StartExport/Lease", func(t *testing.T) {
			s, _ := newStores(t)
			_, err := s.StartExport(ctx, "ex-missing", t0, t0.Add(time.Minute))
			wantErr(t, err, identity.ErrNotFound)

			must(t, create(t, s, pending("ex-1")))
			lease := t0.Add(15 * time.Minute)
			got, err := s.StartExport(ctx, "ex-1", t0, lease)
			must(t, err)
			if got.Status != export.StatusRunning || got.Attempts != 1 || got.StartedAt == nil || !got.StartedAt.Equal(t0) {
				t.Fatalf("first start: got %+v, want running, attempt 1, started at %v", got, t0)
			}
			// Another delivery while the lease holds is refused.
			_, err = s.StartExport(ctx, "ex-1", t0.Add(time.Minute), t0.Add(16*time.Minute))
			wantErr(t, err, identity.ErrConditionFailed)
			// Once it has expired, a retry takes over; the start stays.
			got, err = s.StartExport(ctx, "ex-1", lease, lease.Add(15*time.Minute))
			must(t, err)
			if got.Attempts != 2 || !got.StartedAt.Equal(t0) {
				t.Fatalf("takeover: got attempts %d started %v, want 2 and %v", got.Attempts, got.StartedAt, t0)
			}
		})
		t.Run("ReleaseExport", func(t *testing.T) {
			s, _ := newStores(t)
			must(t, create(t, s, pending("ex-1")))
			lease := t0.Add(15 * time.Minute)
			_, err := s.StartExport(ctx, "ex-1", t0, lease)
			must(t, err)
			// Another lease's release changes nothing.
			must(t, s.ReleaseExport(ctx, "ex-1", lease.Add(time.Second)))
			_, err = s.StartExport(ctx, "ex-1", t0.Add(time.Minute), lease)
			wantErr(t, err, identity.ErrConditionFailed)
			// Its own frees it at once.
			must(t, s.ReleaseExport(ctx, "ex-1", lease))
			got, err := s.StartExport(ctx, "ex-1", t0.Add(time.Minute), lease.Add(time.Minute))
			must(t, err)
			if got.Status != export.StatusRunning || got.Attempts != 2 {
				t.Errorf("after release: got %+v, want running, attempt 2", got)
			}
		})
		t.Run("CompleteExport", func(t *testing.T) {
			s, _ := newStores(t)
			must(t, create(t, s, pending("ex-1")))
			res := export.Result{At: t0.Add(time.Minute), ObjectKey: "k/ex-1.zip", SizeBytes: 12345678901,
				Counts: export.Counts{JournalEntries: 1, ChatSessions: 2, ChatMessages: 3, Documents: 4}}
			_, err := s.CompleteExport(ctx, "ex-1", res)
			wantErr(t, err, identity.ErrConditionFailed) // not started
			_, err = s.StartExport(ctx, "ex-1", t0, t0.Add(15*time.Minute))
			must(t, err)
			got, err := s.CompleteExport(ctx, "ex-1", res)
			must(t, err)
			read, err := s.GetExport(ctx, "ex-1")
			must(t, err)
			for _, e := range []export.Export{got, read} {
				if e.Status != export.StatusReady || e.CompletedAt == nil || !e.CompletedAt.Equal(res.At) ||
					e.ObjectKey != res.ObjectKey || e.SizeBytes != res.SizeBytes || e.Counts != res.Counts ||
					e.Attempts != 1 || e.RequestedBy != "p-owner" || e.ClientID != "cl-a" || e.FailureReason != "" {
					t.Errorf("got %+v, want it ready with %+v", e, res)
				}
			}
			_, err = s.CompleteExport(ctx, "ex-1", res)
			wantErr(t, err, identity.ErrConditionFailed)
			// A late delivery cannot take a ready export on again.
			_, err = s.StartExport(ctx, "ex-1", t0.Add(time.Hour), t0.Add(2*time.Hour))
			wantErr(t, err, identity.ErrConditionFailed)
			wantErr(t, s.FailExport(ctx, "ex-1", t0.Add(time.Hour), export.ReasonInternal), identity.ErrConditionFailed)
		})
		t.Run("FailExport", func(t *testing.T) {
			s, _ := newStores(t)
			must(t, create(t, s, pending("ex-1")))
			_, err := s.StartExport(ctx, "ex-1", t0, t0.Add(15*time.Minute))
			must(t, err)
			at := t0.Add(14 * time.Minute)
			must(t, s.FailExport(ctx, "ex-1", at, export.ReasonTimeout))
			got, err := s.GetExport(ctx, "ex-1")
			must(t, err)
			if got.Status != export.StatusFailed || got.FailureReason != export.ReasonTimeout || got.CompletedAt == nil || !got.CompletedAt.Equal(at) {
				t.Errorf("got %+v, want failed (timeout) at %v", got, at)
			}
			wantErr(t, s.FailExport(ctx, "ex-1", at, export.ReasonInternal), identity.ErrConditionFailed)
			_, err = s.StartExport(ctx, "ex-1", t0.Add(time.Hour), t0.Add(2*time.Hour))
			wantErr(t, err, identity.ErrConditionFailed)
			// A pending export may fail too (it never started).
			must(t, create(t, s, pending("ex-2")))
			must(t, s.FailExport(ctx, "ex-2", at, export.ReasonInternal))
			wantErr(t, s.FailExport(ctx, "ex-missing", at, export.ReasonInternal), identity.ErrConditionFailed)
		})
	})

	t.Run("Content", func(t *testing.T) {
		s, seed := newStores(t)
		client := export.Author{Role: identity.RoleClient, ID: "cl-a"}
		other := export.Author{Role: identity.RoleClient, ID: "cl-b"}
		member := export.Author{Role: identity.RolePractitioner, ID: "p-m"}
		seed.AddClient("pr-1", "cl-a")
		seed.AddClient("pr-1", "cl-b")
		var journal []export.JournalEntry
		for i := range 7 {
			a := client
			if i == 6 {
				a = member
			}
			e := export.JournalEntry{ID: fmt.Sprintf("j%02d", i), Author: a, CreatedAt: t0.Add(time.Duration(i) * time.Hour),
				Title: fmt.Sprintf("Day %d <b>", i), Body: "line one\nline \"two\" & <three>"}
			seed.AddJournalEntry("pr-1", "cl-a", e)
			journal = append(journal, e)
		}
		seed.AddJournalEntry("pr-1", "cl-b", export.JournalEntry{ID: "jb", Author: other, CreatedAt: t0, Title: "B", Body: "b"})
		seed.AddJournalEntry("pr-2", "cl-a", export.JournalEntry{ID: "jx", Author: client, CreatedAt: t0, Title: "X", Body: "x"})
		seed.AddNote("pr-1", "cl-a", "n1")
		docs := []export.Document{
			{ID: "d1", Author: client, CreatedAt: t0, Title: "Blood test", FileName: "../results.pdf", ObjectKeys: []string{"up/d1.pdf", "up/d1.png"}},
			{ID: "d2", Author: member, CreatedAt: t0.Add(time.Hour), Title: "Plan", FileName: "plan.pdf", ObjectKeys: []string{"sh/d2.pdf"}},
			{ID: "d3", Author: client, CreatedAt: t0.Add(2 * time.Hour), Title: "", FileName: "", ObjectKeys: []string{"up/d3"}},
			{ID: "d4", Author: client, CreatedAt: t0.Add(3 * time.Hour), Title: "Scan", FileName: "scan.jpg", ObjectKeys: []string{"up/d4.jpg"}},
		}
		for _, d := range docs {
			seed.AddDocument("pr-1", "cl-a", d)
		}
		seed.AddDocument("pr-1", "cl-b", export.Document{ID: "db", Author: other, CreatedAt: t0, FileName: "b.pdf", ObjectKeys: []string{"b"}})
		direct := export.ChatSession{ID: "s-direct", Title: "Direct", ClientIDs: []string{"cl-a"}, PractitionerIDs: []string{"p-m"}, CreatedAt: t0}
		group := export.ChatSession{ID: "s-group", Title: "Group", ClientIDs: []string{"cl-a", "cl-b"}, PractitionerIDs: []string{"p-m", "p-o"}, CreatedAt: t0.Add(time.Hour)}
		theirs := export.ChatSession{ID: "s-b", Title: "B only", ClientIDs: []string{"cl-b"}, PractitionerIDs: []string{"p-m"}, CreatedAt: t0}
		for _, cs := range []export.ChatSession{direct, group, theirs} {
			seed.AddChatSession("pr-1", cs)
		}
		var directMsgs []export.ChatMessage
		for i := range 5 {
			a := client
			if i%2 == 1 {
				a = member
			}
			m := export.ChatMessage{ID: fmt.Sprintf("m%d", i), Author: a, CreatedAt: t0.Add(time.Duration(i) * time.Minute), Body: fmt.Sprintf("message <%d>", i)}
			seed.AddChatMessage("pr-1", "s-direct", m)
			directMsgs = append(directMsgs, m)
		}
		groupMsgs := []export.ChatMessage{
			{ID: "g0", Author: client, CreatedAt: t0.Add(time.Hour), Body: "hello all"},
			{ID: "g1", Author: other, CreatedAt: t0.Add(time.Hour + time.Minute), Body: "hi"},
		}
		for _, m := range groupMsgs {
			seed.AddChatMessage("pr-1", "s-group", m)
		}
		seed.AddChatMessage("pr-1", "s-b", export.ChatMessage{ID: "b0", Author: other, CreatedAt: t0, Body: "private"})

		t.Run("JournalEntries", func(t *testing.T) {
			got := collect(t, func(fn func([]export.JournalEntry) error) error { return s.JournalEntries(ctx, "pr-1", "cl-a", fn) })
			if !slices.EqualFunc(got, journal, sameJournal) {
				t.Errorf("got %+v,\nwant %+v", got, journal)
			}
			none := collect(t, func(fn func([]export.JournalEntry) error) error { return s.JournalEntries(ctx, "pr-1", "cl-none", fn) })
			if len(none) != 0 {
				t.Errorf("a client without a file: got %+v, want none", none)
			}
		})
		t.Run("Documents", func(t *testing.T) {
			got := collect(t, func(fn func([]export.Document) error) error { return s.Documents(ctx, "pr-1", "cl-a", fn) })
			if !slices.EqualFunc(got, docs, sameDocument) {
				t.Errorf("got %+v,\nwant %+v", got, docs)
			}
		})
		t.Run("ChatSessions", func(t *testing.T) {
			got := collect(t, func(fn func([]export.ChatSession) error) error { return s.ChatSessions(ctx, "pr-1", "cl-a", fn) })
			if want := []export.ChatSession{direct, group}; !slices.EqualFunc(got, want, sameSession) {
				t.Errorf("got %+v,\nwant %+v", got, want)
			}
		})
		t.Run("ChatMessages", func(t *testing.T) {
			got := collect(t, func(fn func([]export.ChatMessage) error) error { return s.ChatMessages(ctx, "pr-1", "s-direct", fn) })
			if !slices.EqualFunc(got, directMsgs, sameMessage) {
				t.Errorf("direct: got %+v,\nwant %+v", got, directMsgs)
			}
			got = collect(t, func(fn func([]export.ChatMessage) error) error { return s.ChatMessages(ctx, "pr-1", "s-group", fn) })
			if !slices.EqualFunc(got, groupMsgs, sameMessage) {
				t.Errorf("group: got %+v,\nwant %+v", got, groupMsgs)
			}
		})
		t.Run("StopsAtError", func(t *testing.T) {
			stop := fmt.Errorf("stop")
			calls := 0
			err := s.JournalEntries(ctx, "pr-1", "cl-a", func([]export.JournalEntry) error { calls++; return stop })
			wantErr(t, err, stop)
			if calls != 1 {
				t.Errorf("got %d calls after an error, want 1", calls)
			}
		})
	})
}

// collect reads every page.
func collect[T any](t *testing.T, read func(func([]T) error) error) []T {
	t.Helper()
	var out []T
	must(t, read(func(page []T) error {
		if len(page) == 0 {
			t.Error("got an empty page, want none")
		}
		out = append(out, page...)
		return nil
	}))
	return out
}

func sameExport(a, b export.Export) bool {
	return a.ID == b.ID && a.PracticeID == b.PracticeID && a.ClientID == b.ClientID && a.RequestedBy == b.RequestedBy &&
		a.Status == b.Status && a.RequestedAt.Equal(b.RequestedAt) && a.ScheduleName == b.ScheduleName &&
		a.Attempts == b.Attempts && sameTimePtr(a.StartedAt, b.StartedAt) && sameTimePtr(a.CompletedAt, b.CompletedAt) &&
		a.Counts == b.Counts && a.SizeBytes == b.SizeBytes && a.ObjectKey == b.ObjectKey && a.FailureReason == b.FailureReason
}

func sameJournal(a, b export.JournalEntry) bool {
	return a.ID == b.ID && a.Author == b.Author && a.CreatedAt.Equal(b.CreatedAt) && a.Title == b.Title && a.Body == b.Body
}

func sameDocument(a, b export.Document) bool {
	return a.ID == b.ID && a.Author == b.Author && a.CreatedAt.Equal(b.CreatedAt) && a.Title == b.Title &&
		a.FileName == b.FileName && slices.Equal(a.ObjectKeys, b.ObjectKeys)
}

func sameSession(a, b export.ChatSession) bool {
	return a.ID == b.ID && a.Title == b.Title && slices.Equal(a.ClientIDs, b.ClientIDs) &&
		slices.Equal(a.PractitionerIDs, b.PractitionerIDs) && a.CreatedAt.Equal(b.CreatedAt)
}

func sameMessage(a, b export.ChatMessage) bool {
	return a.ID == b.ID && a.Author == b.Author && a.CreatedAt.Equal(b.CreatedAt) && a.Body == b.Body
}
