package erasure_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// The purge's two walks side by side (the client's own partition, the
// chats), the chats' read-ahead, and what each records; the reads are
// hooked as in scope_test.go.

// chatsAhead is erasure's number of chats whose messages the purge reads
// ahead of the chat it queues.
const chatsAhead = 4

func TestService_Purge_ReadsChatsAhead(t *testing.T) {
	f := newFixture(t)
	const chats = 40
	addChats(f, chats, byClient, byPracA)
	r := due(t, f)
	var (
		at    gauge
		reads atomic.Int32
	)
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		if read != "messages" {
			return nil
		}
		at.in()
		reads.Add(1)
		time.Sleep(2 * time.Millisecond)
		return nil
	}, after: func(read string) {
		if read == "messages" {
			at.out()
		}
	}}
	got, err := f.svc.Purge(context.Background(), r.ID)
	if err != nil || got.Status != erasure.StatusCompleted {
		t.Fatalf("Purge: got %q, %v, want completed", got.Status, err)
	}
	if got.Deleted != r.WillDelete || got.Deleted.ChatSessions != chats {
		t.Errorf("Deleted: got %+v, want %+v with %d chats", got.Deleted, r.WillDelete, chats)
	}
	if n := reads.Load(); n != chats {
		t.Errorf("reads of messages: got %d, want one per chat (%d)", n, chats)
	}
	if m := at.most.Load(); m < 2 || m > chatsAhead+1 {
		t.Errorf("at most %d chats read at once, want more than one and at most %d", m, chatsAhead+1)
	}
	if n := at.now.Load(); n != 0 {
		t.Errorf("reads still going after the purge returned: %d", n)
	}
}

func TestService_Purge_ChatsBesideTheJournal(t *testing.T) {
	f := newFixture(t)
	r, s := requested(t, f)
	keysBefore := f.mem.Keys()
	// The journal's walk waits until the chats' walk has read a chat's
	// messages: walked one after the other, the journal would wait in vain.
	chatsRead := make(chan struct{})
	var once sync.Once
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		switch read {
		case "messages":
			once.Do(func() { close(chatsRead) })
		case "journal":
			select {
			case <-chatsRead:
			case <-time.After(5 * time.Second):
				return errors.New("the chats were not walked beside the journal")
			}
		}
		return nil
	}}
	got, err := f.svc.Purge(context.Background(), r.ID)
	if err != nil || got.Status != erasure.StatusCompleted || got.Deleted != r.WillDelete {
		t.Fatalf("Purge: got %q, deleted %+v, %v, want completed, %+v", got.Status, got.Deleted, err, r.WillDelete)
	}
	equalKeys(t, "items left", f.mem.Keys(), without(keysBefore, s.gone))
}

func TestService_Purge_AFailedWalkStopsTheOther(t *testing.T) {
	f := newFixture(t)
	const chats = 40
	addChats(f, chats, byClient)
	f.mem.AddJournal(practiceID, clientID, "j1", byClient)
	r := due(t, f)
	broken := errors.New("journal unavailable")
	failed := make(chan struct{})
	var first sync.Once
	hooked := &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		switch read {
		case "journal":
			close(failed)
			return broken
		case "messages":
			first.Do(func() {
				<-failed
				time.Sleep(200 * time.Millisecond) // the failure reaches the walks
			})
		}
		return nil
	}}
	f.svc.Content = hooked
	if _, err := f.svc.Purge(context.Background(), r.ID); !errors.Is(err, broken) {
		t.Fatalf("Purge: got %v, want the journal's error", err)
	}
	// The chats' walk stopped at its next page: the chats read ahead of
	// it were never queued.
	if got := f.stored(t, r.ID).Deleted; got.ChatMessages == 0 || got.ChatMessages > 1+chatsAhead || got.ChatSessions > got.ChatMessages {
		t.Errorf("chats deleted beside the failed journal: got %+v, want 1 to %d messages and no more sessions", got, 1+chatsAhead)
	}
	hooked.before = func(context.Context, string) error { return nil }
	f.clock.Advance(20 * time.Minute) // the failed invocation's lease runs out
	got, err := f.svc.Purge(context.Background(), r.ID)
	if err != nil || got.Status != erasure.StatusCompleted || got.Deleted != r.WillDelete {
		t.Fatalf("retry: got %q, deleted %+v, %v, want completed, %+v", got.Status, got.Deleted, err, r.WillDelete)
	}
}

func TestService_Purge_RecordsTheJournalBeforeTheDocuments(t *testing.T) {
	f := newFixture(t)
	r, _ := requested(t, f)
	// While the documents are walked, the request already records the
	// journal as deleted and the documents as where the purge goes on: an
	// invocation killed outright from here loses no more than their counts.
	var (
		seen  erasure.Request
		first sync.Once // the verify reads the documents again
	)
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		if read == "documents" {
			first.Do(func() { seen = f.stored(t, r.ID) })
		}
		return nil
	}}
	got, err := f.svc.Purge(context.Background(), r.ID)
	if err != nil || got.Status != erasure.StatusCompleted || got.Deleted != r.WillDelete {
		t.Fatalf("Purge: got %q, deleted %+v, %v, want completed, %+v (each counted once)", got.Status, got.Deleted, err, r.WillDelete)
	}
	if seen.PurgePhase != "documents" || seen.Deleted.JournalEntries != r.WillDelete.JournalEntries || seen.Deleted.Documents != 0 {
		t.Errorf("the request while the documents were walked: phase %q, deleted %+v, want documents, the journal's %d",
			seen.PurgePhase, seen.Deleted, r.WillDelete.JournalEntries)
	}
}
