package erasure_test

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// purgeState is everything a purge invocation may change.
type purgeState struct {
	Keys          []erasure.ItemKey
	Objects       []string
	Requests      []erasure.Request
	Schedules     []string
	Notifications int
	Emails        int
	Closed        bool
}

func (f *fixture) purgeState(t *testing.T) purgeState {
	t.Helper()
	closed, err := f.mem.PortalClosed(context.Background(), practiceID, clientID)
	if err != nil {
		t.Fatalf("PortalClosed: got error %v, want nil", err)
	}
	return purgeState{
		Keys:          f.mem.Keys(),
		Objects:       f.objects.Keys(),
		Requests:      f.mem.Requests(),
		Schedules:     slices.Sorted(maps.Keys(f.sched.Schedules)),
		Notifications: len(f.mem.Notifications()),
		Emails:        len(f.mailer.Emails()),
		Closed:        closed,
	}
}

// A purge never starts before the request's purge time (less five
// minutes), whatever invokes it; a purge that has started goes on.
func TestService_Purge_NeverBeforeTheDate(t *testing.T) {
	ctx := context.Background()

	t.Run("OK/Early", func(t *testing.T) {
		for _, early := range []time.Duration{
			erasure.DefaultPurgeDelay, // the moment of the request
			24 * time.Hour,
			5*time.Minute + time.Second,
		} {
			t.Run(early.String(), func(t *testing.T) {
				f := newFixture(t)
				var logs bytes.Buffer
				f.svc.Log = slog.New(slog.NewJSONHandler(&logs, nil))
				r, _ := requested(t, f)
				f.clock.Set(r.PurgeAt.Add(-early))
				before := f.purgeState(t)

				got, err := f.svc.Purge(ctx, r.ID)
				if err != nil {
					t.Fatalf("Purge: got error %v, want nil (nothing to retry)", err)
				}
				if got.ID != r.ID || got.Status != erasure.StatusScheduled {
					t.Errorf("Purge: got request %s %q, want %s %q", got.ID, got.Status, r.ID, erasure.StatusScheduled)
				}
				if after := f.purgeState(t); !reflect.DeepEqual(after, before) {
					t.Errorf("state: got %+v, want unchanged %+v", after, before)
				}

				line := logs.String()
				for _, want := range []string{`"level":"WARN"`, `"deletionRequestId":"` + r.ID + `"`,
					`"purgeAt":"` + r.PurgeAt.Format(time.RFC3339) + `"`, `"early":"` + early.String() + `"`} {
					if !strings.Contains(line, want) {
						t.Errorf("log: got %s, want it to contain %s", line, want)
					}
				}
				for _, personal := range []string{"Ada", "Lovelace", "@example.com"} {
					if strings.Contains(line, personal) {
						t.Errorf("log: got %s, want no personal data (%q)", line, personal)
					}
				}

				// The client still has their days to change their mind.
				c, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
				if err != nil || c.Status != erasure.StatusCancelled {
					t.Fatalf("CancelDeletion: got %q and error %v, want %q and nil", c.Status, err, erasure.StatusCancelled)
				}
			})
		}
	})

	t.Run("OK/WithinFiveMinutes", func(t *testing.T) {
		for _, early := range []time.Duration{5 * time.Minute, time.Minute, 0, -time.Hour} {
			t.Run(early.String(), func(t *testing.T) {
				f := newFixture(t)
				r, s := requested(t, f)
				f.clock.Set(r.PurgeAt.Add(-early))
				keysBefore := f.mem.Keys()
				got, err := f.svc.Purge(ctx, r.ID)
				if err != nil {
					t.Fatalf("Purge: got error %v, want nil", err)
				}
				if got.Status != erasure.StatusCompleted || got.Invocations != 1 || got.Deleted != wantScope {
					t.Errorf("Purge: got %q, %d invocations, deleted %+v, want %q, 1, %+v",
						got.Status, got.Invocations, got.Deleted, erasure.StatusCompleted, wantScope)
				}
				equalKeys(t, "items left", f.mem.Keys(), without(keysBefore, s.gone))
			})
		}
	})

	t.Run("OK/Continuation", func(t *testing.T) {
		// A purge that started (at its time) and handed over: the
		// continuation goes on even if the clock it reads is now before
		// the purge time.
		f := newFixture(t)
		r, s := requested(t, f)
		keysBefore := f.mem.Keys()
		start := f.clock.Now()
		if _, err := f.mem.StartPurge(ctx, r.ID, start, start.Add(time.Minute), false); err != nil {
			t.Fatal(err)
		}
		if err := f.mem.ReleasePurge(ctx, r.ID, start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		f.clock.Set(r.PurgeAt.Add(-24 * time.Hour))
		got, err := f.svc.Purge(ctx, r.ID)
		if err != nil {
			t.Fatalf("Purge: got error %v, want nil", err)
		}
		if got.Status != erasure.StatusCompleted || got.Invocations != 2 || got.Deleted != wantScope {
			t.Errorf("Purge: got %q, %d invocations, deleted %+v, want %q, 2, %+v",
				got.Status, got.Invocations, got.Deleted, erasure.StatusCompleted, wantScope)
		}
		equalKeys(t, "items left", f.mem.Keys(), without(keysBefore, s.gone))
	})

}
