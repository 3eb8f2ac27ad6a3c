package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// kind says what a deleted key counts as in the receipt.
type kind int

const (
	kindNone kind = iota // a link item: deleted, not counted
	kindJournal
	kindDocument
	kindSession
	kindMessage
)

type entry struct {
	key  ItemKey
	kind kind
	// objects are the objects a document's item stands for: counted
	// deleted with it.
	objects int
}

// queuedDoc is a document waiting on its objects: its item goes once they
// are gone, unless one of them is unresolved.
type queuedDoc struct {
	key  ItemKey
	own  []string
	held bool
}

// Batch sizes of the stores: BatchWriteItem takes 25 requests, S3
// DeleteObjects 1000 keys.
const (
	itemBatch   = 25
	objectBatch = 1000
	// deferredMax bounds the keys held back until the rest is deleted.
	deferredMax = 1000
)

// sink collects the keys a purge deletes and sends them in full batches,
// several at once, so that the calls stay near their minimum however the
// pages fall. It keeps three orders that make a purge safe to interrupt:
//   - a document's item is deleted only after every object it points to
//     in the client's folder is confirmed gone (the item is the only
//     pointer to them), and every key it points to outside the folder is
//     recorded (on the request, or in the replay's report: the item is the
//     only trace of them); a document with an unresolved key (one no
//     object can have, or one S3 refused for good) is kept, and the key
//     recorded;
//   - deferred keys (a chat session and the client's link to it) are
//     deleted only after everything sent before them is confirmed gone, and
//     sessions before links, so the way back to anything left survives;
//   - a key is counted once it is known to be gone: when its batch
//     succeeded, or, for a batch that failed, when a read finds it gone.
//
// Memory stays bounded: at most one batch of each kind is held, plus the
// deferred keys (flushed at deferredMax) and the batches in flight.
//
// When the store throttles a batch (DeleteItems returns *Throttled), the
// keys it declined go back in the queue, to travel with the next full
// batch, and the sink slows down for their partition (pacer): it adapts
// its pace to what the partition takes rather than sending the same keys
// again harder.
type sink struct {
	ctx     context.Context
	content Content
	objects Objects
	record  keyLog
	sem     chan struct{}
	wg      sync.WaitGroup
	pace    *pacer

	items      []entry
	objs       []string
	foreign    []string
	unresolved []string
	objDocs    []queuedDoc
	deferred   []entry

	// queued counts the keys taken on, so a walk stops for time only once
	// it has something to show for the invocation.
	queued int
	// halt, when set, stops the walk at its next page with work taken on
	// (pageDone), as when the time is up.
	halt *atomic.Bool

	mu             sync.Mutex
	err            error
	deleted        Counts
	deletedObjects int // the objects of the documents counted in deleted
	// retry holds the keys a throttled batch left, until the walk (or
	// the barrier) sends them again; throttled counts how often each was
	// declined.
	retry     []entry
	throttled map[ItemKey]int
}

// maxThrottled bounds how often one key may be declined before the purge
// gives up and fails (the invocation is retried later); a store that
// throttles keeps taking some keys, so a paced purge never gets near it.
const maxThrottled = 100

func newSink(ctx context.Context, content Content, objects Objects, record keyLog, concurrency int, pace *pacer) *sink {
	return &sink{ctx: ctx, content: content, objects: objects, record: record, sem: make(chan struct{}, max(concurrency, 1)),
		pace: pace, throttled: map[ItemKey]int{}}
}

// requeue takes back the keys a throttled batch left.
func (k *sink) requeue(es []entry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range es {
		k.throttled[e.key]++
		if k.throttled[e.key] > maxThrottled && k.err == nil {
			k.err = fmt.Errorf("delete items: %v still throttled after %d tries", e.key, maxThrottled)
		}
	}
	k.retry = append(k.retry, es...)
}

