package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// hookedContent is the Memory's content with hooks around each read a
// count makes: the journal, the documents, the walk of the chats and each
// chat's messages. An error from before is the read's; after, when set, is
// called once the read has returned.
type hookedContent struct {
	*porttest.Memory
	before func(ctx context.Context, read string) error
	after  func(read string)
}

func (c *hookedContent) done(read string) {
	if c.after != nil {
		c.after(read)
	}
}

func (c *hookedContent) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	if err := c.before(ctx, "journal"); err != nil {
		return err
	}
	defer c.done("journal")
	return c.Memory.JournalEntries(ctx, practiceID, clientID, fn)
}

func (c *hookedContent) Documents(ctx context.Context, practiceID, clientID string, fn func([]erasure.Document) error) error {
	if err := c.before(ctx, "documents"); err != nil {
		return err
	}
	defer c.done("documents")
	return c.Memory.Documents(ctx, practiceID, clientID, fn)
}

func (c *hookedContent) ChatRefs(ctx context.Context, practiceID, clientID, after string, fn func([]erasure.ChatRef) error) error {
	if err := c.before(ctx, "chat refs"); err != nil {
		return err
	}
	defer c.done("chat refs")
	return c.Memory.ChatRefs(ctx, practiceID, clientID, after, fn)
}

func (c *hookedContent) ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]erasure.ChatMessage) error) error {
	if err := c.before(ctx, "messages"); err != nil {
		return err
	}
	defer c.done("messages")
	return c.Memory.ChatMessages(ctx, practiceID, sessionID, fn)
}

// scopeReads is erasure's bound on a count's reads at once.
const scopeReads = 8

func TestService_Scope_Limit(t *testing.T) {
	f := newFixture(t)
	const chats = 40
	for i := range chats {
		sid := fmt.Sprintf("s%02d", i)
		f.mem.AddChat(practiceID, sid, clientID)
		f.mem.AddMessage(practiceID, sid, "m1", byPracA)
	}
	f.mem.AddJournal(practiceID, clientID, "j1", byClient)
	var now, most, reads atomic.Int32
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		n := now.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		reads.Add(1)
		if read != "chat refs" { // the walk is in flight while it starts the others
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}, after: func(string) { now.Add(-1) }}
	got, err := f.svc.Scope(context.Background(), practiceID, clientID)
	if err != nil {
		t.Fatalf("Scope: %v", err)
	}
	if want := (erasure.Counts{JournalEntries: 1, ChatSessions: chats, ChatMessages: chats}); got != want {
		t.Errorf("Scope: got %+v, want %+v", got, want)
	}
	if want := int32(3 + chats); reads.Load() != want {
		t.Errorf("reads: got %d, want %d", reads.Load(), want)
	}
	if m := most.Load(); m > scopeReads || m < 3 {
		t.Errorf("at most %d reads at once, want %d (the limit)", m, scopeReads)
	}
}

func TestService_Scope_FirstErrorCancels(t *testing.T) {
	f := newFixture(t)
	f.mem.AddChat(practiceID, "s1", clientID)
	f.mem.AddMessage(practiceID, "s1", "m1", byClient)
	first := errors.New("first")
	started := make(chan struct{})
	cancelled := make(chan error, 1)
	var messages atomic.Int32
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		switch read {
		case "journal":
			close(started)
			<-ctx.Done()
			cancelled <- ctx.Err()
			return errors.New("second")
		case "documents":
			<-started
			return first
		case "chat refs":
			// The walk goes on once the count has failed: it starts no
			// read of messages.
			<-ctx.Done()
		case "messages":
			messages.Add(1)
		}
		return nil
	}}
	_, err := f.svc.Scope(context.Background(), practiceID, clientID)
	if !errors.Is(err, first) {
		t.Errorf("Scope: got %v, want the first error", err)
	}
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("the journal's context: got %v, want cancelled", err)
	}
	if n := messages.Load(); n != 0 {
		t.Errorf("reads of messages after the count failed: got %d, want 0", n)
	}
}

func TestService_Scope_DoneContext(t *testing.T) {
	f := newFixture(t)
	seedContent(f)
	var reads atomic.Int32
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(_ context.Context, read string) error {
		if read != "chat refs" {
			reads.Add(1)
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.svc.Scope(ctx, practiceID, clientID); !errors.Is(err, context.Canceled) {
		t.Errorf("Scope: got %v, want the context's error", err)
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("reads started with the context done: got %d, want 0", n)
	}
}

// chatsAhead is erasure's number of chats whose messages the purge reads
// ahead of the chat it queues.
const chatsAhead = 4

func TestService_Purge_ReadsChatsAhead(t *testing.T) {
	f := newFixture(t)
	const chats = 40
	for i := range chats {
		sid := fmt.Sprintf("s%02d", i)
		f.mem.AddChat(practiceID, sid, clientID)
		f.mem.AddMessage(practiceID, sid, "m1", byClient)
		f.mem.AddMessage(practiceID, sid, "m2", byPracA)
	}
	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	f.clock.Set(r.PurgeAt)
	var now, most, reads atomic.Int32
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		if read != "messages" {
			return nil
		}
		n := now.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		reads.Add(1)
		time.Sleep(2 * time.Millisecond)
		return nil
	}, after: func(read string) {
		if read == "messages" {
			now.Add(-1)
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
	if m := most.Load(); m < 2 || m > chatsAhead+1 {
		t.Errorf("at most %d chats read at once, want more than one and at most %d", m, chatsAhead+1)
	}
	if n := now.Load(); n != 0 {
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
	for i := range chats {
		sid := fmt.Sprintf("s%02d", i)
		f.mem.AddChat(practiceID, sid, clientID)
		f.mem.AddMessage(practiceID, sid, "m1", byClient)
	}
	f.mem.AddJournal(practiceID, clientID, "j1", byClient)
	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	f.clock.Set(r.PurgeAt)
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
