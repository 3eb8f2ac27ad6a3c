//go:build integration

package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// A cancelled request's purge time comes (a delivery already on its way):
// nothing is deleted, and the schedule is gone.
func TestPurge_CancelledRequest(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-dee", "Dee", "Ray", "")
	r, input := e.request(t, "cl-dee")
	actor, _ := identity.NewActor("cl-dee-sub", identity.RoleClient, e.practice.ID, "cl-dee", "")
	got, err := e.accept.CancelDeletion(ctx, actor)
	if err != nil || got.Status != erasure.StatusCancelled {
		t.Fatalf("cancel: got %+v %v, want cancelled", got, err)
	}
	_, err = e.st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{GroupName: &e.st.ScheduleGroup, Name: &r.ScheduleName})
	var missing *schedtypes.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Errorf("schedule after cancel: got %v, want it deleted", err)
	}
	before := platformItems(emulatortest.TakeSnapshot(t, e.st))
	objects := emulatortest.Objects(t, e.st)
	res, err := e.h.Handle(ctx, input)
	if err != nil || res.Status != erasure.StatusCancelled {
		t.Fatalf("purge of a cancelled request: got %+v %v, want cancelled and nothing done", res, err)
	}
	if !reflect.DeepEqual(platformItems(emulatortest.TakeSnapshot(t, e.st)), before) {
		t.Error("the purge of a cancelled request changed the client files")
	}
	if !reflect.DeepEqual(emulatortest.Objects(t, e.st), objects) {
		t.Error("the purge of a cancelled request changed the bucket")
	}
}

// A cancel racing the purge's start ends one way only, and the request
// says which: cancelled with nothing deleted, or purged and not cancelled.
func TestPurge_CancelRacesPurgeStart(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	outcomes := map[erasure.Status]int{}
	for i := range 8 {
		client := fmt.Sprintf("cl-race-%d", i)
		file := emulatortest.SeedClient(t, e.st, e.store, e.practice, client, "Race", client, "")
		r, input := e.request(t, client)
		actor, _ := identity.NewActor(client+"-sub", identity.RoleClient, e.practice.ID, client, "")
		var wg sync.WaitGroup
		var cancelErr, purgeErr error
		// Staggered both ways, so that each side gets to start first.
		lag := time.Duration(i%3) * 4 * time.Millisecond
		wg.Go(func() {
			if i%2 == 1 {
				time.Sleep(lag)
			}
			_, cancelErr = e.accept.CancelDeletion(ctx, actor)
		})
		wg.Go(func() {
			if i%2 == 0 {
				time.Sleep(lag)
			}
			_, purgeErr = e.h.Handle(ctx, input)
		})
		wg.Wait()
		final, err := e.store.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		outcomes[final.Status]++
		left := platformItems(emulatortest.TakeSnapshot(t, e.st))
		switch final.Status {
		case erasure.StatusCancelled:
			if cancelErr != nil {
				t.Errorf("%s: cancelled, but the cancel said %v", client, cancelErr)
			}
			for _, k := range file.Gone {
				if _, ok := left[k]; !ok {
					t.Errorf("%s: cancelled, yet %v was deleted", client, k)
				}
			}
		case erasure.StatusCompleted:
			// Too late, in whichever words fit the moment it asked.
			if code := identity.ErrorCode(cancelErr); code != identity.EAlreadyPurging && code != identity.EAlreadyCompleted && code != identity.EAccountClosed {
				t.Errorf("%s: purged, but the cancel said %v, want already_purging, already_completed or account_closed", client, cancelErr)
			}
			if purgeErr != nil {
				t.Errorf("%s: purge error %v", client, purgeErr)
			}
			for _, k := range file.Gone {
				if _, ok := left[k]; ok {
					t.Errorf("%s: purged, yet %v is still there", client, k)
				}
			}
		default:
			t.Errorf("%s: got status %q, want cancelled or completed", client, final.Status)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
