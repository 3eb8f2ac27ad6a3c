package erasure

import (
	"context"
	"sync"
	"time"
)

// The purge's pace. A store takes writes to one partition (ItemKey.PK)
// only so fast; a client's file is mostly one partition, so a purge of a
// large client meets that limit on every run. Sending the declined keys
// again, harder, only spends calls. So the sink paces each partition the
// store has throttled, by AIMD on a rate of keys a second:
//
//   - a partition never throttled is not paced (the sink's concurrency
//     bounds it);
//   - when a batch sent to a partition comes back throttled, its rate is
//     cut to paceCut of the keys the partition took over the last second
//     (what the store gives it), and never above paceCut of the rate it
//     had; only once per round: a throttled batch booked before the last
//     cut tells nothing new;
//   - while the pace holds a partition's batches back, its rate grows
//     each second by paceGrowth of itself (at least paceGrowthMin keys a
//     second), until the store throttles again.
//
// Batches are booked in the order the sink dispatches them and wait their
// turn in flight (holding one of the sink's slots), so the keys in flight
// fall to what the partition takes, while the walk goes on reading and
// deleting objects until the slots are full.
const (
	paceCut       = 0.9
	paceGrowth    = 0.05 // of the rate, per second
	paceGrowthMin = 25.0 // keys a second, per second: a batch more each second
	paceWindow    = time.Second
	// paceFirst is the first rate of a partition throttled before the
	// store took anything from it.
	paceFirst = 25.0
	paceFloor = 1.0
)

type pacer struct {
	mu     sync.Mutex
	parts  map[string]*pace
	now    func() time.Time
	pruned time.Time
}

// pace is one partition's.
type pace struct {
	rate  float64   // keys a second; 0: not paced
	next  time.Time // when the next key may be sent
	grown time.Time // when the rate last grew
	cut   time.Time // when it was last cut
	taken []stamp   // keys the partition took over the last paceWindow
}

// last is when the partition last took keys or was booked.
func (pc *pace) last() time.Time {
	t := pc.next
	if n := len(pc.taken); n > 0 && pc.taken[n-1].at.After(t) {
		t = pc.taken[n-1].at
	}
	return t
}

type stamp struct {
	at time.Time
	n  int
}

func newPacer() *pacer { return &pacer{parts: map[string]*pace{}, now: time.Now} }

// partitions counts a batch's keys by partition.
func partitions(es []entry) map[string]int {
	out := map[string]int{}
	for _, e := range es {
		out[e.key.PK]++
	}
	return out
}

func (p *pacer) get(pk string) *pace {
	pc := p.parts[pk]
	if pc == nil {
		pc = &pace{}
		p.parts[pk] = pc
	}
	return pc
}

// book books a batch's keys on its partitions' paces, in the order
// batches are booked, and returns when the batch may be sent.
func (p *pacer) book(counts map[string]int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	until := now
	for pk, n := range counts {
		pc := p.parts[pk]
		if pc == nil || pc.rate == 0 {
			continue
		}
		start := pc.next
		if start.After(now) {
			// Held back: the pace binds, and grows.
			pc.rate += max(paceGrowth*pc.rate, paceGrowthMin) * start.Sub(pc.grown).Seconds()
			pc.grown = start
		} else {
			start, pc.grown = now, now
		}
		pc.next = start.Add(time.Duration(float64(n) / pc.rate * float64(time.Second)))
		if start.After(until) {
			until = start
		}
	}
	return until
}

// rebook books a batch again when the pace of one of its partitions was
// cut after it was booked at booked, and reports whether it did.
func (p *pacer) rebook(counts map[string]int, booked time.Time) (time.Time, bool) {
	p.mu.Lock()
	cut := false
	for pk := range counts {
		if pc := p.parts[pk]; pc != nil && pc.cut.After(booked) {
			cut = true
		}
	}
	p.mu.Unlock()
	if !cut {
		return time.Time{}, false
	}
	return p.book(counts), true
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// paceIdle is how long a partition's pace is kept once nothing is sent to
// it: a purge's phase, or its next invocation, starts where the last left
// off, but the pacer does not grow with every partition it ever paced.
const paceIdle = 10 * time.Minute

// delivered notes the keys partitions took.
func (p *pacer) delivered(counts map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.parts) > 1000 && now.Sub(p.pruned) > paceWindow {
		p.pruned = now
		for pk, pc := range p.parts {
			if last := pc.last(); now.Sub(last) > paceIdle || (pc.rate == 0 && now.Sub(last) > paceWindow) {
				delete(p.parts, pk)
			}
		}
	}
	for pk, n := range counts {
		pc := p.get(pk)
		pc.taken = append(pc.taken, stamp{now, n})
		for len(pc.taken) > 0 && now.Sub(pc.taken[0].at) > paceWindow {
			pc.taken = pc.taken[1:]
		}
	}
}

// throttled cuts the rate of the partitions a batch booked at sent was
// throttled on.
func (p *pacer) throttled(counts map[string]int, sent time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for pk := range counts {
		pc := p.get(pk)
		if pc.rate > 0 && sent.Before(pc.cut) {
			continue
		}
		took := 0
		for _, s := range pc.taken {
			if now.Sub(s.at) <= paceWindow {
				took += s.n
			}
		}
		rate := paceFirst
		if took > 0 {
			rate = paceCut * float64(took) / paceWindow.Seconds()
		}
		if pc.rate > 0 {
			rate = min(rate, paceCut*pc.rate)
		}
		pc.rate = rate
		pc.rate = max(pc.rate, paceFloor)
		pc.cut, pc.grown = now, now
		if pc.next.Before(now) {
			pc.next = now
		}
	}
}

// rates returns the partitions' rates (for tests and logs).
func (p *pacer) rates() map[string]float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]float64{}
	for pk, pc := range p.parts {
		if pc.rate > 0 {
			out[pk] = pc.rate
		}
	}
	return out
}
