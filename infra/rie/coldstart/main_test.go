//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellness-rtbf/rtbf/infra/rie"
)

// TestCheapEvents: every function of template.yaml has its cheap event,
// a file of events/ of its own or an inline one, and nothing else has.
func TestCheapEvents(t *testing.T) {
	functions, err := rie.Functions()
	if err != nil {
		t.Fatal(err)
	}
	root, err := rie.Root()
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for id := range cheapEvents {
		left[id] = true
	}
	for _, f := range functions {
		ev, ok := cheapEvents[f.LogicalID]
		delete(left, f.LogicalID)
		switch {
		case !ok:
			t.Errorf("%s: got no entry in cheapEvents, want one per function of template.yaml", f.LogicalID)
		case strings.HasSuffix(ev, ".json"):
			if !strings.HasPrefix(ev, f.Dir+"-") {
				t.Errorf("%s: got event %s, want one of events/%s-*.json", f.LogicalID, ev, f.Dir)
			}
			if _, err := os.Stat(filepath.Join(root, "events", ev)); err != nil {
				t.Errorf("%s: %v", f.LogicalID, err)
			}
		case !strings.HasPrefix(ev, "{"):
			t.Errorf("%s: got %q, want a file of events/ or a JSON object", f.LogicalID, ev)
		}
	}
	for id := range left {
		t.Errorf("cheapEvents: %s is no function of template.yaml", id)
	}
}
