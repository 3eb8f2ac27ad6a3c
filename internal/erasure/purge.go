package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// purgeLease is how long one purge invocation holds a request: longer than
// the longest Lambda invocation, so a second delivery of the same schedule
// never runs alongside a live one.
const purgeLease = 16 * time.Minute

// staleAccepting is how long a request may stay in StatusAccepting before
// the sweep rolls it back: far longer than any acceptance takes.
const staleAccepting = time.Hour

// earlyTolerance is how far ahead of a request's purge time a purge may
// still start. The request's own schedule fires at its purge time, give or
// take the seconds Scheduler's delivery and two clocks differ by; anything
// earlier is a stray delivery, and purging then would take from the client
// the days they were promised to change their mind.
const earlyTolerance = 5 * time.Minute

// createdBy reports whether the client created an item. It is the one rule
// that decides what a purge may delete: the stores' filters only narrow
// what is read.
func createdBy(a Author, clientID string) bool {
	return a.Role == identity.RoleClient && a.ID == clientID
}

// direct reports whether a chat session is the client's own conversation
// (no other client takes part), which goes whole. In a group conversation
// only the client's messages go.
func direct(s ChatSession, clientID string) bool {
	return len(s.ClientIDs) == 1 && s.ClientIDs[0] == clientID
}

// Scope counts what a purge of the client would delete now. It needs only
// the client's file, so it is no use case's method.
func Scope(ctx context.Context, content Content, practiceID, clientID string) (Counts, error) {
	c, _, err := files{content}.scopeHolding(ctx, practiceID, clientID, nil)
	return c, err
}

// scopeReads bounds the reads a count makes at once. The journal, the
// documents, the walk of the chats and each chat's messages are read side
// by side, so that accepting a request of a client in hundreds of chats
// does not wait on one query after another.
const scopeReads = 8

