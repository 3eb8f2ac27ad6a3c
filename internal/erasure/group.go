package erasure

import (
	"context"
	"sync"
)

// group runs functions side by side, at most limit at a time. The first
// error cancels the context the others run with, and is what wait returns.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

func newGroup(ctx context.Context, limit int) *group {
	ctx, cancel := context.WithCancel(ctx)
	return &group{ctx: ctx, cancel: cancel, sem: make(chan struct{}, max(limit, 1))}
}

// run starts fn once a slot is free; it blocks while limit functions run.
// Once the group has failed (or its context is done) fn is not started.
func (g *group) run(fn func(ctx context.Context) error) {
	if err := g.ctx.Err(); err != nil {
		g.fail(err)
		return
	}
	select {
	case g.sem <- struct{}{}:
	case <-g.ctx.Done():
		g.fail(g.ctx.Err())
		return
	}
	g.wg.Add(1)
	go func() {
		defer func() {
			<-g.sem
			g.wg.Done()
		}()
		if err := fn(g.ctx); err != nil {
			g.fail(err)
		}
	}()
}

func (g *group) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cancel()
}

// wait waits for every function started and returns the first error.
func (g *group) wait() error {
	g.wg.Wait()
	g.cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
