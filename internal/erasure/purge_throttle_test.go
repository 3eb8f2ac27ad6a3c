package erasure_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// throttler declines, on a third of the deletes, a random part of the keys
// (sometimes all), as a store whose partitions take writes only so fast
// answers.
type throttler struct {
	erasure.Content
	mu       sync.Mutex
	rng      *rand.Rand
	declined int
}

func (x *throttler) DeleteItems(ctx context.Context, keys []erasure.ItemKey) error {
	x.mu.Lock()
	var left, done []erasure.ItemKey
	if x.rng.IntN(3) == 0 {
		n := x.rng.IntN(len(keys) + 1)
		for i, j := range x.rng.Perm(len(keys)) {
			if i < n {
				left = append(left, keys[j])
			} else {
				done = append(done, keys[j])
			}
		}
	} else {
		done = keys
	}
	x.declined += len(left)
	x.mu.Unlock()
	if err := x.Content.DeleteItems(ctx, done); err != nil {
		return err
	}
	if len(left) > 0 {
		return &erasure.Throttled{Left: left}
	}
	return nil
}

// A store that throttles changes nothing of what a purge does: every key
// in scope goes, nothing else does, the receipt counts exactly, in one
// invocation.
func TestService_Purge_Throttled(t *testing.T) {
	for i := range 100 {
		seed := uint64(propertySeed + 3000 + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			c, _ := newPurgeCase(t, seed)
			x := &throttler{Content: c.f.svc.Content, rng: rand.New(rand.NewPCG(seed, 3))}
			c.f.svc.Content = x
			got, err := c.f.svc.Purge(context.Background(), c.r.ID)
			if err != nil || got.Status != erasure.StatusCompleted {
				t.Fatalf("got %q, %v; want completed", got.Status, err)
			}
			c.checkDone(t, 1)
			c.checkContent(t)
		})
	}
}

// limited takes, per partition, at most rate keys a second (a bucket that
// holds a second's worth, full at first), and declines the rest; each call
// takes latency.
type limited struct {
	erasure.Content
	rate    float64
	latency time.Duration

	mu      sync.Mutex
	buckets map[string]*keyBucket
	calls   int
	keys    int
}

type keyBucket struct {
	tokens float64
	at     time.Time
}

func (l *limited) DeleteItems(ctx context.Context, keys []erasure.ItemKey) error {
	time.Sleep(l.latency / 2)
	l.mu.Lock()
	l.calls++
	now := time.Now()
	var done, left []erasure.ItemKey
	for _, k := range keys {
		b := l.buckets[k.PK]
		if b == nil {
			b = &keyBucket{tokens: l.rate, at: now}
			l.buckets[k.PK] = b
		}
		b.tokens = min(l.rate, b.tokens+l.rate*now.Sub(b.at).Seconds())
		b.at = now
		if b.tokens >= 1 {
			b.tokens--
			done = append(done, k)
		} else {
			left = append(left, k)
		}
	}
	l.keys += len(done)
	l.mu.Unlock()
	if err := l.Content.DeleteItems(ctx, done); err != nil {
		return err
	}
	time.Sleep(l.latency / 2)
	if len(left) > 0 {
		return &erasure.Throttled{Left: left}
	}
	return nil
}

// Against a partition that takes 2,000 keys a second, the purge of 10,000
// keys in it runs near that rate, with calls near their minimum: it paces
// itself rather than sending the declined keys again at once.
func TestService_Purge_PacesToThePartition(t *testing.T) {
	const keys, rate = 10000, 2000.0
	f := newFixture(t)
	for i := range keys {
		f.mem.AddJournal(practiceID, clientID, fmt.Sprintf("j%05d", i), byClient)
	}
	f.mem.PageSize = 1000
	f.svc.PurgeConcurrency = 8
	l := &limited{Content: f.mem, rate: rate, latency: 4 * time.Millisecond, buckets: map[string]*keyBucket{}}
	f.svc.Content = l
	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	f.clock.Set(r.PurgeAt)
	start := time.Now()
	got, err := f.svc.Purge(context.Background(), r.ID)
	took := time.Since(start)
	if err != nil || got.Status != erasure.StatusCompleted || got.Deleted.JournalEntries != keys {
		t.Fatalf("got %q %+v, %v; want %d journal entries deleted", got.Status, got.Deleted, err, keys)
	}
	bound := time.Duration((keys - rate) / rate * float64(time.Second)) // the bucket starts full
	minCalls := (keys + 24) / 25
	t.Logf("took %v for a bound of %v; %d calls for a minimum of %d", took, bound, l.calls, minCalls)
	if took > bound*125/100 {
		t.Errorf("took %v, want at most 1.25 times the bound of %v", took, bound)
	}
	if float64(l.calls) > 1.05*float64(minCalls) {
		t.Errorf("%d calls, want at most 1.05 times the minimum of %d", l.calls, minCalls)
	}
}
