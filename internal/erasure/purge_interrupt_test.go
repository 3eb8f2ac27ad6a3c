package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// cut is how an interrupted call ends: the context is cancelled before the
// call has any effect, part way through it, or after it took effect but
// before its answer arrived.
type cut int

const (
	cutBefore cut = iota
	cutPartway
	cutAfter
)

// interrupter stands between the Service and the content fakes, and
// cancels the invocation's context during its k-th call (a page read, a
// session read, an item or object delete), the way a crash or a timeout
// cuts a purge off. Once the context is done every call fails, as the
// SDK's would.
type interrupter struct {
	mem     *porttest.Memory
	objects *porttest.Objects

	mu     sync.Mutex
	rng    *rand.Rand
	cancel context.CancelFunc
	left   int // calls before the cut; negative: never
	fired  bool
}

var (
	_ erasure.Content = (*interrupter)(nil)
	_ erasure.Objects = (*interrupter)(nil)
)

// arm makes the k-th call from now cancel through cancel (k < 0: none).
func (x *interrupter) arm(cancel context.CancelFunc, k int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cancel, x.left, x.fired = cancel, k, false
}

// next counts a call and reports whether to cut it, and how; it cancels
// the context of a call it cuts.
func (x *interrupter) next() (bool, cut) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.left < 0 || x.fired {
		return false, 0
	}
	if x.left > 0 {
		x.left--
		return false, 0
	}
	x.fired = true
	x.cancel()
	return true, cut(x.rng.IntN(3))
}

func (x *interrupter) hasFired() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.fired
}

// subset returns some of keys, neither none nor all when it can.
func subset[T any](x *interrupter, keys []T) []T {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(keys) < 2 {
		return nil
	}
	n := 1 + x.rng.IntN(len(keys)-1)
	idx := x.rng.Perm(len(keys))[:n]
	out := make([]T, n)
	for i, j := range idx {
		out[i] = keys[j]
	}
	return out
}

// read wraps one paged reader: each page is a call.
func read[T any](x *interrupter, ctx context.Context, fn func([]T) error, inner func(func([]T) error) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return inner(func(page []T) error {
		if err := ctx.Err(); err != nil {
			return err // the request for this page would have failed
		}
		if cut, how := x.next(); cut && how == cutBefore {
			return ctx.Err()
		}
		// Cut part way or after: the page arrived as the context went;
		// the Service must notice the cancellation itself.
		return fn(page)
	})
}

func (x *interrupter) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	return read(x, ctx, fn, func(fn func([]erasure.JournalEntry) error) error {
		return x.mem.JournalEntries(ctx, practiceID, clientID, fn)
	})
}

func (x *interrupter) Documents(ctx context.Context, practiceID, clientID string, fn func([]erasure.Document) error) error {
	return read(x, ctx, fn, func(fn func([]erasure.Document) error) error {
		return x.mem.Documents(ctx, practiceID, clientID, fn)
	})
}

func (x *interrupter) ChatRefs(ctx context.Context, practiceID, clientID, after string, fn func([]erasure.ChatRef) error) error {
	return read(x, ctx, fn, func(fn func([]erasure.ChatRef) error) error {
		return x.mem.ChatRefs(ctx, practiceID, clientID, after, fn)
	})
}

func (x *interrupter) ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]erasure.ChatMessage) error) error {
	return read(x, ctx, fn, func(fn func([]erasure.ChatMessage) error) error {
		return x.mem.ChatMessages(ctx, practiceID, sessionID, fn)
	})
}

func (x *interrupter) ChatSessions(ctx context.Context, practiceID string, sessionIDs []string) (map[string]erasure.ChatSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cut, _ := x.next(); cut {
		return nil, ctx.Err()
	}
	return x.mem.ChatSessions(ctx, practiceID, sessionIDs)
}

// partialItemBatches lets a cut item delete take effect in part.
const partialItemBatches = true

// ExistingItems answers whatever the context: the purge asks it with a
// context of its own after a failed delete.
func (x *interrupter) ExistingItems(ctx context.Context, keys []erasure.ItemKey) ([]erasure.ItemKey, error) {
	return x.mem.ExistingItems(context.WithoutCancel(ctx), keys)
}

