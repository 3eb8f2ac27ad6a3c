package erasure

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// The phase walk is the purge's rule at work: it reads one client's file,
// phase by phase (journal, then documents; the chats beside them), keeps
// what the client created (createdBy, direct, and InClientFolder for the
// objects a document points to) and deletes it through the sink. The purge runs it for a deletion
// request, recording on the request what it leaves (keyLog); the replay
// after a restore (Replayer) runs the very same walk for the client of an
// erasure record, against the restored table and bucket, and keeps what it
// leaves in its report. There is no second copy of the rule.

// target is whose content a walk erases: the client of a practice, and the
// request (or the replayed request) the logs name.
type target struct {
	requestID, practiceID, clientID string
}

// keyLog is where a walk records the object keys it leaves: those outside
// the client's folder (skipped) and those no object can have or S3 refused
// for good (unresolved). A key given twice is recorded once.
type keyLog interface {
	skipped(ctx context.Context, keys []string) error
	unresolved(ctx context.Context, keys []string) error
}

// recorder records on the request the keys a purge leaves.
type recorder struct {
	requests RequestStore
	id       string
}

func (r recorder) skipped(ctx context.Context, keys []string) error {
	return r.requests.RecordSkippedObjects(ctx, r.id, keys)
}

func (r recorder) unresolved(ctx context.Context, keys []string) error {
	return r.requests.RecordUnresolvedObjects(ctx, r.id, keys)
}

// walker runs the phases over a Content and an Objects.
type walker struct {
	content     Content
	objects     Objects
	log         *slog.Logger
	concurrency int // delete batches in flight per walk (0: defaultPurgeConcurrency)
	// pace is what the walks learn of the store's partitions, kept from
	// one phase to the next (required).
	pace *pacer
	// halt, when set, stops the walks at their next page (as when the time
	// is up): the walk beside them failed.
	halt *atomic.Bool
	// checkpoint, when set, records what the client's walk deleted when
	// its journal ends, and that it goes on from next (with the chats'
	// cursor the call began with), while the documents and the chats go
	// on: an invocation killed outright then loses no more than one walk's
	// counts. The purge records on the request; the replay keeps its own.
	checkpoint func(ctx context.Context, next, cursor string, deleted Counts, objects int) error
}

// phaseResult is what one phase did and where the walk goes on.
type phaseResult struct {
	// Next is the phase to run next: the same phase, from Cursor, when the
	// phase stopped for time or failed.
	Next, Cursor string
	Stopped      bool
	// Deleted and Objects are what is confirmed deleted, even when the
	// phase failed.
	Deleted Counts
	Objects int
}

// phase runs the walks for t from phase (phaseJournal, phaseDocuments or
// phaseChats) until they end or the time is up (stop; the zero time never
// stops). Two walks run side by side: the client's own partition (the
// journal, then the documents, from phase; none from phaseChats) and the
// chats, after cursor (the last chat link done). Their deletes go to
// different partitions: the chats' to a partition each, which no rate
// binds, while the client's partition takes its writes at the pace it
// allows, so the chats cost no time of their own. Each walk has a sink of
// its own (concurrency batches in flight, the pace shared); when one walk
// fails, the other stops at its next page.
//
// The result says where to go on: phaseVerify when both walks ended;
// otherwise the phase the client's walk stopped in (phaseChats when only the
// chats are left), with the chats' cursor. Every call does at least one
// page's work.
func (w walker) phase(ctx context.Context, t target, log keyLog, phase, cursor string, stop time.Time) (phaseResult, error) {
	var own []string
	switch phase {
	case phaseJournal:
		own = []string{phaseJournal, phaseDocuments}
	case phaseDocuments:
		own = []string{phaseDocuments}
	case phaseChats:
	default:
		return phaseResult{}, fmt.Errorf("unknown purge phase %q", phase)
	}
	var (
		halt       atomic.Bool
		mine, chat phaseResult
		errs       [2]error
		wg         sync.WaitGroup
	)
	w.halt = &halt
	wg.Go(func() {
		mine.Next = phaseChats
		for i, p := range own {
			res, err := w.walk(ctx, t, log, p, "", stop)
			mine.Deleted, mine.Objects = mine.Deleted.Add(res.Deleted), mine.Objects+res.Objects
			if err != nil || res.Stopped {
				mine.Next, mine.Stopped, errs[0] = p, res.Stopped, err
				break
			}
			if i+1 < len(own) && w.checkpoint != nil {
				if err := w.checkpoint(ctx, own[i+1], cursor, mine.Deleted, mine.Objects); err != nil {
					// Not recorded: the final record has them.
					mine.Next, errs[0] = own[i+1], fmt.Errorf("checkpoint: %w", err)
					break
				}
				mine.Deleted, mine.Objects = Counts{}, 0
			}
		}
		if errs[0] != nil {
			halt.Store(true)
		}
	})
	wg.Go(func() {
		chat, errs[1] = w.walk(ctx, t, log, phaseChats, cursor, stop)
		if errs[1] != nil {
			halt.Store(true)
		}
	})
	wg.Wait()
	res := phaseResult{Next: mine.Next, Cursor: chat.Cursor, Stopped: mine.Stopped || chat.Stopped,
		Deleted: mine.Deleted.Add(chat.Deleted), Objects: mine.Objects + chat.Objects}
	if res.Next == phaseChats && chat.Next == phaseVerify {
		res.Next, res.Cursor = phaseVerify, ""
	}
	return res, errors.Join(errs[0], errs[1])
}

