package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// purgeLease is how long one purge invocation holds a request: longer than
// the longest Lambda invocation, so a second delivery of the same schedule
// never runs alongside a live one.
const purgeLease = 16 * time.Minute

// staleAccepting is how long a request may stay in StatusAccepting before
// the sweep rolls it back: far longer than any acceptance takes.
const staleAccepting = time.Hour

// createdBy reports whether the client created an item. It is the one rule
// that decides what a purge may delete: the stores' filters only narrow
// what is read.
func createdBy(a Author, clientID string) bool {
	return a.Role == RoleClient && a.ID == clientID
}

// direct reports whether a chat session is the client's own conversation
// (no other client takes part), which goes whole. In a group conversation
// only the client's messages go.
func direct(s ChatSession, clientID string) bool {
	return len(s.ClientIDs) == 1 && s.ClientIDs[0] == clientID
}

// Scope counts what a purge of the client would delete now.
func (s *Service) Scope(ctx context.Context, practiceID, clientID string) (Counts, error) {
	var c Counts
	err := s.Content.JournalEntries(ctx, practiceID, clientID, func(page []JournalEntry) error {
		for _, e := range page {
			if createdBy(e.Author, clientID) {
				c.JournalEntries++
			}
		}
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("journal entries: %w", err)
	}
	err = s.Content.Documents(ctx, practiceID, clientID, func(page []Document) error {
		for _, d := range page {
			if createdBy(d.Author, clientID) {
				c.Documents++
			}
		}
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("documents: %w", err)
	}
	err = s.chats(ctx, practiceID, clientID, func(ref ChatRef, sess ChatSession, found bool) error {
		if !found {
			return nil
		}
		whole := direct(sess, clientID)
		if whole {
			c.ChatSessions++
		}
		return s.Content.ChatMessages(ctx, practiceID, sess.ID, func(page []ChatMessage) error {
			for _, m := range page {
				if whole || createdBy(m.Author, clientID) {
					c.ChatMessages++
				}
			}
			return nil
		})
	})
	if err != nil {
		return Counts{}, fmt.Errorf("chats: %w", err)
	}
	return c, nil
}

// chats calls fn for each chat the client takes part in, with its session
// (found is false for a reference to a session that no longer exists).
func (s *Service) chats(ctx context.Context, practiceID, clientID string, fn func(ChatRef, ChatSession, bool) error) error {
	return s.Content.ChatRefs(ctx, practiceID, clientID, func(page []ChatRef) error {
		for _, ref := range page {
			sess, err := s.Content.ChatSession(ctx, practiceID, ref.SessionID)
			found := err == nil
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("chat session: %w", err)
			}
			if err := fn(ref, sess, found); err != nil {
				return err
			}
		}
		return nil
	})
}

// Purge deletes the content the request's client created. It is what the
// purge schedule invokes, and safe to invoke again: a request already
// completed, or unknown, is left as it is. An error means the purge is not
// complete and the invocation should be retried.
func (s *Service) Purge(ctx context.Context, requestID string) (Request, error) {
	r, err := s.Requests.GetRequest(ctx, requestID)
	if errors.Is(err, ErrNotFound) {
		// The schedule of a request rolled back before it was accepted.
		s.log().WarnContext(ctx, "purge of an unknown request: nothing to do", "requestId", requestID)
		return Request{}, nil
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	if !r.Status.Pending() {
		s.log().InfoContext(ctx, "purge already done", "requestId", r.ID, "status", r.Status)
		return r, nil
	}
	now := s.now()
	lease := now.Add(purgeLease)
	r, err = s.Requests.StartPurge(ctx, requestID, now, lease)
	if errors.Is(err, ErrConditionFailed) {
		cur, gerr := s.Requests.GetRequest(ctx, requestID)
		if gerr != nil {
			return Request{}, fmt.Errorf("get request: %w", gerr)
		}
		if cur.Status.Pending() {
			// Another invocation holds the lease. Fail, so that this
			// delivery is retried and finds the purge done, or the lease
			// free if that invocation died.
			return Request{}, Errorf(EConflict, "purge of %s is running in another invocation", requestID)
		}
		return cur, nil
	}
	if err != nil {
		return Request{}, fmt.Errorf("start purge: %w", err)
	}
	r, err = s.finishPurge(ctx, r, now)
	if err != nil {
		// Give the lease back so the retry can start at once.
		if rerr := s.Requests.ReleasePurge(ctx, requestID, lease); rerr != nil {
			s.log().ErrorContext(ctx, "release purge lease", "requestId", requestID, "err", rerr)
		}
		return Request{}, err
	}
	return r, nil
}

func (s *Service) finishPurge(ctx context.Context, r Request, now time.Time) (Request, error) {
	requestID := r.ID
	// Close the portal first, so the client cannot add content while it
	// is being removed.
	if err := s.Requests.ClosePortal(ctx, r.PracticeID, r.ClientID, r.ID, now); err != nil {
		return Request{}, fmt.Errorf("close portal: %w", err)
	}
	if err := s.purgeContent(ctx, r); err != nil {
		return Request{}, err
	}
	r, err := s.Requests.GetRequest(ctx, requestID)
	if err != nil {
		return Request{}, fmt.Errorf("get request: %w", err)
	}
	// Notify before completing: a retry after a failure here notifies
	// again, and notifications are written once whatever the retries.
	if err := s.notifyCompleted(ctx, r, s.now()); err != nil {
		return Request{}, fmt.Errorf("notify completion: %w", err)
	}
	r, err = s.Requests.CompletePurge(ctx, requestID, s.now())
	if err != nil {
		return Request{}, fmt.Errorf("complete purge: %w", err)
	}
	s.log().InfoContext(ctx, "purge completed", "requestId", r.ID,
		"journalEntries", r.Deleted.JournalEntries, "documents", r.Deleted.Documents,
		"chatSessions", r.Deleted.ChatSessions, "chatMessages", r.Deleted.ChatMessages)
	return r, nil
}

// purgeContent deletes, page by page, every item in scope. Each category
// records what it deleted before the next starts.
func (s *Service) purgeContent(ctx context.Context, r Request) error {
	pid, cid := r.PracticeID, r.ClientID
	var journal Counts
	err := s.Content.JournalEntries(ctx, pid, cid, func(page []JournalEntry) error {
		var keys []ItemKey
		for _, e := range page {
			if createdBy(e.Author, cid) {
				keys = append(keys, e.Key)
			}
		}
		if err := s.Content.DeleteItems(ctx, keys); err != nil {
			return err
		}
		journal.JournalEntries += len(keys)
		return nil
	})
	if err := s.recordDeleted(ctx, r.ID, journal, err); err != nil {
		return fmt.Errorf("journal entries: %w", err)
	}

	var docs Counts
	err = s.Content.Documents(ctx, pid, cid, func(page []Document) error {
		var keys []ItemKey
		var objects []string
		for _, d := range page {
			if createdBy(d.Author, cid) {
				keys = append(keys, d.Key)
				objects = append(objects, d.ObjectKeys...)
			}
		}
		// Objects first: the item is the only pointer to them.
		if err := s.Objects.DeleteObjects(ctx, objects); err != nil {
			return err
		}
		if err := s.Content.DeleteItems(ctx, keys); err != nil {
			return err
		}
		docs.Documents += len(keys)
		return nil
	})
	if err := s.recordDeleted(ctx, r.ID, docs, err); err != nil {
		return fmt.Errorf("documents: %w", err)
	}

	var chats Counts
	err = s.chats(ctx, pid, cid, func(ref ChatRef, sess ChatSession, found bool) error {
		if !found {
			// A reference to a conversation that is gone.
			return s.Content.DeleteItems(ctx, []ItemKey{ref.Key})
		}
		whole := direct(sess, cid)
		err := s.Content.ChatMessages(ctx, pid, sess.ID, func(page []ChatMessage) error {
			var keys []ItemKey
			for _, m := range page {
				if whole || createdBy(m.Author, cid) {
					keys = append(keys, m.Key)
				}
			}
			if err := s.Content.DeleteItems(ctx, keys); err != nil {
				return err
			}
			chats.ChatMessages += len(keys)
			return nil
		})
		if err != nil || !whole {
			return err
		}
		// The session and the client's link to it go last, once no
		// message is left behind them.
		if err := s.Content.DeleteItems(ctx, []ItemKey{sess.Key, ref.Key}); err != nil {
			return err
		}
		chats.ChatSessions++
		return nil
	})
	if err := s.recordDeleted(ctx, r.ID, chats, err); err != nil {
		return fmt.Errorf("chats: %w", err)
	}
	return nil
}

// recordDeleted adds what was deleted to the request, also when the work
// stopped part way (err), so the counts survive a retry.
func (s *Service) recordDeleted(ctx context.Context, id string, c Counts, err error) error {
	if c != (Counts{}) {
		if aerr := s.Requests.AddDeleted(ctx, id, c); aerr != nil {
			return errors.Join(err, fmt.Errorf("record deleted counts: %w", aerr))
		}
	}
	return err
}

func (s *Service) notifyCompleted(ctx context.Context, r Request, at time.Time) error {
	c, err := s.client(ctx, r)
	if err != nil {
		return err
	}
	ps, _, err := s.recipients(ctx, r.PracticeID, c)
	if err != nil {
		return err
	}
	clear := at.Add(BackupRetention)
	for _, p := range ps {
		n := Notification{
			PractitionerID: p.ID,
			PracticeID:     r.PracticeID,
			ID:             r.ID + "-completed",
			Kind:           NoticeDeletionCompleted,
			RequestID:      r.ID,
			ClientID:       r.ClientID,
			ClientName:     c.DisplayName(),
			CreatedAt:      at,
			PurgeAt:        r.PurgeAt,
			Counts:         r.Deleted,
			Message: fmt.Sprintf("The content %s created was deleted: %s. Backups no longer hold it after %s.",
				c.DisplayName(), CountsInWords(r.Deleted), clear.Format("2 January 2006")),
		}
		if err := s.Notifications.PutNotification(ctx, n); err != nil {
			return fmt.Errorf("put notification: %w", err)
		}
	}
	return nil
}

// Sweep is the safety net behind the schedules: it finishes telling the
// practitioners about requests whose email failed, and purges any request
// still pending SweepGrace after its purge time (a schedule that never
// fired, or a purge whose retries ran out).
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	var errs []error
	var ids []string
	err := s.Requests.PendingRequests(ctx, func(page []Request) error {
		for _, r := range page {
			if r.Status == StatusScheduled && r.NotifiedAt == nil {
				if err := s.notifyRequested(ctx, r); err != nil {
					errs = append(errs, fmt.Errorf("notify %s: %w", r.ID, err))
				}
			}
			if r.Status != StatusAccepting && now.After(r.PurgeAt.Add(s.SweepGrace)) {
				ids = append(ids, r.ID)
			}
			if r.Status == StatusAccepting && now.After(r.RequestedAt.Add(staleAccepting)) {
				// Its acceptance died before the schedule was confirmed and
				// the client never retried: no 2xx promised a purge, so
				// roll it back rather than leave it half made.
				if err := s.Requests.DeleteAcceptingRequest(ctx, r); err != nil && !errors.Is(err, ErrConditionFailed) {
					errs = append(errs, fmt.Errorf("roll back %s: %w", r.ID, err))
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pending requests: %w", err)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.log().WarnContext(ctx, "sweep: purging an overdue request", "requestId", id)
		_, err := s.Purge(ctx, id)
		if ErrorCode(err) == EConflict {
			continue // running in another invocation
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("purge %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
