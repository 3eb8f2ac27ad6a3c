//go:build integration

package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// batchWriteHolding matches the BatchWriteItem calls whose body holds s.
// It reads the body to know, and puts it back for the emulator.
func batchWriteHolding(s string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), "BatchWriteItem") || r.Body == nil {
			return false
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		return err == nil && bytes.Contains(b, []byte(s))
	}
}

// TestPurge_ForeignPointers: the client's documents point into another
// client's folder, another practice's, a prefix sibling's, and at an empty
// key. The first invocation fails after recording those keys (deleting the
// documents fails), its retry finishes. The documents go with the objects
// in the client's folder; every foreign object keeps its current version;
// the receipt counts each foreign key once; nothing else changes.
func TestPurge_ForeignPointers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ava := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "cl-ben")
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	foreign := emulatortest.SeedForeignPointers(t, e.st, e.store, e.practice, "cl-ava", "cl-ben")
	want := ava.Counts.Add(erasure.Counts{Documents: len(foreign.Uploaded)})
	r, input := e.request(t, "cl-ava")
	if r.WillDelete != want {
		t.Fatalf("got willDelete %+v, want %+v", r.WillDelete, want)
	}
	items := platformItems(emulatortest.TakeSnapshot(t, e.st))
	versions := emulatortest.ObjectVersions(t, e.st)
	for _, o := range slices.Concat(ava.GoneObjects, foreign.OwnObjects, foreign.ForeignObjects) {
		if len(versions[o]) != 1 {
			t.Fatalf("seeded object %s: got versions %v, want one", o, versions[o])
		}
	}

	e.faults.Fail(1000, http.StatusServiceUnavailable, batchWriteHolding("DOCUMENT#"))
	if _, err := e.h.Handle(ctx, input); err == nil {
		t.Fatal("got no error while the documents could not be deleted, want one (so the invocation is retried)")
	}
	mid, err := e.store.GetRequest(ctx, r.ID)
	if err != nil || mid.Status != erasure.StatusPurging || !sameSet(mid.SkippedObjects, foreign.Skipped) {
		t.Fatalf("after the failure: got %+v, %v; want purging with the foreign keys recorded", mid, err)
	}
	e.faults.Clear()
	res, err := e.h.Handle(ctx, input)
	if err != nil || res.Status != erasure.StatusCompleted {
		t.Fatalf("retry: got %+v, %v; want completed", res, err)
	}

	// The table: the client's content and documents gone, the rest as it was.
	wantItems := maps.Clone(items)
	for _, k := range slices.Concat(ava.Gone, foreign.Uploaded) {
		delete(wantItems, k)
	}
	after := platformItems(emulatortest.TakeSnapshot(t, e.st))
	for k := range after {
		if _, ok := wantItems[k]; !ok {
			t.Errorf("item %v should be gone, still there", k)
		}
	}
	for k, v := range wantItems {
		if got, ok := after[k]; !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("item %v is outside the purge's scope but was deleted or changed", k)
		}
	}

	// The bucket: each object in the client's folder has its versions
	// kept (for the backups' 30 days) under a current delete marker; every
	// other object, foreign ones first, is exactly as it was.
	gone := map[string]bool{}
	for _, o := range slices.Concat(ava.GoneObjects, foreign.OwnObjects) {
		gone[o] = true
	}
	afterVersions := emulatortest.ObjectVersions(t, e.st)
	for k := range afterVersions {
		if _, ok := versions[k]; !ok {
			t.Errorf("object %s: new after the purge", k)
		}
	}
	for k, vs := range versions {
		got := afterVersions[k]
		if !gone[k] {
			if !slices.Equal(got, vs) {
				t.Errorf("object %s changed: got %v, want %v", k, got, vs)
			}
			continue
		}
		for _, v := range vs {
			if old := strings.TrimSuffix(v, "latest=true") + "latest=false"; !slices.Contains(got, old) {
				t.Errorf("object %s: got %v, want %q kept, no longer current", k, got, old)
			}
		}
		if !slices.ContainsFunc(got, func(v string) bool {
			return strings.HasPrefix(v, "delete-marker ") && strings.HasSuffix(v, "latest=true")
		}) {
			t.Errorf("object %s: got %v, want a current delete marker", k, got)
		}
	}
	for _, o := range foreign.ForeignObjects {
		if vs := afterVersions[o]; len(vs) != 1 || !strings.HasSuffix(vs[0], "latest=true") {
			t.Errorf("foreign object %s: got %v, want its one version current", o, vs)
		}
	}

	// The receipt: exact counts, each foreign key once.
	done, err := e.store.GetRequest(ctx, r.ID)
	if err != nil || done.Status != erasure.StatusCompleted || done.Deleted != want || done.Invocations != 2 {
		t.Fatalf("got request %+v, %v; want completed with deleted %+v in 2 invocations", done, err, want)
	}
	receipt := apigw.NewPracticeRequestView(done).Receipt
	if receipt == nil || receipt.SkippedObjects != len(foreign.Skipped) || receipt.Deleted != want {
		t.Errorf("receipt: got %+v, want %d skipped objects and deleted %+v", receipt, len(foreign.Skipped), want)
	}
	item := emulatortest.TakeSnapshot(t, e.st)[erasure.ItemKey{PK: dynamostore.RequestPK(r.ID), SK: "REQUEST"}]
	if ss, _ := item["skippedObjectKeys"].(*ddbtypes.AttributeValueMemberSS); ss == nil || !sameSet(ss.Value, foreign.Skipped) || len(ss.Value) != len(foreign.Skipped) {
		t.Errorf("skippedObjectKeys: got %v, want the string set %q", item["skippedObjectKeys"], foreign.Skipped)
	}

	t.Run("Repeat", func(t *testing.T) {
		full := emulatortest.TakeSnapshot(t, e.st)
		res, err := e.h.Handle(ctx, input)
		if err != nil || res.Status != erasure.StatusCompleted {
			t.Fatalf("got %+v %v, want completed and no error", res, err)
		}
		if got := emulatortest.TakeSnapshot(t, e.st); !reflect.DeepEqual(got, full) {
			t.Error("a further delivery changed the table")
		}
		if got := emulatortest.ObjectVersions(t, e.st); !reflect.DeepEqual(got, afterVersions) {
			t.Error("a further delivery changed the bucket")
		}
	})
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
