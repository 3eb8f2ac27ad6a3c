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

// eventFiles are this function's sample events (events/purge-*.json).
func eventFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "purge-*.json"))
	if err != nil {
		t.Fatalf("glob: got error %v, want nil", err)
	}
	if len(files) == 0 {
		t.Fatal("events/purge-*.json: got no file, want at least one")
	}
	return files
}

// readEvent reads a sample event and decodes it into the handler's input
// type, Event; a field Event does not know fails.
func readEvent(t *testing.T, path string) ([]byte, Event) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: got error %v, want nil", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ev Event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode %s: got error %v, want nil", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("decode %s: got trailing data (%v), want one JSON object", path, err)
	}
	return raw, ev
}

// TestEvents checks every sample event of the function, and
// that each is exactly what its invoker sends.
func TestEvents(t *testing.T) {
	template, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatalf("read template.yaml: got error %v, want nil", err)
	}
	for _, path := range eventFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			raw, ev := readEvent(t, path)
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
		})
	}
}
