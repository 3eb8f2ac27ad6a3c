package model

import (
	"math"
	"math/rand/v2"
	"time"
)

// bucket is a token bucket: it refills at rate tokens a (modelled) second
// up to capacity, and starts full. A rate of 0 means no limit. Callers
// hold the model's lock.
type bucket struct {
	rate, capacity float64
	tokens         float64
	at             time.Duration // modelled time of the last refill
}

func newBucket(rate, burst float64, now time.Duration) *bucket {
	c := rate * burst
	if c < 1 && rate > 0 {
		c = 1
	}
	return &bucket{rate: rate, capacity: c, tokens: c, at: now}
}

func (b *bucket) refill(now time.Duration) {
	if now > b.at {
		b.tokens = math.Min(b.capacity, b.tokens+b.rate*(now-b.at).Seconds())
		b.at = now
	}
}

// take takes n tokens if the bucket holds them, and reports whether it
// did. A request larger than the whole bucket passes when the bucket is
// full, so that no single request is refused for ever.
func (b *bucket) take(n float64, now time.Duration) bool {
	if b.rate == 0 {
		return true
	}
	b.refill(now)
	if b.tokens >= n || b.tokens >= b.capacity {
		b.tokens -= n
		return true
	}
	return false
}

// open reports whether the bucket holds any token: a read whose cost is
// known only once it is done is admitted while the bucket is not empty,
// and charged afterwards (charge may leave it in debt).
func (b *bucket) open(now time.Duration) bool {
	if b.rate == 0 {
		return true
	}
	b.refill(now)
	return b.tokens > 0
}

func (b *bucket) charge(n float64, now time.Duration) {
	if b.rate == 0 {
		return
	}
	b.refill(now)
	b.tokens -= n
}

// draw returns a latency from d: log-normal with d's median and 99th
// percentile, capped at ten times the latter.
func draw(rng *rand.Rand, d Dist) time.Duration {
	if d.P50 <= 0 {
		return 0
	}
	if d.P99 <= d.P50 {
		return d.P50
	}
	const z99 = 2.3263478740408408 // the 99th percentile of the standard normal
	sigma := math.Log(float64(d.P99)/float64(d.P50)) / z99
	v := float64(d.P50) * math.Exp(sigma*rng.NormFloat64())
	return time.Duration(math.Min(v, 10*float64(d.P99)))
}