// walk runs one of phaseJournal, phaseDocuments and phaseChats for t, from
// cursor (the chats' last chat link done; the other walks need none, as
// what they did is gone), until it ends or the time is up. Next is
// phaseVerify when it ended, the same phase when it stopped or failed.
// Cursor is the last chat link whose chat is confirmed gone (cursor itself
// after a failure, when what was queued is not known to be gone).
func (w walker) walk(ctx context.Context, t target, log keyLog, phase, cursor string, stop time.Time) (phaseResult, error) {
	k := newSink(ctx, w.content, w.objects, log, cmp.Or(w.concurrency, defaultPurgeConcurrency), w.pace)
	k.halt = w.halt
	done := cursor
	var (
		res     phaseResult
		stopped bool
		err     error
	)
	switch phase {
	case phaseJournal:
		stopped, err = w.journal(ctx, t, k, stop)
	case phaseDocuments:
		stopped, err = w.documents(ctx, t, k, stop)
	case phaseChats:
		stopped, err = w.chats(ctx, t, k, cursor, &done, stop)
	default:
		return phaseResult{}, fmt.Errorf("unknown purge phase %q", phase)
	}
	deleted, objects, ferr := k.finish()
	err = errors.Join(err, ferr)
	res.Next, res.Cursor = phaseVerify, done // everything queued is confirmed gone
	res.Stopped, res.Deleted, res.Objects = stopped, deleted, objects
	if stopped || err != nil {
		res.Next = phase
	}
	if err != nil {
		res.Cursor = cursor
	}
	return res, err
}

// errStop ends a page walk when the time is up.
var errStop = errors.New("time is up")

func stopped(err error) (bool, error) {
	if errors.Is(err, errStop) {
		return true, nil
	}
	return false, err
}

func (w walker) journal(ctx context.Context, t target, k *sink, stop time.Time) (bool, error) {
	return stopped(w.content.JournalEntries(ctx, t.practiceID, t.clientID, func(page []JournalEntry) error {
		for _, e := range page {
			if createdBy(e.Author, t.clientID) {
				k.item(e.Key, kindJournal)
			}
		}
		return pageDone(k, stop)
	}))
}

// documents deletes the client's documents and the objects they point to
// in the client's folder. A key outside it is another's object, or none:
// it is left and recorded (its hash logged), and the document, which is
// the client's, still goes. A key no S3 object can have (ValidObjectKey),
// or one S3 refuses to delete for good, is unresolved: recorded for
// support, its document kept (the only pointer to it) while everything
// else goes.
func (w walker) documents(ctx context.Context, t target, k *sink, stop time.Time) (bool, error) {
	return stopped(w.content.Documents(ctx, t.practiceID, t.clientID, func(page []Document) error {
		for _, d := range page {
			if !createdBy(d.Author, t.clientID) {
				continue
			}
			own, foreign, unresolved := splitKeys(d.ObjectKeys, t.practiceID, t.clientID)
			for i, key := range foreign {
				w.log.WarnContext(ctx, "document points outside the client's folder: object left, key recorded",
					"deletionRequestId", t.requestID, "keyHash", KeyHash(key))
				foreign[i] = SkippedKey(key)
			}
			for i, key := range unresolved {
				w.log.ErrorContext(ctx, "document points to a key no object can have: document kept, key recorded",
					"deletionRequestId", t.requestID, "keyHash", KeyHash(key))
				unresolved[i] = SkippedKey(key)
			}
			k.document(d.Key, own, foreign, unresolved)
		}
		return pageDone(k, stop)
	}))
}

