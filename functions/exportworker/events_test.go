package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
)

// TestEvents runs every sample event of the function
// (events/exportworker-*.json): each decodes strictly into Event, names a
// valid export, is exactly what an export's schedule sends as its input,
// and, replayed against the fixture with that export pending, leaves it as
// want gives.
func TestEvents(t *testing.T) {
	type expect struct {
		status export.Status
		counts export.Counts
	}
	want := map[string]expect{
		"exportworker-scheduled": {export.StatusReady, export.Counts{JournalEntries: 1, Documents: 1}},
	}
	apigwtest.EachEvent(t, "exportworker", want, func(t *testing.T, path string, w expect) {
		raw, ev := apigwtest.ReadEvent[Event](t, path)
		if !identity.ValidID(ev.ExportID) {
			t.Errorf("exportId: got %q, want a valid id", ev.ExportID)
		}
		sent, err := json.Marshal(oneshot.ExportInput{ExportID: ev.ExportID})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(bytes.TrimSpace(raw)); got != string(sent) {
			t.Errorf("got %s, want what the schedule sends, %s", got, sent)
		}

		f := newFixture(t, ev.ExportID)
		res, err := f.h.Handle(context.Background(), raw)
		if err != nil {
			t.Fatalf("Handle: got error %v, want nil", err)
		}
		if res.ExportID != ev.ExportID || res.Status != w.status || res.Counts == nil || *res.Counts != w.counts || res.SizeBytes <= 0 {
			t.Errorf("result: got %+v, want export %s %s with %+v", res, ev.ExportID, w.status, w.counts)
		}
	})
}
