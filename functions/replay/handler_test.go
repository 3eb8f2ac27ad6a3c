package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

const (
	liveTable     = "rtbf-Table-ABC"
	restorePrefix = "rtbf-restore-"
	documents     = "rtbf-documents"
	requestID     = "0123456789abcdef0123456789abcdef"
)

var since = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// fixture is a handler over in-memory tables, by name: the live one and
// a restored one, each holding cl-ava's content, and a ledger holding the
// erasure record of cl-ava's purge, ended after since.
type fixture struct {
	h       *Handler
	tables  map[string]*porttest.Memory
	objects *porttest.Objects
	ledger  *porttest.Ledger
}

func seed(m *porttest.Memory) {
	ava := erasure.Author{Role: identity.RoleClient, ID: "cl-ava"}
	m.AddJournal("prac-demo", "cl-ava", "j1", ava)
	m.AddJournal("prac-demo", "cl-ava", "j2", erasure.Author{Role: identity.RolePractitioner, ID: "pr-member"})
	m.AddDocument("prac-demo", "cl-ava", "d1", ava, "practices/prac-demo/clients/cl-ava/uploads/d1.pdf")
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		tables:  map[string]*porttest.Memory{liveTable: porttest.NewMemory(), restorePrefix + "2026-12-01": porttest.NewMemory()},
		objects: porttest.NewObjects("practices/prac-demo/clients/cl-ava/uploads/d1.pdf"),
		ledger:  porttest.NewLedger(),
	}
	for _, m := range f.tables {
		seed(m)
	}
	started := since.Add(24 * time.Hour)
	done := started.Add(time.Minute)
	rec := erasure.ErasureRecord(erasure.Request{ID: requestID, PracticeID: "prac-demo", ClientID: "cl-ava",
		RequestedAt: started.Add(-30 * 24 * time.Hour), PurgeStartedAt: &started, CompletedAt: &done,
		Deleted: erasure.Counts{JournalEntries: 1, Documents: 1}, Invocations: 1}, evidence.OutcomeCompleted)
	if err := f.ledger.Record(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f.h = &Handler{live: liveTable, prefix: restorePrefix, bucket: documents, log: log,
		replayer: func(table string) *erasure.Replayer {
			m, ok := f.tables[table]
			if !ok {
				t.Fatalf("replay on table %s, which the fixture has not", table)
			}
			return erasure.NewReplayer(m, m, f.objects, f.ledger, erasure.PurgeConfig{},
				erasure.Options{Now: func() time.Time { return since.Add(48 * time.Hour) }, Log: log})
		}}
	return f
}

func (f *fixture) handle(t *testing.T, ev Event) Result {
	t.Helper()
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.h.Handle(context.Background(), raw)
	if err != nil {
		t.Fatalf("Handle: got error %v, want nil (a refusal is in the result)", err)
	}
	return res
}

// items is the number of items in the table.
func (f *fixture) items(table string) int { return len(f.tables[table].Keys()) }

func TestHandle_Refuses(t *testing.T) {
	restored := restorePrefix + "2026-12-01"
	s := since.Format(time.RFC3339)
	for name, ev := range map[string]Event{
		"LiveWithoutLive":    {Table: liveTable, Bucket: documents, Since: s},
		"LiveFlagNotLive":    {Table: restored, Bucket: documents, Since: s, Live: true},
		"NotRestored":        {Table: "rtbf-other", Bucket: documents, Since: s},
		"PrefixAlone":        {Table: restorePrefix, Bucket: documents, Since: s},
		"OtherBucket":        {Table: restored, Bucket: "rtbf-exports", Since: s},
		"NoSince":            {Table: restored, Bucket: documents},
		"SinceNotRFC3339":    {Table: restored, Bucket: documents, Since: "2026-12-01"},
		"NoTable":            {Bucket: documents, Since: s},
		"CursorNotTheReplay": {Table: restored, Bucket: documents, Since: s, Cursor: "bm90IGEgY3Vyc29y"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			before := map[string]int{liveTable: f.items(liveTable), restored: f.items(restored)}
			res := f.handle(t, ev)
			if res.Error == "" || len(res.Requests) != 0 {
				t.Errorf("result: got %+v, want a refusal", res)
			}
			for table, n := range before {
				if got := f.items(table); got != n {
					t.Errorf("%s: %d items after a refusal, want %d", table, got, n)
				}
			}
			if recs, _ := f.ledger.Replays(); len(recs) != 0 {
				t.Errorf("replay records after a refusal: %v, want none", recs)
			}
		})
	}
	t.Run("Malformed", func(t *testing.T) {
		f := newFixture(t)
		res, err := f.h.Handle(context.Background(), json.RawMessage(`{"table":"x","unknown":1}`))
		if err != nil || !strings.HasPrefix(res.Error, "replay refused:") {
			t.Errorf("Handle: got %+v, %v; want a refusal", res, err)
		}
	})
}

// The live table, told so: the replay runs on it.
func TestHandle_Live(t *testing.T) {
	f := newFixture(t)
	res := f.handle(t, Event{Table: liveTable, Bucket: documents, Since: since.Format(time.RFC3339), Live: true})
	if res.Error != "" || len(res.Requests) != 1 || res.Requests[0].Deleted != (erasure.Counts{JournalEntries: 1, Documents: 1}) {
		t.Fatalf("result: %+v, want cl-ava's request replayed", res)
	}
	if got := f.items(liveTable); got != 1 {
		t.Errorf("live table: %d items left, want the practitioner's entry alone", got)
	}
	if got := f.items(restorePrefix + "2026-12-01"); got != 3 {
		t.Errorf("restored table: %d items, want it untouched (3)", got)
	}
}