// retries returns the keys waiting to be sent again, and forgets them.
func (k *sink) retries() []entry {
	k.mu.Lock()
	defer k.mu.Unlock()
	es := k.retry
	k.retry = nil
	return es
}

func (k *sink) failed() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err == nil && k.ctx.Err() != nil {
		k.err = k.ctx.Err()
	}
	return k.err
}

func (k *sink) fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err == nil {
		k.err = err
	}
}

// item queues a key for deletion.
func (k *sink) item(key ItemKey, kd kind) { k.add(entry{key: key, kind: kd}) }

// add queues an entry for deletion, with any keys a throttled batch left.
func (k *sink) add(e entry) {
	k.queued++
	k.items = append(k.items, e)
	k.items = append(k.items, k.retries()...)
	for len(k.items) >= itemBatch {
		k.dispatch(k.items[:itemBatch])
		k.items = append([]entry(nil), k.items[itemBatch:]...)
	}
}

// document queues a document: its objects in the client's folder (own)
// to delete, the keys outside it (foreign) and those no object can have
// (unresolved) to record first, then its item, unless it is held for an
// unresolved key.
func (k *sink) document(key ItemKey, own, foreign, unresolved []string) {
	k.queued++
	k.objs = append(k.objs, own...)
	k.foreign = append(k.foreign, foreign...)
	k.unresolved = append(k.unresolved, unresolved...)
	k.objDocs = append(k.objDocs, queuedDoc{key: key, own: own, held: len(unresolved) > 0})
	if len(k.objs) >= objectBatch || len(k.foreign)+len(k.unresolved) >= objectBatch {
		k.flushObjects()
	}
}

// defer queues keys to delete once everything queued before is gone.
func (k *sink) later(es ...entry) {
	k.queued += len(es)
	k.deferred = append(k.deferred, es...)
	if len(k.deferred) >= deferredMax {
		k.barrier()
	}
}

// flushObjects deletes the queued objects (the adapter confirms each is
// gone, or refused for good), records the foreign and unresolved keys, and
// then queues the items of the documents not held.
func (k *sink) flushObjects() {
	if len(k.objDocs) == 0 {
		return
	}
	var refused []string
	if k.failed() == nil {
		var err error
		if refused, err = k.objects.DeleteObjects(k.ctx, k.objs); err != nil {
			k.fail(err)
		}
	}
	unresolved := k.unresolved
	for _, key := range refused {
		unresolved = append(unresolved, SkippedKey(key))
	}
	if k.failed() == nil && len(k.foreign) > 0 {
		if err := k.record.skipped(k.ctx, k.foreign); err != nil {
			k.fail(fmt.Errorf("record skipped objects: %w", err))
		}
	}
	if k.failed() == nil && len(unresolved) > 0 {
		if err := k.record.unresolved(k.ctx, unresolved); err != nil {
			k.fail(fmt.Errorf("record unresolved objects: %w", err))
		}
	}
	docs := k.objDocs
	k.objs, k.foreign, k.unresolved, k.objDocs = nil, nil, nil, nil
	if k.failed() != nil {
		return
	}
	for _, d := range docs {
		if d.held || slices.ContainsFunc(d.own, func(key string) bool { return slices.Contains(refused, key) }) {
			continue
		}
		k.add(entry{key: d.key, kind: kindDocument, objects: len(d.own)})
	}
}

