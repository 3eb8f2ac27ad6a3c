package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
)

// TestEvents runs every sample event of the function
// (events/purge-*.json): each decodes strictly into Event, is exactly what
// its invoker sends, and, replayed once the purge is due (the sweep's,
// past its grace), gives the result want gives and purges cl-ava.
func TestEvents(t *testing.T) {
	template, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatalf("read template.yaml: got error %v, want nil", err)
	}
	want := map[string]Result{
		"purge-scheduled": {RequestID: requestID, Status: erasure.StatusCompleted, Deleted: &scope},
		"purge-sweep":     {Swept: true},
	}
	apigwtest.EachEvent(t, "purge", want, func(t *testing.T, path string, w Result) {
		raw, ev := apigwtest.ReadEvent[Event](t, path)
		sent := string(bytes.TrimSpace(raw))
		switch {
		case ev.Sweep && ev.RequestID == "":
			// The hourly schedule's Input in template.yaml.
			if !strings.Contains(string(template), "Input: '"+sent+"'") {
				t.Errorf("sweep event: got %s, want the Input of the sweep schedule in template.yaml", sent)
			}
		case !ev.Sweep && ev.RequestID != "":
			if !identity.ValidID(ev.RequestID) {
				t.Errorf("requestId: got %q, want a valid id", ev.RequestID)
			}
			// What oneshot gives the one-shot schedule as Input.
			want, err := json.Marshal(oneshot.Input{RequestID: ev.RequestID})
			if err != nil {
				t.Fatalf("marshal: got error %v, want nil", err)
			}
			if sent != string(want) {
				t.Errorf("scheduled event: got %s, want %s", sent, want)
			}
		default:
			t.Errorf("event: got %+v, want either a requestId or sweep", ev)
		}

		f := newFixture(t)
		f.clock.Set(f.request(t).PurgeAt.Add(2 * time.Hour))
		res, err := f.h.Handle(context.Background(), raw)
		if err != nil {
			t.Fatalf("Handle: got error %v, want nil", err)
		}
		if !reflect.DeepEqual(res, w) {
			t.Errorf("result: got %+v, want %+v", res, w)
		}
		f.checkPurged(t)
	})
}