func (x *interrupter) DeleteItems(ctx context.Context, keys []erasure.ItemKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cut, how := x.next()
	if !cut {
		return x.mem.DeleteItems(ctx, keys)
	}
	if how == cutPartway && !partialItemBatches {
		how = cutAfter
	}
	var done []erasure.ItemKey
	switch how {
	case cutPartway:
		done = subset(x, keys)
	case cutAfter:
		done = keys
	}
	if len(done) > 0 {
		if err := x.mem.DeleteItems(ctx, done); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (x *interrupter) DeleteObjects(ctx context.Context, keys []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cut, how := x.next()
	if !cut {
		return x.objects.DeleteObjects(ctx, keys)
	}
	var done []string
	switch how {
	case cutPartway:
		done = subset(x, keys)
	case cutAfter:
		done = keys
	}
	if len(done) > 0 {
		if _, err := x.objects.DeleteObjects(ctx, done); err != nil {
			return nil, err
		}
	}
	return nil, ctx.Err()
}

// interruptCases is how many random practices are purged with
// interruptions.
const interruptCases = 100

func TestService_Purge_Interrupted(t *testing.T) {
	for i := range interruptCases {
		seed := uint64(propertySeed + 1000 + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			c, rng := newPurgeCase(t, seed)
			x := &interrupter{mem: c.f.mem, objects: c.f.objects, rng: rand.New(rand.NewPCG(seed, 1))}
			c.f.svc.Content, c.f.svc.Objects = x, x

			// Each attempt is cut at a random call, later and later, so the
			// purge gets through whatever it has to re-read; the last runs
			// to the end. The retry comes at once: a failed invocation
			// gives its lease back.
			const attempts = 12
			for a := 1; ; a++ {
				if a > attempts {
					t.Fatalf("not completed after %d attempts", attempts)
				}
				ctx, cancel := context.WithCancel(context.Background())
				k := -1
				if a < attempts {
					k = rng.IntN(5 << a)
				}
				x.arm(cancel, k)
				got, err := c.f.svc.Purge(ctx, c.r.ID)
				fired := x.hasFired()
				cancel()
				stored := c.f.stored(t, c.r.ID)
				if err == nil {
					// A cut after the last content call leaves nothing
					// that needs the context.
					if got.Status != erasure.StatusCompleted || stored.Status != erasure.StatusCompleted {
						t.Fatalf("attempt %d: got status %q (stored %q) and no error, want completed", a, got.Status, stored.Status)
					}
					checkCounts(t, c, x, a)
					break
				}
				if !fired {
					t.Fatalf("attempt %d: got error %v with no interruption, want nil", a, err)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("attempt %d: got error %v, want one wrapping %v", a, err, context.Canceled)
				}
				if stored.Status != erasure.StatusPurging || stored.CompletedAt != nil {
					t.Fatalf("attempt %d: got status %q, completed %v, want purging", a, stored.Status, stored.CompletedAt)
				}
				if n := len(c.f.notifications(erasure.NoticeDeletionCompleted)); n != 0 {
					t.Fatalf("attempt %d: got %d completion notices before completion, want 0", a, n)
				}
			}
			c.checkContent(t)
		})
	}
}

// checkCounts checks the receipt after an interrupted purge: exact, also
// when a delete that failed had taken effect (the purge reads back what a
// failed batch did).
func checkCounts(t *testing.T, c *purgeCase, x *interrupter, invocations int) {
	t.Helper()
	c.checkDone(t, invocations)
}

// spender makes an invocation's time budget run out on the first page it
// reads that holds something to delete: it sleeps past the budget before
// handing the page over. The Service checks the time after each page, so
// each invocation deletes that page and stops. (A budget that runs out
// before the first page, such as 1ns, or one spent re-reading what a phase
// already cleaned, makes no progress at all: a continuation restarts its
// phase from the first page.)
type spender struct {
	*porttest.Memory
	gone  map[erasure.ItemKey]bool
	sleep time.Duration
	mu    sync.Mutex
	spent bool
}

func (s *spender) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spent = false
}

