package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

type fixture struct {
	h    *Handler
	mem  *porttest.ExportMemory
	arch *porttest.ExportArchives
}

// newFixture seeds client cl-ava of prac-demo, with a journal entry and a
// document, and a pending export of their file with id exportID.
func newFixture(t *testing.T, exportID string) *fixture {
	t.Helper()
	f := &fixture{mem: porttest.NewExportMemory(), arch: porttest.NewExportArchives()}
	f.arch.MinPartSize = 1
	files := porttest.NewExportFiles()
	ava := export.Author{Role: "client", ID: "cl-ava"}
	f.mem.AddClient("prac-demo", "cl-ava")
	f.mem.AddJournalEntry("prac-demo", "cl-ava", export.JournalEntry{ID: "j1", Author: ava, Title: "t", Body: "b"})
	f.mem.AddDocument("prac-demo", "cl-ava", export.Document{ID: "d1", Author: ava, FileName: "a.pdf", ObjectKeys: []string{"practices/prac-demo/clients/cl-ava/k/a.pdf"}})
	files.Put("practices/prac-demo/clients/cl-ava/k/a.pdf", []byte("%PDF"))
	if err := f.mem.CreateExport(context.Background(), export.Export{ID: exportID, PracticeID: "prac-demo", ClientID: "cl-ava", Status: export.StatusPending}, export.Slot{Quota: export.Quota{Version: 1}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f.h = &Handler{svc: export.NewWorker(f.mem, f.mem, files, f.arch, export.WorkerConfig{PartSize: 1024, TempDir: t.TempDir()}, erasure.Options{Log: log}), log: log}
	return f
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t, "ex-1")
		res, err := f.h.Handle(ctx, json.RawMessage(`{"exportId":"ex-1"}`))
		if err != nil {
			t.Fatal(err)
		}
		want := export.Counts{JournalEntries: 1, Documents: 1}
		if res.ExportID != "ex-1" || res.Status != export.StatusReady || res.Counts == nil || *res.Counts != want || res.SizeBytes <= 0 {
			t.Fatalf("got %+v, want ready with %+v", res, want)
		}
		// Delivered again: the same answer, nothing written again.
		again, err := f.h.Handle(ctx, json.RawMessage(`{"exportId":"ex-1"}`))
		if err != nil || again.Status != export.StatusReady || f.arch.Creates != 1 {
			t.Fatalf("again: got %+v, %v, %d uploads", again, err, f.arch.Creates)
		}
	})
	t.Run("ErrRetried", func(t *testing.T) {
		f := newFixture(t, "ex-1")
		f.arch.FailPart = 1
		if _, err := f.h.Handle(ctx, json.RawMessage(`{"exportId":"ex-1"}`)); err == nil {
			t.Fatal("got nil, want an error so that Lambda retries")
		}
		if res, err := f.h.Handle(ctx, json.RawMessage(`{"exportId":"ex-1"}`)); err != nil || res.Status != export.StatusReady {
			t.Fatalf("retry: got %+v, %v", res, err)
		}
	})
	// Events that no retry can mend are reported and dropped.
	for _, raw := range []string{`{`, `[]`, `{"exportId":""}`, `{"exportId":"a#b"}`, `{"requestId":"ex-1"}`, `{"exportId":"ex-unknown"}`} {
		t.Run("Dropped/"+raw, func(t *testing.T) {
			f := newFixture(t, "ex-1")
			res, err := f.h.Handle(ctx, json.RawMessage(raw))
			if err != nil || res.Status != "" || f.arch.Creates != 0 {
				t.Fatalf("got %+v, %v, %d uploads; want nothing done and no error", res, err, f.arch.Creates)
			}
		})
	}
}
