package main

import (
	"context"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

// TestEvents runs every sample event of the function
// (events/replay-*.json): each decodes strictly into Event and, replayed
// through the handler against the in-memory fakes, replays cl-ava's
// erasure in the restored table as want says, and keeps its replay record.
func TestEvents(t *testing.T) {
	want := map[string]erasure.ReplayedRequest{
		"replay-restored": {RequestID: requestID, PracticeID: "prac-demo", ClientID: "cl-ava",
			Found: erasure.Counts{JournalEntries: 1, Documents: 1}, Deleted: erasure.Counts{JournalEntries: 1, Documents: 1}, DeletedObjects: 1},
	}
	apigwtest.EachEvent(t, "replay", want, func(t *testing.T, path string, w erasure.ReplayedRequest) {
		raw, ev := apigwtest.ReadEvent[Event](t, path)
		f := newFixture(t)
		res, err := f.h.Handle(context.Background(), raw)
		if err != nil || res.Error != "" || res.Next != "" {
			t.Fatalf("Handle: got %+v, %v; want the replay done", res, err)
		}
		if res.Table != ev.Table || len(res.Requests) != 1 {
			t.Fatalf("result: got %+v, want one request replayed on %s", res, ev.Table)
		}
		got := res.Requests[0]
		w.ErasureEndedAt = got.ErasureEndedAt
		if got != w {
			t.Errorf("replayed: got %+v, want %+v", got, w)
		}
		if keys := f.objects.Keys(); len(keys) != 0 {
			t.Errorf("objects left: %v, want none", keys)
		}
		recs, err := f.ledger.Replays()
		if err != nil || len(recs) != 1 {
			t.Fatalf("replay records: %v, %v; want one", recs, err)
		}
		if _, ok := recs[evidence.ReplayKey(res.ReplayID, requestID)]; !ok {
			t.Errorf("replay records: %v, want %s", recs, evidence.ReplayKey(res.ReplayID, requestID))
		}
	})
}
