package erasure_test

import (
	"context"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

func TestService_CancelDeletion(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		r, _ := requested(t, f)
		keys, objects := f.mem.Keys(), f.objects.Keys()
		got, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		if err != nil {
			t.Fatalf("CancelDeletion: got error %v, want nil", err)
		}
		if got.ID != r.ID || got.Status != erasure.StatusCancelled || got.CancelledAt == nil {
			t.Fatalf("got %+v, want request %s cancelled", got, r.ID)
		}
		if n := len(f.sched.Schedules); n != 0 {
			t.Errorf("schedules: got %d, want 0 (the purge's deleted)", n)
		}
		if ns := f.notifications(erasure.NoticeDeletionCancelled); len(ns) != len(c1Practitioners) {
			t.Errorf("cancel notices: got %d, want one per practitioner (%d)", len(ns), len(c1Practitioners))
		}
		// The schedule's time comes anyway (a delivery already on its
		// way): the purge does nothing.
		f.clock.Set(r.PurgeAt.Add(time.Minute))
		done, err := f.svc.Purge(ctx, r.ID)
		if err != nil || done.Status != erasure.StatusCancelled {
			t.Fatalf("Purge after cancel: got %q, %v; want cancelled, nil", done.Status, err)
		}
		equalKeys(t, "items after cancel and purge", f.mem.Keys(), keys)
		equalStrings(t, "objects after cancel and purge", f.objects.Keys(), objects)
		// The client may ask again later.
		again, created, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID))
		if err != nil || !created || again.ID == r.ID || again.Status != erasure.StatusScheduled {
			t.Fatalf("a new request after cancel: got %+v created=%v %v, want a new scheduled request", again, created, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		f := newFixture(t)
		f.setEnabled(t, true)
		_, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.ENotFound)
	})

	t.Run("ErrForbidden", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.CancelDeletion(ctx, ownerActor(t))
		wantCode(t, err, identity.EForbidden)
	})

	t.Run("ErrAlreadyPurging", func(t *testing.T) {
		f := newFixture(t)
		r, _ := requested(t, f)
		// The purge has started: it holds the request.
		if _, err := f.mem.StartPurge(ctx, r.ID, f.clock.Now(), f.clock.Now().Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.EAlreadyPurging)
		if got := f.stored(t, r.ID); got.Status != erasure.StatusPurging {
			t.Errorf("status: got %q, want purging", got.Status)
		}
	})

	t.Run("ErrAccountClosed", func(t *testing.T) {
		f := newFixture(t)
		r, _ := requested(t, f)
		f.clock.Set(r.PurgeAt)
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.EAccountClosed)
	})
}
