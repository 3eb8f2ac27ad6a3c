package erasure

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer()
	p.now = func() time.Time { return now }
	ctx := context.Background()
	const pk = "P"
	// Not throttled yet: not paced.
	if err := p.wait(ctx, map[string]int{pk: 25}); err != nil || len(p.rates()) != 0 {
		t.Fatalf("an unthrottled partition is paced: %v %v", p.rates(), err)
	}
	for range 40 { // 1,000 keys taken within the second
		p.delivered(map[string]int{pk: 25})
	}
	now = now.Add(500 * time.Millisecond)
	sent := now
	p.throttled(map[string]int{pk: 10}, sent.Add(-10*time.Millisecond))
	if got := p.rates()[pk]; got != paceCut*1000 {
		t.Fatalf("first cut: got %v keys/s, want %v of the 1,000 taken over the last second", got, paceCut*1000)
	}
	// A batch sent before the cut tells nothing new; one sent after does.
	now = now.Add(20 * time.Millisecond)
	p.throttled(map[string]int{pk: 25}, sent.Add(-time.Millisecond))
	if got := p.rates()[pk]; got != paceCut*1000 {
		t.Fatalf("a batch sent before the cut cut again: %v", got)
	}
	p.throttled(map[string]int{pk: 25}, now)
	if got := p.rates()[pk]; math.Abs(got-paceCut*paceCut*1000) > 1e-9 {
		t.Fatalf("second cut: got %v, want %v", got, paceCut*paceCut*1000)
	}
	// A cut goes to what the partition took over the last second, when
	// that is less.
	now = now.Add(2 * time.Second)
	p.delivered(map[string]int{pk: 100})
	p.throttled(map[string]int{pk: 25}, now)
	if got := p.rates()[pk]; math.Abs(got-paceCut*100) > 1e-9 {
		t.Fatalf("third cut: got %v, want %v", got, paceCut*100)
	}
	// Paced: batches are spaced at the rate, which grows while it binds.
	rate := p.rates()[pk]
	p.now = time.Now // wait sleeps on the real clock
	start := time.Now()
	for range 5 {
		if err := p.wait(ctx, map[string]int{pk: 25}); err != nil {
			t.Fatal(err)
		}
	}
	want := time.Duration(4 * 25 / rate * float64(time.Second)) // the first goes at once
	if took := time.Since(start); took < want*8/10 || took > want*3 {
		t.Fatalf("5 batches at %v keys/s took %v, want about %v", rate, took, want)
	}
	if got := p.rates()[pk]; got <= rate || got > rate+paceGrowthMin*1.5 {
		t.Fatalf("while it binds the rate grows by %v a second: from %v to %v", paceGrowthMin, rate, got)
	}
	// Another partition is not held back by this one.
	start = time.Now()
	if err := p.wait(ctx, map[string]int{"Q": 25}); err != nil || time.Since(start) > 20*time.Millisecond {
		t.Fatalf("another partition waited %v", time.Since(start))
	}
}

// wait blocks until the pace of every partition of a batch lets it go,
// and books its keys (what the sink's dispatch does, in one call).
func (p *pacer) wait(ctx context.Context, counts map[string]int) error {
	return sleepUntil(ctx, p.book(counts))
}
