//go:build integration

package main

import (
	"context"
	"encoding/json"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
)

type noMail struct{}

func (noMail) Send(context.Context, erasure.Email) error { return nil }

// purgeClients has each client ask for deletion a purge delay ago and
// purges them, wired as functions/purge wires its use case (a package main
// cannot import another): the real table, bucket, ledger and key, so that
// each purge keeps its signed erasure record.
func purgeClients(t *testing.T, st *emulatortest.Stack, store *dynamostore.Store, practiceID string, clients ...string) []erasure.Request {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sched := oneshot.New(st.Scheduler, oneshot.Config{Group: st.ScheduleGroup, TargetARN: st.PurgeARN, RoleARN: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN})
	accept := erasure.NewClientRequests(store, store, store, store, store, sched, noMail{}, 0,
		erasure.Options{Now: func() time.Time { return time.Now().Add(-erasure.DefaultPurgeDelay) }, Log: log})
	purger := erasure.NewPurger(store, store, store, store, s3objects.New(st.S3, st.Bucket), sched, noMail{},
		ledger.New(st.S3, st.KMS, st.EvidenceBucket, st.CertificateKey), erasure.PurgeConfig{}, erasure.Options{Log: log})
	if err := store.PutSetting(ctx, erasure.Setting{PracticeID: practiceID, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	var out []erasure.Request
	for _, c := range clients {
		actor, err := identity.NewActor(c+"-sub", identity.RoleClient, practiceID, c, "")
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := accept.RequestDeletion(ctx, actor)
		if err != nil {
			t.Fatalf("request deletion of %s: %v", c, err)
		}
		done, err := purger.Purge(ctx, r.ID)
		if err != nil || done.Status != erasure.StatusCompleted {
			t.Fatalf("purge %s: got %s, %v; want completed", c, done.Status, err)
		}
		out = append(out, done)
	}
	return out
}

// replayAll invokes the handler until the replay is done, as the runbook
// tells an operator to, and returns the requests it replayed.
func replayAll(t *testing.T, h *Handler, ev Event) ([]erasure.ReplayedRequest, string) {
	t.Helper()
	var got []erasure.ReplayedRequest
	id := ""
	for range 100 {
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.Handle(context.Background(), raw)
		if err != nil || res.Error != "" {
			t.Fatalf("replay: got %+v, %v; want no error", res, err)
		}
		if len(res.Refused) != 0 {
			t.Errorf("replay refused certificates: %+v, want none", res.Refused)
		}
		got = append(got, res.Requests...)
		id = res.ReplayID
		if res.Next == "" {
			return got, id
		}
		ev.Cursor = res.Next
	}
	t.Fatal("the replay never ends")
	return nil, ""
}

// The restore drill: two clients purged, the table restored as it was
// before (a new table of the template's schema holding the items of
// then: the emulator's point-in-time recovery) and the objects restored
// from their noncurrent versions; the replay on the restored table removes
// exactly what the purges removed, items and objects, and leaves every
// other item byte for byte as it was; a second replay changes nothing;
// the live table is refused without "live": true; each replayed request
// has its replay record, which verifies with the stack's key.
func TestReplay_RestoreDrill(t *testing.T) {
	ctx := context.Background()
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	h, err := build(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	store := dynamostore.New(st.DynamoDB, st.Table)
	p := emulatortest.SeedPractice(t, st, store, "prac-"+emulatortest.Suffix())
	ava := emulatortest.SeedClient(t, st, store, p, "cl-ava", "Ava", "Lin", "cl-ben")
	ben := emulatortest.SeedClient(t, st, store, p, "cl-ben", "Ben", "Okafor", "")
	emulatortest.SeedClient(t, st, store, p, "cl-cy", "Cy", "Moreau", "cl-ava")

	before := emulatortest.TakeSnapshot(t, st)
	beforeObjects := emulatortest.Objects(t, st)
	since := time.Now().UTC().Add(-time.Second)
	purged := purgeClients(t, st, store, p.ID, "cl-ava", "cl-ben")
	after := emulatortest.TakeSnapshot(t, st)
	afterObjects := emulatortest.Objects(t, st)

	// What the purges removed: items of then that are gone (each
	// client's file as seeded, and their messages in the others' group
	// chats), and objects.
	var gone []erasure.ItemKey
	for k := range before {
		if _, ok := after[k]; !ok {
			gone = append(gone, k)
		}
	}
	for _, k := range append(slices.Clone(ava.Gone), ben.Gone...) {
		if !slices.Contains(gone, k) {
			t.Fatalf("the purges left %v", k)
		}
	}
	goneObjects := slices.Sorted(maps.Keys(beforeObjects))
	goneObjects = slices.DeleteFunc(goneObjects, func(k string) bool { _, ok := afterObjects[k]; return ok })
	if want := slices.Sorted(slices.Values(append(slices.Clone(ava.GoneObjects), ben.GoneObjects...))); !slices.Equal(goneObjects, want) || len(want) == 0 {
		t.Fatalf("the purges removed objects %v, want %v", goneObjects, want)
	}

	// The restore: the table as it was, the objects from their versions.
	restored := localstack.StackName + "-restore-" + emulatortest.Suffix()
	emulatortest.RestoreTable(t, st, restored, before)
	if got := emulatortest.RestoreObjects(t, st); !slices.Equal(slices.Sorted(slices.Values(got)), goneObjects) {
		t.Fatalf("restored objects %v, want %v", got, goneObjects)
	}
	if got := emulatortest.TakeSnapshot(t, st.On(restored)); !reflect.DeepEqual(got, before) {
		t.Fatal("the restored table is not the table as it was before the purges")
	}
	if got := emulatortest.Objects(t, st); !reflect.DeepEqual(got, beforeObjects) {
		t.Fatal("the restored objects are not the objects as they were before the purges")
	}
	live := emulatortest.TakeSnapshot(t, st)

	// The live table is refused without "live": true; nothing changes.
	raw, _ := json.Marshal(Event{Table: st.Table, Bucket: st.Bucket, Since: since.Format(time.RFC3339Nano)})
	res, err := h.Handle(ctx, raw)
	if err != nil || !strings.Contains(res.Error, "live table") {
		t.Errorf("replay on the live table: got %+v, %v; want it refused", res, err)
	}
	if !reflect.DeepEqual(emulatortest.TakeSnapshot(t, st), live) {
		t.Error("the live table changed on a refused replay")
	}

	// The replay.
	ev := Event{Table: restored, Bucket: st.Bucket, Since: since.Format(time.RFC3339Nano)}
	got, replayID := replayAll(t, h, ev)
	// What each purge deleted, by client: what its replay finds and
	// deletes again.
	wantCounts := map[string]erasure.Counts{}
	n := 0
	for _, r := range purged {
		wantCounts[r.ClientID] = r.Deleted
		n += r.Deleted.JournalEntries + r.Deleted.Documents + r.Deleted.ChatSessions + r.Deleted.ChatMessages
	}
	if n == 0 {
		t.Fatal("the purges deleted nothing")
	}
	if len(got) != 2 {
		t.Fatalf("replayed %+v, want the two purged requests", got)
	}
	for _, r := range got {
		w := wantCounts[r.ClientID]
		if r.Found != w || r.Deleted != w || r.Left != (erasure.Counts{}) || r.SkippedObjects != 0 || r.UnresolvedObjects != 0 {
			t.Errorf("replayed %s: found %+v deleted %+v left %+v; want %+v found and deleted, nothing left", r.ClientID, r.Found, r.Deleted, r.Left, w)
		}
	}
	want := emulatortest.Snapshot{}
	for k, v := range before {
		if _, ok := after[k]; ok {
			want[k] = v
		}
	}
	gotSnap := emulatortest.TakeSnapshot(t, st.On(restored))
	// The replay closed the replayed clients' portals again: the marker
	// names the request, as the purge's does.
	closed := 0
	for k, v := range gotSnap {
		if k.SK != "PORTAL#CLOSED" {
			continue
		}
		if _, ok := before[k]; ok {
			continue
		}
		id, _ := v["requestId"].(*ddbtypes.AttributeValueMemberS)
		if live, ok := after[k]; !ok || id == nil || !reflect.DeepEqual(live["requestId"], v["requestId"]) {
			t.Errorf("restored table: portal marker %v names %v, want the purge's %v", k, v["requestId"], live["requestId"])
		}
		closed++
		delete(gotSnap, k)
	}
	if closed != 2 {
		t.Errorf("restored table: %d portal-closed markers made by the replay, want 2", closed)
	}
	if !reflect.DeepEqual(gotSnap, want) {
		for k := range gotSnap {
			if _, ok := want[k]; !ok {
				t.Errorf("restored table after the replay: %v is left", k)
			}
		}
		for k, v := range want {
			if g, ok := gotSnap[k]; !ok || !reflect.DeepEqual(g, v) {
				t.Errorf("restored table after the replay: %v is gone or changed", k)
			}
		}
	}
	if gotObjects := emulatortest.Objects(t, st); !reflect.DeepEqual(gotObjects, afterObjects) {
		t.Errorf("objects after the replay: %v, want those the purges left: %v", slices.Sorted(maps.Keys(gotObjects)), slices.Sorted(maps.Keys(afterObjects)))
	}
	if !reflect.DeepEqual(emulatortest.TakeSnapshot(t, st), live) {
		t.Error("the live table changed during a replay on the restored table")
	}

	// Its records: one per request, signed by the stack's key, never
	// listed as an erasure certificate.
	trusted, _ := emulatortest.TrustedKey(t, st)
	ledgerNow := emulatortest.Ledger(t, st)
	for _, r := range purged {
		key := evidence.ReplayKey(replayID, r.ID)
		vs := ledgerNow[key]
		if len(vs) != 1 {
			t.Errorf("replay record %s: %d versions, want 1", key, len(vs))
			continue
		}
		c, err := evidence.DecodeReplayCertificate(vs[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := evidence.VerifyReplay(c, trusted)
		if err != nil {
			t.Errorf("replay record %s: %v", key, err)
			continue
		}
		if rec.RequestID != r.ID || rec.ClientID != r.ClientID || rec.Deleted != evidence.Counts(wantCounts[r.ClientID]) ||
			!rec.ErasureEndedAt.Equal(*r.CompletedAt) || !rec.Since.Equal(since) {
			t.Errorf("replay record %s: %+v", key, rec)
		}
	}
	var erasures []string
	for k := range ledgerNow {
		if strings.HasPrefix(k, evidence.KeyPrefix) {
			erasures = append(erasures, k)
		}
	}
	if len(erasures) != 2 {
		t.Errorf("erasure certificates after the replay: %v, want the two purges'", erasures)
	}

	// Again: nothing found, nothing deleted, nothing changed.
	snap, objs := emulatortest.TakeSnapshot(t, st.On(restored)), emulatortest.Objects(t, st)
	again, _ := replayAll(t, h, ev)
	if len(again) != 2 {
		t.Fatalf("second replay: %+v, want the two requests", again)
	}
	for _, r := range again {
		if r.Found != (erasure.Counts{}) || r.Deleted != (erasure.Counts{}) || r.DeletedObjects != 0 {
			t.Errorf("second replay of %s: %+v, want nothing found or deleted", r.ClientID, r)
		}
	}
	if !reflect.DeepEqual(emulatortest.TakeSnapshot(t, st.On(restored)), snap) || !reflect.DeepEqual(emulatortest.Objects(t, st), objs) {
		t.Error("a second replay changed the restored table or the objects")
	}
}
