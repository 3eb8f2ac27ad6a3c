package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
)

// TestEvents checks every sample event of the function: it
// decodes strictly into Event, names a valid export, and is exactly what
// an export's schedule sends as its input.
func TestEvents(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "exportworker-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("events/exportworker-*.json: got %d files (%v), want at least one", len(files), err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var ev Event
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("decode: got error %v, want nil", err)
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				t.Fatalf("decode: got trailing data (%v), want one JSON object", err)
			}
			if !identity.ValidID(ev.ExportID) {
				t.Errorf("exportId: got %q, want a valid id", ev.ExportID)
			}
			want, err := json.Marshal(oneshot.ExportInput{ExportID: ev.ExportID})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(bytes.TrimSpace(raw)); got != string(want) {
				t.Errorf("got %s, want what the schedule sends, %s", got, want)
			}
		})
	}
}
