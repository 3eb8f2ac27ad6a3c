//go:build integration

package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
)

type env struct {
	st       *emulatortest.Stack
	store    *dynamostore.Store
	practice emulatortest.Practice
	h        *Handler
	faults   *emulatortest.Faults
	accept   *acceptSide // the deletion-request side, to make requests
}

func setup(t *testing.T) *env {
	t.Helper()
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	faults := emulatortest.NewFaults()
	h, err := build(context.Background(), slog.New(slog.DiscardHandler), emulatortest.Through(faults))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	store := dynamostore.New(st.DynamoDB, st.Table)
	e := &env{st: st, store: store, h: h, faults: faults}
	e.practice = emulatortest.SeedPractice(t, st, store, "prac-"+emulatortest.Suffix())
	e.accept = &acceptSide{
		store:     store,
		Scheduler: oneshot.New(st.Scheduler, oneshot.Config{Group: st.ScheduleGroup, TargetARN: st.PurgeARN, RoleARN: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN}),
		Mailer:    mailerFunc(func(context.Context, erasure.Email) error { return nil }),
		// Requests are made a purge delay ago, so that their purge is due
		// now, as when their schedule fires: the purge never starts
		// before its date.
		Now: func() time.Time { return time.Now().Add(-erasure.DefaultPurgeDelay) },
		Log: slog.New(slog.DiscardHandler),
	}
	return e
}

// acceptSide is the deletion-request function's use case on the
// emulator: its scheduler, mailer and clock, which a test may change
// between calls, each call building the use case afresh.
type acceptSide struct {
	store     *dynamostore.Store
	Scheduler erasure.Scheduler
	Mailer    erasure.Mailer
	Now       func() time.Time
	Log       *slog.Logger
}

func (a *acceptSide) svc() *erasure.ClientRequests {
	return erasure.NewClientRequests(a.store, a.store, a.store, a.store, a.store, a.Scheduler, a.Mailer, 0, erasure.Options{Now: a.Now, Log: a.Log})
}

func (a *acceptSide) RequestDeletion(ctx context.Context, actor identity.Actor) (erasure.Request, bool, error) {
	return a.svc().RequestDeletion(ctx, actor)
}

func (a *acceptSide) CancelDeletion(ctx context.Context, actor identity.Actor) (erasure.Request, error) {
	r, _, err := a.svc().CancelDeletion(ctx, actor)
	return r, err
}

func (a *acceptSide) Portal(ctx context.Context, actor identity.Actor) (erasure.PortalView, error) {
	return a.svc().Portal(ctx, actor)
}

type mailerFunc func(context.Context, erasure.Email) error

func (f mailerFunc) Send(ctx context.Context, e erasure.Email) error { return f(ctx, e) }

