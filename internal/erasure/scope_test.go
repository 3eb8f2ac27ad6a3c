package erasure_test

import (
	"context"
	"errors"
	"fmt"
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

// addChats adds n conversations of the client, s00 on, each with a message
// m1, m2, … by each of authors.
func addChats(f *fixture, n int, authors ...erasure.Author) {
	for i := range n {
		sid := fmt.Sprintf("s%02d", i)
		f.mem.AddChat(practiceID, sid, clientID)
		for j, a := range authors {
			f.mem.AddMessage(practiceID, sid, fmt.Sprintf("m%d", j+1), a)
		}
	}
}

// gauge counts the calls in progress (in, out) and the most at once.
type gauge struct{ now, most atomic.Int32 }

func (g *gauge) in() {
	n := g.now.Add(1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
}

func (g *gauge) out() { g.now.Add(-1) }

// scopeReads is erasure's bound on a count's reads at once.
const scopeReads = 8

func TestService_Scope_Limit(t *testing.T) {
	f := newFixture(t)
	const chats = 40
	addChats(f, chats, byPracA)
	f.mem.AddJournal(practiceID, clientID, "j1", byClient)
	var (
		at    gauge
		reads atomic.Int32
	)
	f.svc.Content = &hookedContent{Memory: f.mem, before: func(ctx context.Context, read string) error {
		at.in()
		reads.Add(1)
		if read != "chat refs" { // the walk is in flight while it starts the others
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}, after: func(string) { at.out() }}
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
	if m := at.most.Load(); m > scopeReads || m < 3 {
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