// dispatch deletes one batch in the background, at most cap(sem) at once
// (waiting included), once the pace of its partitions lets it go.
func (k *sink) dispatch(batch []entry) {
	if len(batch) == 0 || k.failed() != nil {
		return
	}
	batch = append([]entry(nil), batch...)
	select {
	case k.sem <- struct{}{}:
	case <-k.ctx.Done():
		k.fail(k.ctx.Err())
		return
	}
	k.wg.Add(1)
	// A throttle tells something new only of a batch booked after the
	// last cut: those booked before went at the old pace.
	booked := time.Now()
	at := k.pace.book(partitions(batch))
	go func() {
		defer k.wg.Done()
		defer func() { <-k.sem }()
		// Wait the batch's turn, again if its pace was cut meanwhile.
		for {
			if err := sleepUntil(k.ctx, at); err != nil {
				k.fail(err)
				return
			}
			again, ok := k.pace.rebook(partitions(batch), booked)
			if !ok {
				break
			}
			booked, at = time.Now(), again
		}
		keys := make([]ItemKey, len(batch))
		for i, e := range batch {
			keys[i] = e.key
		}
		var throttled *Throttled
		switch err := k.content.DeleteItems(k.ctx, keys); {
		case errors.As(err, &throttled):
			left := make(map[ItemKey]bool, len(throttled.Left))
			for _, key := range throttled.Left {
				left[key] = true
			}
			var gone, back []entry
			for _, e := range batch {
				if left[e.key] {
					back = append(back, e)
				} else {
					gone = append(gone, e)
				}
			}
			k.pace.throttled(partitions(back), booked)
			k.requeue(back)
			batch = gone
		case err != nil:
			k.fail(err)
			batch = k.resolve(batch)
		}
		k.pace.delivered(partitions(batch))
		var c Counts
		objects := 0
		for _, e := range batch {
			objects += e.objects
			switch e.kind {
			case kindJournal:
				c.JournalEntries++
			case kindDocument:
				c.Documents++
			case kindSession:
				c.ChatSessions++
			case kindMessage:
				c.ChatMessages++
			}
		}
		k.mu.Lock()
		k.deleted = k.deleted.Add(c)
		k.deletedObjects += objects
		k.mu.Unlock()
	}()
}

// resolve learns which entries of a failed batch are gone after all (the
// call may have taken effect in full or in part before it failed), so that
// the receipt counts them: a retry will not find them again. It reads with
// a context of its own, since the purge's may be the reason for the failure.
func (k *sink) resolve(batch []entry) []entry {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.ctx), 10*time.Second)
	defer cancel()
	keys := make([]ItemKey, len(batch))
	for i, e := range batch {
		keys[i] = e.key
	}
	left, err := k.content.ExistingItems(ctx, keys)
	if err != nil {
		return nil // unknown: count nothing rather than too much
	}
	exists := make(map[ItemKey]bool, len(left))
	for _, key := range left {
		exists[key] = true
	}
	var gone []entry
	for _, e := range batch {
		if !exists[e.key] {
			gone = append(gone, e)
		}
	}
	return gone
}

// drain sends es and waits until every key of it is gone, sending again
// what throttled batches left.
func (k *sink) drain(es []entry) {
	for len(es) > 0 && k.failed() == nil {
		for len(es) > 0 && k.failed() == nil {
			n := min(len(es), itemBatch)
			k.dispatch(es[:n])
			es = es[n:]
		}
		k.wg.Wait()
		es = k.retries()
	}
}

// barrier sends everything queued, waits for it, then sends the deferred
// keys and waits for them.
func (k *sink) barrier() {
	k.flushObjects()
	k.wg.Wait() // the batches in flight may leave keys to send again
	k.drain(append(k.items, k.retries()...))
	k.items = nil
	if k.failed() != nil {
		k.deferred = nil
		return
	}
	// Sessions before the links that lead to them: a link is the only
	// way back to a session, so it must not go while its session stays.
	var sessions, links []entry
	for _, e := range k.deferred {
		if e.kind == kindSession {
			sessions = append(sessions, e)
		} else {
			links = append(links, e)
		}
	}
	k.deferred = nil
	for _, stage := range [][]entry{sessions, links} {
		k.drain(stage)
	}
}

// finish sends everything and returns what was deleted (the items and
// the objects of the documents among them), and the first error.
func (k *sink) finish() (Counts, int, error) {
	k.barrier()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.deleted, k.deletedObjects, k.err
}