func spend[T any](s *spender, key func(T) erasure.ItemKey, fn func([]T) error) func([]T) error {
	return func(page []T) error {
		for _, v := range page {
			if s.gone[key(v)] {
				s.mu.Lock()
				first := !s.spent
				s.spent = true
				s.mu.Unlock()
				if first {
					time.Sleep(s.sleep)
				}
				break
			}
		}
		return fn(page)
	}
}

func (s *spender) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	return s.Memory.JournalEntries(ctx, practiceID, clientID, spend(s, func(e erasure.JournalEntry) erasure.ItemKey { return e.Key }, fn))
}

func (s *spender) Documents(ctx context.Context, practiceID, clientID string, fn func([]erasure.Document) error) error {
	return s.Memory.Documents(ctx, practiceID, clientID, spend(s, func(d erasure.Document) erasure.ItemKey { return d.Key }, fn))
}

func (s *spender) ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]erasure.ChatMessage) error) error {
	return s.Memory.ChatMessages(ctx, practiceID, sessionID, spend(s, func(m erasure.ChatMessage) erasure.ItemKey { return m.Key }, fn))
}

func TestService_Purge_Budget(t *testing.T) {
	const budget = 20 * time.Millisecond
	for i := range 20 {
		seed := uint64(propertySeed + 2000 + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			c, _ := newPurgeCase(t, seed)
			if c.r.WillDelete == (erasure.Counts{}) {
				// Nothing to delete: one invocation completes it.
				got, err := c.f.svc.Purge(context.Background(), c.r.ID)
				if err != nil || got.Status != erasure.StatusCompleted || got.Invocations != 1 {
					t.Fatalf("got %q after %d invocations (%v), want completed after 1", got.Status, got.Invocations, err)
				}
				return
			}
			sp := &spender{Memory: c.f.mem, gone: c.w.gone, sleep: budget + 5*time.Millisecond}
			c.f.svc.Content = sp
			c.f.svc.PurgeBudget = budget
			ctx := context.Background()

			calls := 0
			for {
				calls++
				if calls > 200 {
					t.Fatalf("not completed after %d invocations", calls-1)
				}
				sp.reset()
				got, err := c.f.svc.Purge(ctx, c.r.ID)
				if err != nil {
					t.Fatalf("invocation %d: got error %v, want nil", calls, err)
				}
				if got.Status == erasure.StatusCompleted {
					break
				}
				if got.Status != erasure.StatusPurging || got.Invocations != calls {
					t.Fatalf("invocation %d: got status %q after %d invocations, want purging after %d", calls, got.Status, got.Invocations, calls)
				}
				// Its continuation: a one-shot schedule a minute out,
				// named after the request and the invocation.
				name := erasure.ScheduleName(c.r.ID) + "-" + strconv.Itoa(calls)
				s, ok := c.f.sched.Schedules[name] // no call is running
				want := erasure.PurgeSchedule{Name: name, At: c.f.clock.Now().Add(time.Minute).Truncate(time.Second), RequestID: c.r.ID}
				if !ok || s != want {
					t.Fatalf("invocation %d: got continuation %+v (%v), want %+v", calls, s, ok, want)
				}
				// The schedule fires.
				c.f.clock.Set(s.At)
			}
			if calls < 2 {
				t.Errorf("invocations: got %d, want more than 1", calls)
			}
			c.checkContent(t)
			done := c.checkDone(t, calls)
			if !done.CompletedAt.Equal(c.f.clock.Now()) {
				t.Errorf("CompletedAt: got %v, want %v", done.CompletedAt, c.f.clock.Now())
			}
			// The request's schedule and one continuation per invocation
			// but the last.
			if got := len(c.f.sched.Schedules); got != calls {
				t.Errorf("schedules: got %d, want %d", got, calls)
			}
		})
	}
}

