package apigw_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

func TestNewPracticeRequestView_Receipt(t *testing.T) {
	at := time.Date(2026, 12, 28, 12, 0, 0, 0, time.UTC)
	completed := erasure.Request{ID: "rq-1", PracticeID: "p1", ClientID: "cl-ava", Status: erasure.StatusCompleted,
		RequestedAt: at.Add(-30 * 24 * time.Hour), PurgeAt: at, PurgeStartedAt: &at, CompletedAt: &at, Invocations: 1,
		Deleted: erasure.Counts{Documents: 2}}
	foreign := []string{"practices/p2/clients/cl-ava/uploads/d.pdf", "practices/p1/clients/cl-ava2/d.pdf", ""}

	for _, tc := range []struct {
		name    string
		skipped []string
		want    int
	}{
		{"OK/None", nil, 0},
		{"OK/Skipped", foreign, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := completed
			r.SkippedObjects = tc.skipped
			b, err := json.Marshal(apigw.NewPracticeRequestView(r))
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				Receipt map[string]any `json:"receipt"`
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if got, ok := v.Receipt["skippedObjects"].(float64); !ok || got != float64(tc.want) {
				t.Errorf("receipt.skippedObjects: got %v, want %d", v.Receipt["skippedObjects"], tc.want)
			}
			// A count: the keys themselves stay on the request's item.
			for _, k := range tc.skipped {
				if k != "" && strings.Contains(string(b), k) {
					t.Errorf("the view holds the key %q: %s", k, b)
				}
			}
		})
	}
	t.Run("OK/NotCompleted", func(t *testing.T) {
		r := completed
		r.Status, r.CompletedAt, r.SkippedObjects = erasure.StatusPurging, nil, foreign
		if v := apigw.NewPracticeRequestView(r); v.Receipt != nil {
			t.Errorf("receipt: got %+v, want none until the purge completes", v.Receipt)
		}
	})
}