// scopeHolding counts the client's content in scope, but for the documents
// kept for an unresolved key (held is the request's UnresolvedObjects),
// and reports whether a chat link leads to a session that is gone (the
// purge deletes such links too). The first read to fail cancels the
// others, and no read starts after it.
func (s files) scopeHolding(ctx context.Context, practiceID, clientID string, held []string) (Counts, bool, error) {
	var (
		c        Counts
		mu       sync.Mutex // guards c's fields the reads add to
		dangling bool       // written by the chat walk alone, like c.ChatSessions
	)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(scopeReads)
	// tally runs n in the group and adds what it counts to *field.
	tally := func(what string, field *int, n func(context.Context) (int, error)) {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			k, err := n(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			mu.Lock()
			*field += k
			mu.Unlock()
			return nil
		})
	}
	mine := func(a Author) bool { return createdBy(a, clientID) }
	tally("journal entries", &c.JournalEntries, func(ctx context.Context) (int, error) {
		return count(func(fn func([]JournalEntry) error) error {
			return s.content.JournalEntries(ctx, practiceID, clientID, fn)
		}, func(e JournalEntry) bool { return mine(e.Author) })
	})
	tally("documents", &c.Documents, func(ctx context.Context) (int, error) {
		return count(func(fn func([]Document) error) error {
			return s.content.Documents(ctx, practiceID, clientID, fn)
		}, func(d Document) bool { return mine(d.Author) && (held == nil || !holds(d, held)) })
	})
	// The walk is one of the group's reads, and starts the reads of each
	// chat's messages as it goes (waiting for a free slot).
	g.Go(func() error {
		err := s.chats(ctx, practiceID, clientID, func(ref ChatRef, sess ChatSession, found bool) error {
			if !found {
				dangling = true
				return nil
			}
			whole := direct(sess, clientID)
			if whole {
				c.ChatSessions++
			}
			tally("chats", &c.ChatMessages, func(ctx context.Context) (int, error) {
				return count(func(fn func([]ChatMessage) error) error {
					return s.content.ChatMessages(ctx, practiceID, sess.ID, fn)
				}, func(m ChatMessage) bool { return whole || mine(m.Author) })
			})
			return nil
		})
		if err != nil {
			return fmt.Errorf("chats: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return Counts{}, false, err
	}
	return c, dangling, nil
}

// count reads pages through read and counts the entries keep accepts.
func count[T any](read func(func([]T) error) error, keep func(T) bool) (int, error) {
	n := 0
	err := read(func(page []T) error {
		for _, x := range page {
			if keep(x) {
				n++
			}
		}
		return nil
	})
	return n, err
}

// chats calls fn for each chat the client takes part in, with its session
// (found is false for a reference to a session that no longer exists).
func (s files) chats(ctx context.Context, practiceID, clientID string, fn func(ChatRef, ChatSession, bool) error) error {
	return s.chatPagesAfter(ctx, practiceID, clientID, "", func(page []chat) error {
		for _, c := range page {
			if err := fn(c.ref, c.sess, c.found); err != nil {
				return err
			}
		}
		return nil
	})
}

// chat is one of the client's chat links with its session (found is false
// for a link to a session that no longer exists).
type chat struct {
	ref   ChatRef
	sess  ChatSession
	found bool
}

// chatPagesAfter calls fn with each page of the client's chat links after
// after, in order, each with its session.
func (s files) chatPagesAfter(ctx context.Context, practiceID, clientID, after string, fn func([]chat) error) error {
	return s.content.ChatRefs(ctx, practiceID, clientID, after, func(page []ChatRef) error {
		ids := make([]string, len(page))
		for i, ref := range page {
			ids[i] = ref.SessionID
		}
		sessions, err := s.content.ChatSessions(ctx, practiceID, ids)
		if err != nil {
			return fmt.Errorf("chat sessions: %w", err)
		}
		chats := make([]chat, len(page))
		for i, ref := range page {
			sess, found := sessions[ref.SessionID]
			chats[i] = chat{ref: ref, sess: sess, found: found}
		}
		return fn(chats)
	})
}

// Purge deletes the content the request's client created. It is what the
// purge schedule invokes, and safe to invoke again: a request already
// finished, or unknown, is left as it is (only what it still owes is
// delivered). It never starts a purge before the request's purge time
// (less earlyTolerance): such a delivery changes nothing and returns no
// error, so that it is not retried; the request's own schedule still fires
// on time. A purge already started goes on whatever the time. An error
// means the purge is not complete and the invocation should be retried.
func (s *Purger) Purge(ctx context.Context, requestID string) (Request, error) {
	return s.purge(ctx, requestID, false)
}

// purge is Purge; retry is the sweep's new try at a request set aside.
func (s *Purger) purge(ctx context.Context, requestID string, retry bool) (Request, error) {
	r, err := s.requests.GetRequest(ctx, requestID)
	if errors.Is(err, identity.ErrNotFound) {
		// The schedule of a request rolled back before it was accepted.
		s.log().WarnContext(ctx, "purge of an unknown request: nothing to do", "deletionRequestId", requestID)
		return Request{}, nil
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	if r.Status == StatusAccepting {
		// Its acceptance never finished: no one was promised a purge, and
		// the sweep rolls it back unless the client's retry finishes it.
		s.log().WarnContext(ctx, "purge of a request not accepted: nothing to do", "deletionRequestId", r.ID)
		return r, nil
	}
	if !r.Status.Pending() && !(retry && r.Status == StatusNeedsAttention) {
		s.log().InfoContext(ctx, "purge already done", "deletionRequestId", r.ID, "status", r.Status)
		// A retry after a delivery failed: make what is owed.
		if err := s.deliver(ctx, r.ID, nil); err != nil {
			return Request{}, fmt.Errorf("deliver: %w", err)
		}
		return r, nil
	}
	now := s.now()
	if early := r.PurgeAt.Sub(now); r.Status == StatusScheduled && early > earlyTolerance {
		// The stored purge time decides, not the delivery: whatever
		// invoked this (a stray or misdated schedule, a hand-made event)
		// must not take the client's remaining days to cancel.
		s.log().WarnContext(ctx, "purge delivered before the request's purge time: not started",
			"deletionRequestId", r.ID, "status", r.Status, "purgeAt", r.PurgeAt, "early", early.Round(time.Second).String())
		return r, nil
	}
	lease := now.Add(purgeLease)
	r, err = s.requests.StartPurge(ctx, requestID, now, lease, retry)
	if errors.Is(err, identity.ErrConditionFailed) {
		cur, gerr := s.requests.GetRequest(ctx, requestID)
		if gerr != nil {
			return Request{}, fmt.Errorf("get request: %w", gerr)
		}
		if cur.Status == StatusPurging {
			// Another invocation holds the lease. Fail, so that this
			// delivery is retried and finds the purge done, or the lease
			// free if that invocation died.
			return Request{}, identity.Errorf(identity.EConflict, "purge of %s is running in another invocation", requestID)
		}
		return cur, nil
	}
	if err != nil {
		return Request{}, fmt.Errorf("start purge: %w", err)
	}
	done, err := s.finishPurge(ctx, r, now)
	if err != nil {
		// Give the lease back so the continuation or the retry can start
		// at once, even when this invocation's context is done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := s.requests.ReleasePurge(rctx, requestID, lease); rerr != nil {
			s.log().ErrorContext(ctx, "release purge lease", "deletionRequestId", requestID, "err", rerr)
		}
		if errors.Is(err, errHandedOver) {
			return done, nil
		}
		return Request{}, err
	}
	return done, nil
}

// Purge phases, in order. The request records the phase it reached, so a
// continuation starts there; verify sends the purge round again when it
// finds anything left.
const (
	phaseJournal   = "journal"
	phaseDocuments = "documents"
	phaseChats     = "chats"
	phaseVerify    = "verify"
	phaseDone      = "done"
)

// Defaults of the purge's tuning knobs (PurgeConfig).
const (
	defaultPurgeConcurrency = 8
	// defaultPurgeMargin is kept free before the invocation's deadline to
	// flush, checkpoint and hand over.
	defaultPurgeMargin = time.Minute
	// continueAfter is when the continuation of an unfinished purge runs.
	continueAfter = time.Minute
)

// stopAt is when this invocation stops taking on work.
func (s *Purger) stopAt(ctx context.Context, start time.Time) time.Time {
	return s.cfg.stopAt(ctx, start)
}

// stopAt is when an invocation that started at start stops taking on
// work: Margin before its deadline, or Budget after start, whichever is
// first (the zero time: never).
func (c PurgeConfig) stopAt(ctx context.Context, start time.Time) time.Time {
	margin := c.Margin
	if margin <= 0 {
		margin = defaultPurgeMargin
	}
	stop := time.Time{}
	if d, ok := ctx.Deadline(); ok {
		stop = d.Add(-margin)
	}
	if c.Budget > 0 {
		if b := start.Add(c.Budget); stop.IsZero() || b.Before(stop) {
			stop = b
		}
	}
	return stop
}

func timeUp(stop time.Time) bool { return !stop.IsZero() && !time.Now().Before(stop) }

func (s *Purger) finishPurge(ctx context.Context, r Request, now time.Time) (Request, error) {
	requestID := r.ID
	// Close the portal first, so the client cannot add content while it
	// is being removed.
	if err := s.requests.ClosePortal(ctx, r.PracticeID, r.ClientID, r.ID, now); err != nil {
		return Request{}, fmt.Errorf("close portal: %w", err)
	}
	stop := s.stopAt(ctx, time.Now())
	phase := r.PurgePhase
	if phase == "" || phase == phaseDone {
		phase = phaseJournal
	}
	cursor := r.PurgeCursor
	for first := true; phase != phaseDone; first = false {
		// Every invocation does at least one phase's first page, so a
		// purge always moves, however short its time.
		if !first && timeUp(stop) {
			return s.handOver(ctx, r)
		}
		next, nextCursor, stopped, err := s.runPhase(ctx, r, phase, cursor, stop)
		if err != nil {
			return Request{}, fmt.Errorf("purge %s: %w", phase, err)
		}
		if stopped {
			return s.handOver(ctx, r)
		}
		phase, cursor = next, nextCursor
	}
	r, err := s.requests.GetRequest(ctx, requestID)
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	if n := len(r.UnresolvedObjects); n > 0 {
		r, err = s.requests.SetAside(ctx, requestID, s.now())
		if err != nil {
			return Request{}, fmt.Errorf("set aside: %w", err)
		}
		s.log().ErrorContext(ctx, "purge finished but for objects S3 refuses to delete: needs attention", "deletionRequestId", r.ID,
			"unresolvedObjects", n, "invocations", r.Invocations)
	} else {
		r, err = s.requests.CompletePurge(ctx, requestID, s.now())
		if err != nil {
			return Request{}, fmt.Errorf("complete purge: %w", err)
		}
		s.log().InfoContext(ctx, "purge completed", "deletionRequestId", r.ID, "invocations", r.Invocations,
			"journalEntries", r.Deleted.JournalEntries, "documents", r.Deleted.Documents,
			"chatSessions", r.Deleted.ChatSessions, "chatMessages", r.Deleted.ChatMessages,
			"skippedObjects", len(r.SkippedObjects))
	}
	// After the transition, so the notices and the email give the
	// receipt's own dates. If a delivery fails the invocation fails, and
	// its retry (which finds the purge done) makes it; the sweep too.
	if err := s.deliver(ctx, r.ID, nil); err != nil {
		return Request{}, fmt.Errorf("deliver: %w", err)
	}
	return s.requests.GetRequest(ctx, requestID)
}

// runPhase runs one phase and records, in one write, what it deleted and
// where to start next time. stopped means the time ran out part way: the
// phase is recorded to run again, from the cursor (the last chat link whose
// chat is done; the other phases need none, as what they did is gone).
func (s *Purger) runPhase(ctx context.Context, r Request, phase, cursor string, stop time.Time) (next, nextCursor string, stopped bool, err error) {
	if phase == phaseVerify {
		clean, err := s.verify(ctx, r)
		if err != nil {
			return "", "", false, err
		}
		next = phaseDone
		if !clean {
			s.log().WarnContext(ctx, "verify found content left; purging again", "deletionRequestId", r.ID)
			next = phaseJournal
		}
		if err := s.requests.Checkpoint(ctx, r.ID, next, "", Counts{}, 0); err != nil {
			return "", "", false, fmt.Errorf("checkpoint: %w", err)
		}
		return next, "", false, nil
	}
	w := walker{content: s.content, objects: s.objects, log: s.log(), concurrency: s.cfg.Concurrency, pace: s.pace,
		checkpoint: func(ctx context.Context, next, cursor string, deleted Counts, objects int) error {
			return s.requests.Checkpoint(ctx, r.ID, next, cursor, deleted, objects)
		}}
	res, err := w.phase(ctx, target{requestID: r.ID, practiceID: r.PracticeID, clientID: r.ClientID},
		recorder{s.requests, r.ID}, phase, cursor, stop)
	// Record what is confirmed deleted even when the phase failed, with a
	// context that outlives a cancelled invocation.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if cerr := s.requests.Checkpoint(cctx, r.ID, res.Next, res.Cursor, res.Deleted, res.Objects); cerr != nil {
		err = errors.Join(err, fmt.Errorf("checkpoint: %w", cerr))
	}
	return res.Next, res.Cursor, res.Stopped, err
}

// verify reads the scope again and reports whether nothing of it is left
// but the documents kept for their unresolved objects. Every object was
// confirmed gone before its document's item was deleted.
func (s *Purger) verify(ctx context.Context, r Request) (bool, error) {
	cur, err := s.requests.GetRequest(ctx, r.ID)
	if err != nil {
		return false, fmt.Errorf("get request: %w", err)
	}
	held := append([]string{}, cur.UnresolvedObjects...) // non-nil: hold by it
	left, dangling, err := s.scopeHolding(ctx, r.PracticeID, r.ClientID, held)
	if err != nil {
		return false, err
	}
	return left == (Counts{}) && !dangling, nil
}

// handOver ends an invocation whose time ran out before the purge did: it
// schedules the continuation and gives back the lease. A one-shot schedule
// a minute out, rather than an asynchronous self-invoke: it needs no Lambda
// permission on itself, and carries Scheduler's retries and dead-letter
// queue, like the first delivery.
func (s *Purger) handOver(ctx context.Context, r Request) (Request, error) {
	cur, err := s.requests.GetRequest(ctx, r.ID)
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	next := PurgeSchedule{
		Name:      fmt.Sprintf("%s-%d", ScheduleName(r.ID), cur.Invocations),
		At:        s.now().Add(continueAfter).Truncate(time.Second),
		RequestID: r.ID,
	}
	if err := s.scheduler.CreatePurgeSchedule(ctx, next); err != nil && !errors.Is(err, identity.ErrAlreadyExists) {
		return Request{}, fmt.Errorf("schedule continuation: %w", err)
	}
	s.log().InfoContext(ctx, "purge continues in a new invocation", "deletionRequestId", r.ID,
		"phase", cur.PurgePhase, "invocations", cur.Invocations, "at", next.At)
	return cur, errHandedOver
}

// errHandedOver tells Purge that the invocation ended on time with the
// purge continuing elsewhere.
var errHandedOver = errors.New("handed over")

// outstanding calls fn with each request that has something left to do,
// as the table has it now: the index the store reads it from is a moment
// behind (a request there may have just completed, been set aside or had
// its email sent), so each is read again before the sweep acts on it. One
// that has since gone is skipped; one that came too late for the index is
// the next sweep's. A request that cannot be read is an error in errs.
func (s *Purger) outstanding(ctx context.Context, errs *[]error, fn func(Request)) error {
	return s.requests.OutstandingRequests(ctx, func(page []Request) error {
		for _, listed := range page {
			r, err := s.requests.GetRequest(ctx, listed.ID)
			switch {
			case errors.Is(err, identity.ErrNotFound):
				continue // rolled back meanwhile
			case err != nil:
				*errs = append(*errs, fmt.Errorf("read %s: %w", listed.ID, err))
				continue
			}
			fn(r)
		}
		return nil
	})
}

// overdueAfter is how long past its purge time a pending request counts as
// overdue.
const overdueAfter = time.Hour

// retryEvery is how often the sweep tries again a request set aside.
const retryEvery = 24 * time.Hour

// Sweep is the safety net behind the schedules. It reads the requests with
// something left to do (never the whole table) and: makes every delivery
// still owed, whatever the request's status; purges any request still
// pending SweepGrace after its purge time (a schedule that never fired, or
// a purge whose retries ran out); rolls back a request whose acceptance
// died an hour ago; and tries again, once a day, a request set aside.
func (s *Purger) Sweep(ctx context.Context) (SweepReport, error) {
	now := s.now()
	rep := SweepReport{At: now}
	var (
		errs         []error
		purge, retry []string
	)
	err := s.outstanding(ctx, &errs, func(r Request) {
		switch {
		case r.Status == StatusAccepting:
			if now.After(r.RequestedAt.Add(staleAccepting)) {
				// Its acceptance died before the schedule was
				// confirmed and the client never retried: no 2xx
				// promised a purge, so roll it back rather than leave
				// it half made.
				if err := s.requests.DeleteAcceptingRequest(ctx, r); err != nil && !errors.Is(err, identity.ErrConditionFailed) {
					errs = append(errs, fmt.Errorf("roll back %s: %w", r.ID, err))
				}
			}
			return
		case r.Status.Pending():
			if now.After(r.PurgeAt.Add(overdueAfter)) {
				rep.Overdue++
			}
			if now.After(r.PurgeAt.Add(s.cfg.SweepGrace)) {
				purge = append(purge, r.ID)
			}
		case r.Status == StatusNeedsAttention:
			rep.NeedsAttention++
			if r.SetAsideAt == nil || !now.Before(r.SetAsideAt.Add(retryEvery)) {
				retry = append(retry, r.ID)
			}
		}
		if len(r.Owed) > 0 || r.Status.Finished() {
			// Make what is owed; a finished request owing nothing
			// more leaves the index.
			if err := s.deliver(ctx, r.ID, nil); err != nil {
				errs = append(errs, fmt.Errorf("deliver %s: %w", r.ID, err))
			}
			if r.Status.Finished() && len(r.Owed) == 0 {
				if err := s.requests.ReleaseDeliveries(ctx, r.ID); err != nil {
					errs = append(errs, fmt.Errorf("release %s: %w", r.ID, err))
				}
			}
		}
	})
	if err != nil {
		return SweepReport{}, fmt.Errorf("outstanding requests: %w", err)
	}
	run := func(ids []string, retry bool, why string) {
		slices.Sort(ids)
		for _, id := range ids {
			s.log().WarnContext(ctx, why, "deletionRequestId", id)
			done, err := s.purge(ctx, id, retry)
			if identity.ErrorCode(err) == identity.EConflict {
				continue // running in another invocation
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("purge %s: %w", id, err))
			} else if done.Status == StatusCompleted {
				rep.Completed = append(rep.Completed, done)
			}
		}
	}
	run(purge, false, "sweep: purging an overdue request")
	run(retry, true, "sweep: trying again a request set aside")
	// What is still owed once the sweep is done.
	err = s.outstanding(ctx, &errs, func(r Request) {
		if len(r.Owed) > 0 {
			rep.EmailsOwed++
		}
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("outstanding requests: %w", err))
	}
	return rep, errors.Join(errs...)
}