// chatsAhead is how many chats' messages the chats' walk reads ahead of
// the chat it queues. Each conversation is a partition of its own, so its
// reads need not wait behind the last one's: read one after another, a
// client's thousands of chats would cost a round trip each, and the chats'
// walk would outlast the client's own. Each chat read ahead holds at most
// one page (1 MB) unqueued.
const chatsAhead = 4

// chats walks the client's chat links after cursor; *done is set to the
// last link whose chat is fully queued. Chats are queued in order, their
// messages read up to chatsAhead chats ahead.
func (w walker) chats(ctx context.Context, t target, k *sink, cursor string, done *string, stop time.Time) (bool, error) {
	cid := t.clientID
	return stopped(files{w.content}.chatPagesAfter(ctx, t.practiceID, cid, cursor, func(page []chat) error {
		msgs := w.readAhead(ctx, t.practiceID, page)
		defer msgs.end()
		for i, c := range page {
			msgs.from(i)
			if !c.found {
				// A link to a conversation that is gone.
				k.later(entry{key: c.ref.Key, kind: kindNone})
				*done = c.ref.Key.SK
				if err := pageDone(k, stop); err != nil {
					return err
				}
				continue
			}
			whole := direct(c.sess, cid)
			for p := range msgs.feeds[i] {
				for _, m := range p {
					if whole || createdBy(m.Author, cid) {
						k.item(m.Key, kindMessage)
					}
				}
				if err := pageDone(k, stop); err != nil {
					return err
				}
			}
			if err := msgs.errs[i]; err != nil {
				return err
			}
			if whole {
				// The session and the client's link to it go once no
				// message is left behind them.
				k.later(entry{key: c.sess.Key, kind: kindSession}, entry{key: c.ref.Key, kind: kindNone})
			}
			*done = c.ref.Key.SK
			if err := pageDone(k, stop); err != nil {
				return err
			}
		}
		return nil
	}))
}

// readAhead reads the messages of a page of chats, each chat's pages
// through its own feed, chatsAhead chats ahead of the one asked for
// (chatReads.from). end stops the reads still going and waits for them.
func (w walker) readAhead(ctx context.Context, practiceID string, page []chat) *chatReads {
	ctx, cancel := context.WithCancel(ctx)
	return &chatReads{ctx: ctx, cancel: cancel, content: w.content, practiceID: practiceID, page: page,
		feeds: make([]chan []ChatMessage, len(page)), errs: make([]error, len(page))}
}

// chatReads is a page of chats being read ahead.
type chatReads struct {
	ctx        context.Context
	cancel     context.CancelFunc
	content    Content
	practiceID string
	page       []chat
	// feeds[i] carries chat i's pages and closes when it is read; errs[i]
	// is set before.
	feeds   []chan []ChatMessage
	errs    []error
	started int
	wg      sync.WaitGroup
}

// from starts the reads of chats i to i+chatsAhead not started yet.
func (r *chatReads) from(i int) {
	for ; r.started < len(r.page) && r.started <= i+chatsAhead; r.started++ {
		r.start(r.started)
	}
}

func (r *chatReads) start(i int) {
	feed := make(chan []ChatMessage, 1)
	r.feeds[i] = feed
	if !r.page[i].found {
		close(feed)
		return
	}
	r.wg.Go(func() {
		defer close(feed)
		r.errs[i] = r.content.ChatMessages(r.ctx, r.practiceID, r.page[i].sess.ID, func(p []ChatMessage) error {
			select {
			case feed <- p:
				return nil
			case <-r.ctx.Done():
				return r.ctx.Err()
			}
		})
	})
}

func (r *chatReads) end() {
	r.cancel()
	r.wg.Wait()
}

// pageDone ends the walk when a batch failed, or when the time is up and
// the walk has taken on some work: a walk over pages with nothing left to
// delete goes on to its end, so every invocation moves the purge forward.
func pageDone(k *sink, stop time.Time) error {
	if err := k.failed(); err != nil {
		return err
	}
	if (timeUp(stop) || k.halt != nil && k.halt.Load()) && k.queued > 0 {
		return errStop
	}
	return nil
}
