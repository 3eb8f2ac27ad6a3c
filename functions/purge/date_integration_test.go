//go:build integration

package main

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/sesmail"
)

// A schedule at the purge function fired a month early (its own input, a
// request made now) deletes nothing and leaves the client free to cancel;
// the purge at the date itself goes through.
func TestPurge_NeverBeforeTheDate(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.accept.Now = nil // requested now: due in 30 days

	t.Run("Early", func(t *testing.T) {
		file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-eve", "Eve", "Stone", "")
		r, input := e.request(t, "cl-eve")
		if left := time.Until(r.PurgeAt); left < erasure.DefaultPurgeDelay-time.Minute {
			t.Fatalf("purgeAt %s is %s away, want about 30 days", r.PurgeAt, left)
		}
		items := emulatortest.TakeSnapshot(t, e.st)
		versions := emulatortest.ObjectVersions(t, e.st)
		for _, o := range file.GoneObjects {
			if !slices.ContainsFunc(versions[o], func(v string) bool { return strings.HasPrefix(v, "version ") && strings.HasSuffix(v, "latest=true") }) {
				t.Fatalf("seeded object %s missing before the delivery", o)
			}
		}

		res, err := e.h.Handle(ctx, input)
		if err != nil {
			t.Fatalf("early delivery: got error %v, want nil (nothing to retry)", err)
		}
		if res.RequestID != r.ID || res.Status != erasure.StatusScheduled {
			t.Errorf("early delivery: got %+v, want request %s still %q", res, r.ID, erasure.StatusScheduled)
		}
		if got := emulatortest.TakeSnapshot(t, e.st); !reflect.DeepEqual(got, items) {
			for k, v := range got {
				if !reflect.DeepEqual(items[k], v) {
					t.Errorf("item %v: got %v, want %v", k, v, items[k])
				}
			}
			for k := range items {
				if _, ok := got[k]; !ok {
					t.Errorf("item %v: deleted, want it unchanged", k)
				}
			}
		}
		if got := emulatortest.ObjectVersions(t, e.st); !reflect.DeepEqual(got, versions) {
			t.Errorf("object versions: got %v, want unchanged %v", got, versions)
		}
		stored, err := e.store.GetRequest(ctx, r.ID)
		if err != nil || stored.Status != erasure.StatusScheduled || stored.Invocations != 0 || stored.PurgeStartedAt != nil {
			t.Fatalf("request: got %+v %v, want scheduled and never started", stored, err)
		}
		// The real schedule is still there to fire on time.
		if _, err := e.st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{GroupName: &e.st.ScheduleGroup, Name: &r.ScheduleName}); err != nil {
			t.Errorf("schedule after the early delivery: got %v, want it kept", err)
		}
		// The client can still change their mind.
		actor, _ := identity.NewActor("cl-eve-sub", identity.RoleClient, e.practice.ID, "cl-eve", "")
		if got, err := e.accept.CancelDeletion(ctx, actor); err != nil || got.Status != erasure.StatusCancelled {
			t.Fatalf("cancel after the early delivery: got %+v %v, want cancelled", got, err)
		}
	})

	t.Run("OnTime", func(t *testing.T) {
		file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-fay", "Fay", "North", "")
		r, input := e.request(t, "cl-fay")
		// The purge function's use case on the same adapters as build()'s,
		// with a clock at the request's purge time.
		e.h.svc = erasure.NewPurger(e.store, e.store, e.store, e.store,
			s3objects.New(e.st.S3, e.st.Bucket),
			oneshot.New(e.st.Scheduler, oneshot.Config{
				Group: e.st.ScheduleGroup, TargetARN: e.st.PurgeARN, RoleARN: e.st.SchedulerRole, DeadLetterARN: e.st.DeadLetterARN,
			}),
			sesmail.New(sesv2.NewFromConfig(emulatortest.Config(t, nil)), e.st.Sender),
			ledger.New(e.st.S3, e.st.KMS, e.st.EvidenceBucket, e.st.CertificateKey),
			erasure.PurgeConfig{Concurrency: 8, SweepGrace: time.Hour},
			erasure.Options{Now: func() time.Time { return r.PurgeAt }, Log: slog.New(slog.DiscardHandler)})
		res, err := e.h.Handle(ctx, input)
		if err != nil || res.Status != erasure.StatusCompleted || res.Deleted == nil || *res.Deleted != file.Counts {
			t.Fatalf("delivery at purgeAt: got %+v %v, want completed with %+v deleted", res, err, file.Counts)
		}
		items := emulatortest.TakeSnapshot(t, e.st)
		for _, k := range file.Gone {
			if _, ok := items[k]; ok {
				t.Errorf("item %v survived the purge", k)
			}
		}
		objects := emulatortest.Objects(t, e.st)
		for _, o := range file.GoneObjects {
			if _, ok := objects[o]; ok {
				t.Errorf("object %s survived the purge", o)
			}
		}
		done, err := e.store.GetRequest(ctx, r.ID)
		if err != nil || done.PurgeStartedAt == nil || !done.PurgeStartedAt.Equal(r.PurgeAt) {
			t.Fatalf("request: got %+v %v, want the purge started at %s", done, err, r.PurgeAt)
		}
	})
}