// TestService_Purge_TinyBudget: a budget spent before any work still lets
// each invocation do a page, so the purge always ends.
func TestService_Purge_TinyBudget(t *testing.T) {
	for i := range 10 {
		seed := uint64(propertySeed + 3000 + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			c, _ := newPurgeCase(t, seed)
			c.f.svc.PurgeBudget = time.Nanosecond
			calls := 0
			for {
				calls++
				if calls > 1000 {
					t.Fatalf("not completed after %d invocations", calls-1)
				}
				got, err := c.f.svc.Purge(context.Background(), c.r.ID)
				if err != nil {
					t.Fatalf("invocation %d: %v", calls, err)
				}
				if got.Status == erasure.StatusCompleted {
					break
				}
				c.f.clock.Set(c.f.clock.Now().Add(time.Minute))
			}
			c.checkContent(t)
			c.checkDone(t, calls)
		})
	}
}

// gate holds the purge's first content read until released, so that the
// delivery holding the lease is still at work while the others arrive.
type gate struct {
	*porttest.Memory
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *gate) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.Memory.JournalEntries(ctx, practiceID, clientID, fn)
}

func TestService_Purge_ConcurrentDeliveries(t *testing.T) {
	ctx := context.Background()

	t.Run("OK/WhileRunning", func(t *testing.T) {
		// While one delivery holds the lease, every other fails with a
		// conflict (to be retried); once it is done, every delivery
		// finds the purge completed.
		for i := range 20 {
			seed := uint64(propertySeed + 3000 + i)
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				c, _ := newPurgeCase(t, seed)
				g := &gate{Memory: c.f.mem, entered: make(chan struct{}), release: make(chan struct{})}
				c.f.svc.Content = g

				const n = 6
				type result struct {
					r   erasure.Request
					err error
				}
				results := make(chan result, n)
				for range n {
					go func() {
						r, err := c.f.svc.Purge(ctx, c.r.ID)
						results <- result{r, err}
					}()
				}
				<-g.entered
				for range n - 1 {
					res := <-results
					if identity.ErrorCode(res.err) != identity.EConflict {
						t.Errorf("delivery while the purge runs: got %+v, %v, want code %s", res.r, res.err, identity.EConflict)
					}
				}
				close(g.release)
				if res := <-results; res.err != nil || res.r.Status != erasure.StatusCompleted {
					t.Fatalf("the delivery holding the lease: got status %q, %v, want completed", res.r.Status, res.err)
				}

				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						r, err := c.f.svc.Purge(ctx, c.r.ID)
						if err != nil || r.Status != erasure.StatusCompleted || r.Deleted != c.r.WillDelete {
							t.Errorf("delivery after completion: got status %q, deleted %+v, %v, want completed, %+v",
								r.Status, r.Deleted, err, c.r.WillDelete)
						}
					})
				}
				wg.Wait()
				c.checkContent(t)
				c.checkDone(t, 1)
			})
		}
	})

	t.Run("OK/Racing", func(t *testing.T) {
		// Deliveries race with no help: each either conflicts or returns
		// the completed purge, and exactly one purged.
		for i := range 50 {
			seed := uint64(propertySeed + 4000 + i)
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				c, rng := newPurgeCase(t, seed)
				n := 2 + rng.IntN(6)
				var wg sync.WaitGroup
				errs := make([]error, n)
				got := make([]erasure.Request, n)
				for i := range n {
					wg.Go(func() { got[i], errs[i] = c.f.svc.Purge(ctx, c.r.ID) })
				}
				wg.Wait()
				ok := 0
				for i, err := range errs {
					switch {
					case err == nil && got[i].Status == erasure.StatusCompleted && got[i].Deleted == c.r.WillDelete:
						ok++
					case identity.ErrorCode(err) == identity.EConflict:
					default:
						t.Errorf("delivery %d: got status %q, deleted %+v, %v, want completed or code %s",
							i, got[i].Status, got[i].Deleted, err, identity.EConflict)
					}
				}
				if ok == 0 {
					t.Errorf("deliveries: none completed the purge")
				}
				c.checkContent(t)
				c.checkDone(t, 1)
			})
		}
	})
}
