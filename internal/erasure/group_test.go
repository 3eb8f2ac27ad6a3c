package erasure

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroup_Limit(t *testing.T) {
	g := newGroup(context.Background(), 3)
	var now, most, ran atomic.Int32
	for range 20 {
		g.run(func(context.Context) error {
			n := now.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			now.Add(-1)
			ran.Add(1)
			return nil
		})
	}
	if err := g.wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if ran.Load() != 20 {
		t.Errorf("ran %d functions, want 20", ran.Load())
	}
	if m := most.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d ran at once, want 3 (the limit)", m)
	}
}

func TestGroup_FirstErrorCancels(t *testing.T) {
	g := newGroup(context.Background(), 4)
	first := errors.New("first")
	started := make(chan struct{})
	cancelled := make(chan error, 1)
	g.run(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		cancelled <- ctx.Err()
		return errors.New("second")
	})
	<-started
	g.run(func(context.Context) error { return first })
	if err := g.wait(); !errors.Is(err, first) {
		t.Errorf("wait: got %v, want the first error", err)
	}
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("the other function's context: got %v, want cancelled", err)
	}
	// Once failed, nothing more starts.
	g.run(func(context.Context) error {
		t.Error("a function ran after the group failed")
		return nil
	})
}

func TestGroup_DoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	g := newGroup(ctx, 1)
	block := make(chan struct{})
	g.run(func(context.Context) error { <-block; return nil })
	cancel()
	// The one slot is taken and the context is done: run gives up.
	g.run(func(context.Context) error {
		t.Error("a function ran after the context was done")
		return nil
	})
	close(block)
	if err := g.wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("wait: got %v, want the context's error", err)
	}
}