// request makes the client's deletion request and returns the event its
// schedule delivers, read back from the emulator (which never fires it).
func (e *env) request(t *testing.T, clientID string) (erasure.Request, json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	if err := e.store.PutSetting(ctx, erasure.Setting{PracticeID: e.practice.ID, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	actor, err := identity.NewActor(clientID+"-sub", identity.RoleClient, e.practice.ID, clientID, "")
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := e.accept.RequestDeletion(ctx, actor)
	if err != nil {
		t.Fatalf("request deletion: %v", err)
	}
	s, err := e.st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{GroupName: &e.st.ScheduleGroup, Name: &r.ScheduleName})
	if err != nil {
		t.Fatalf("get schedule: %v", err)
	}
	return r, json.RawMessage(aws.ToString(s.Target.Input))
}

// platformItems drops the items this service writes for itself (requests,
// pointers, portal markers, notifications), leaving the client files.
func platformItems(s emulatortest.Snapshot) emulatortest.Snapshot {
	out := emulatortest.Snapshot{}
	for k, v := range s {
		switch {
		case strings.HasPrefix(k.PK, "DELETION#"), strings.Contains(k.PK, "#PRACTITIONER#"),
			k.SK == "DELETION#ACTIVE", k.SK == "DELETION#CANCELLED", k.SK == "PORTAL#CLOSED":
		default:
			out[k] = v
		}
	}
	return out
}

func TestPurge_DeletesExactlyTheClientsContent(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ava := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "cl-ben")
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	r, input := e.request(t, "cl-ava")
	if r.WillDelete != ava.Counts {
		t.Fatalf("got willDelete %+v, want %+v", r.WillDelete, ava.Counts)
	}

	before := platformItems(emulatortest.TakeSnapshot(t, e.st))
	objectsBefore := emulatortest.Objects(t, e.st)
	for _, k := range ava.Gone {
		if _, ok := before[k]; !ok {
			t.Fatalf("seeded item %v missing before the purge", k)
		}
	}

	res, err := e.h.Handle(ctx, input)
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if res.Status != erasure.StatusCompleted || res.RequestID != r.ID {
		t.Fatalf("got %+v, want request %s completed", res, r.ID)
	}

	want := maps.Clone(before)
	for _, k := range ava.Gone {
		delete(want, k)
	}
	after := platformItems(emulatortest.TakeSnapshot(t, e.st))
	for k := range after {
		if _, ok := want[k]; !ok {
			t.Errorf("item %v should be gone, still there", k)
		}
	}
	for k, v := range want {
		got, ok := after[k]
		if !ok {
			t.Errorf("item %v is outside the purge's scope but was deleted", k)
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("item %v changed: got %v, want %v", k, got, v)
		}
	}

	wantObjects := maps.Clone(objectsBefore)
	for _, o := range ava.GoneObjects {
		if _, ok := wantObjects[o]; !ok {
			t.Fatalf("seeded object %s missing before the purge", o)
		}
		delete(wantObjects, o)
	}
	if got := emulatortest.Objects(t, e.st); !maps.Equal(got, wantObjects) {
		t.Errorf("objects after the purge: got %v, want %v", keys(got), keys(wantObjects))
	}

	done, err := e.store.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != erasure.StatusCompleted || done.Deleted != ava.Counts || done.Invocations != 1 || done.CompletedAt == nil || done.PurgeStartedAt == nil {
		t.Fatalf("got request %+v, want completed with deleted %+v in 1 invocation", done, ava.Counts)
	}
	// The receipt on the item names the day backups no longer hold the data.
	item := emulatortest.TakeSnapshot(t, e.st)[erasure.ItemKey{PK: dynamostore.RequestPK(r.ID), SK: "REQUEST"}]
	clear, _ := item["backupsClearAt"].(*ddbtypes.AttributeValueMemberS)
	if want := done.CompletedAt.Add(30 * 24 * time.Hour).Format(time.RFC3339Nano); clear == nil || clear.Value != want {
		t.Errorf("backupsClearAt: got %v, want %s", clear, want)
	}
	actor, _ := identity.NewActor("cl-ava-sub", identity.RoleClient, e.practice.ID, "cl-ava", "")
	if _, err := e.accept.Portal(ctx, actor); identity.ErrorCode(err) != identity.EAccountClosed {
		t.Fatalf("portal after the purge: got %v, want account_closed", err)
	}
	for _, who := range []string{e.practice.OwnerID, e.practice.MemberID} {
		ns, err := e.store.Notifications(ctx, e.practice.ID, who)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 2 || ns[0].Kind != erasure.NoticeDeletionCompleted || ns[0].Counts != ava.Counts {
			t.Fatalf("%s: got %+v, want the completion notice first, with the deleted counts", who, ns)
		}
	}

	t.Run("Repeat", func(t *testing.T) {
		full := emulatortest.TakeSnapshot(t, e.st)
		objects := emulatortest.Objects(t, e.st)
		res, err := e.h.Handle(ctx, input)
		if err != nil || res.Status != erasure.StatusCompleted {
			t.Fatalf("got %+v %v, want completed and no error", res, err)
		}
		if got := emulatortest.TakeSnapshot(t, e.st); !reflect.DeepEqual(got, full) {
			t.Error("a second delivery changed the table")
		}
		if got := emulatortest.Objects(t, e.st); !maps.Equal(got, objects) {
			t.Error("a second delivery changed the bucket")
		}
	})
}

func TestPurge_TransientFailureIsRetried(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-cai", "Cai", "Wu", "")
	r, input := e.request(t, "cl-cai")

	// S3 fails every attempt: the invocation must fail, so Lambda retries.
	e.faults.Fail(1000, http.StatusServiceUnavailable, func(r *http.Request) bool { return r.URL.Query().Has("delete") })
	if _, err := e.h.Handle(ctx, input); err == nil {
		t.Fatal("got no error while S3 was failing, want one (so the invocation is retried)")
	}
	mid, err := e.store.GetRequest(ctx, r.ID)
	if err != nil || mid.Status != erasure.StatusPurging {
		t.Fatalf("got %+v %v, want the request still purging", mid, err)
	}

	e.faults.Clear()
	res, err := e.h.Handle(ctx, input)
	if err != nil || res.Status != erasure.StatusCompleted {
		t.Fatalf("retry: got %+v %v, want completed", res, err)
	}
	done, _ := e.store.GetRequest(ctx, r.ID)
	if done.Deleted != file.Counts || done.Invocations != 2 {
		t.Fatalf("got deleted %+v in %d invocations, want %+v in 2", done.Deleted, done.Invocations, file.Counts)
	}
	objects := emulatortest.Objects(t, e.st)
	for _, o := range file.GoneObjects {
		if _, ok := objects[o]; ok {
			t.Errorf("object %s survived the purge", o)
		}
	}
}

func TestPurge_UnknownRequest(t *testing.T) {
	e := setup(t)
	before := emulatortest.TakeSnapshot(t, e.st)
	res, err := e.h.Handle(context.Background(), json.RawMessage(`{"requestId":"00000000000000000000000000000000"}`))
	if err != nil || res.Status != "" {
		t.Fatalf("got %+v %v, want nothing done and no error", res, err)
	}
	if !reflect.DeepEqual(emulatortest.TakeSnapshot(t, e.st), before) {
		t.Fatal("the purge of an unknown request changed the table")
	}
}

func keys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
