package erasure_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// restored is the stand-in for a restore from a backup taken before the
// purges: a second fixture's content and objects, seeded as the first was
// before its purge.
type restored struct {
	mem     *porttest.Memory
	objects *porttest.Objects
	seeded  seeded
}

func restore(t *testing.T) restored {
	t.Helper()
	f := newFixture(t)
	s := seedContent(f)
	return restored{mem: f.mem, objects: f.objects, seeded: s}
}

// purged runs c1's purge to completion and returns its request.
func purged(t *testing.T, f *fixture) erasure.Request {
	t.Helper()
	r, _ := requested(t, f)
	done, err := f.svc.Purge(context.Background(), r.ID)
	if err != nil || done.Status != erasure.StatusCompleted {
		t.Fatalf("Purge: got %s, %v; want completed", done.Status, err)
	}
	return done
}

func replayer(f *fixture, rs restored, cfg erasure.PurgeConfig) *erasure.Replayer {
	return erasure.NewReplayer(rs.mem, rs.mem, rs.objects, f.ledger, cfg,
		erasure.Options{Now: f.clock.Now, NewID: func() string { return "replay-1" }, Log: slog.New(slog.DiscardHandler)})
}

// replayAll invokes the replay until it is done, as an operator does with
// the report's next cursor, and returns every invocation's report.
func replayAll(t *testing.T, rp *erasure.Replayer, since time.Time) []erasure.ReplayReport {
	t.Helper()
	var reps []erasure.ReplayReport
	cursor := ""
	for range 200 {
		rep, err := rp.Replay(context.Background(), erasure.ReplayInput{Since: since, Cursor: cursor})
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		reps = append(reps, rep)
		if rep.Next == "" {
			return reps
		}
		cursor = rep.Next
	}
	t.Fatal("the replay never ends")
	return nil
}

func replayed(reps []erasure.ReplayReport) []erasure.ReplayedRequest {
	var out []erasure.ReplayedRequest
	for _, r := range reps {
		out = append(out, r.Requests...)
	}
	return out
}

// After a restore to before c1's purge, the replay deletes again exactly
// what the purge deleted (the items and the objects), keeps a signed
// replay record, and a second replay finds and deletes nothing.
func TestReplayer_Replay(t *testing.T) {
	for name, cfg := range map[string]erasure.PurgeConfig{
		"OneInvocation": {},
		// Every invocation's time is up at once: it does a page's work
		// and hands back a cursor.
		"Resumed": {Budget: time.Nanosecond},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := purged(t, f)
			rs := restore(t)
			itemsBefore, objectsBefore := rs.mem.Keys(), rs.objects.Keys()

			reps := replayAll(t, replayer(f, rs, cfg), t0)
			if name == "Resumed" && len(reps) < 3 {
				t.Errorf("resumed replay: %d invocations, want several", len(reps))
			}
			equalKeys(t, "items after the replay", rs.mem.Keys(), without(itemsBefore, rs.seeded.gone))
			equalStrings(t, "objects after the replay", rs.objects.Keys(), without(objectsBefore, rs.seeded.goneObjects))
			// The restored client's portal is closed again (the restored
			// table predates the purge's marker); the other client's is not.
			if closed, err := rs.mem.PortalClosed(context.Background(), practiceID, clientID); err != nil || !closed {
				t.Errorf("PortalClosed(%s) after the replay: got %v, %v; want closed", clientID, closed, err)
			}
			if closed, _ := rs.mem.PortalClosed(context.Background(), practiceID, otherID); closed {
				t.Errorf("PortalClosed(%s): got closed, want open", otherID)
			}

			got := replayed(reps)
			if len(got) != 1 {
				t.Fatalf("replayed: %+v, want c1's request alone", got)
			}
			want := erasure.ReplayedRequest{RequestID: r.ID, PracticeID: practiceID, ClientID: clientID,
				ErasureEndedAt: r.CompletedAt.UTC(), Found: wantScope, Deleted: wantScope, DeletedObjects: 4}
			if a, b := mustJSON(t, got[0]), mustJSON(t, want); a != b {
				t.Errorf("replayed:\n got %s\nwant %s", a, b)
			}
			recs, err := f.ledger.Replays()
			if err != nil {
				t.Fatal(err)
			}
			rec, ok := recs[evidence.ReplayKey("replay-1", r.ID)]
			if !ok || len(recs) != 1 {
				t.Fatalf("replay records: %v, want one for %s", recs, r.ID)
			}
			if rec.ClientID != clientID || rec.Deleted != (evidence.Counts{JournalEntries: 2, Documents: 3, ChatSessions: 1, ChatMessages: 6}) ||
				rec.DeletedObjects != 4 || !rec.Since.Equal(t0) || !rec.ErasureEndedAt.Equal(*r.CompletedAt) || rec.RuleVersion != erasure.RuleVersion {
				t.Errorf("replay record: %+v", rec)
			}
			if keys := f.ledger.Keys(); !slices.Equal(keys, []string{evidence.Key(r.ID, evidence.OutcomeCompleted)}) {
				t.Errorf("erasure certificates after the replay: %v, want the purge's alone", keys)
			}

			// Again: nothing found, nothing deleted, nothing changed.
			itemsAfter, objectsAfter := rs.mem.Keys(), rs.objects.Keys()
			again := replayed(replayAll(t, replayer(f, rs, cfg), t0))
			if len(again) != 1 || again[0].Found != (erasure.Counts{}) || again[0].Deleted != (erasure.Counts{}) || again[0].DeletedObjects != 0 {
				t.Errorf("second replay: %+v, want c1 found with nothing to delete", again)
			}
			equalKeys(t, "items after a second replay", rs.mem.Keys(), itemsAfter)
			equalStrings(t, "objects after a second replay", rs.objects.Keys(), objectsAfter)
		})
	}
}

// A restore point after the purge ended: nothing to replay.
func TestReplayer_Replay_Older(t *testing.T) {
	f := newFixture(t)
	r := purged(t, f)
	rs := restore(t)
	before := rs.mem.Keys()
	reps := replayAll(t, replayer(f, rs, erasure.PurgeConfig{}), r.CompletedAt.Add(time.Second))
	if got := replayed(reps); len(got) != 0 || reps[0].Older != 1 {
		t.Errorf("replay since after the purge: %+v, want nothing replayed and one older", reps)
	}
	equalKeys(t, "items", rs.mem.Keys(), before)
}

// A certificate that does not verify (one byte of its record changed to
// name another client; or not a certificate at all) is reported refused
// and not replayed: the other client's content stays.
func TestReplayer_Replay_RefusesUnverified(t *testing.T) {
	f := newFixture(t)
	r := purged(t, f)
	c, ok := f.ledger.CertificateOf(evidence.Key(r.ID, evidence.OutcomeCompleted))
	if !ok {
		t.Fatal("no certificate")
	}
	forged := c
	forged.Record = bytes.Replace(bytes.Clone(c.Record), []byte(`"clientId":"`+clientID+`"`), []byte(`"clientId":"`+otherID+`"`), 1)
	forged.Record = bytes.Replace(forged.Record, []byte(r.ID), []byte("forged-1"), 1)
	b, err := evidence.EncodeCertificate(forged)
	if err != nil {
		t.Fatal(err)
	}
	forgedKey := evidence.Key("forged-1", evidence.OutcomeCompleted)
	f.ledger.Put(forgedKey, b)
	f.ledger.Put(evidence.Key("junk", evidence.OutcomeCompleted), []byte("not json"))

	rs := restore(t)
	reps := replayAll(t, replayer(f, rs, erasure.PurgeConfig{}), t0)
	got := replayed(reps)
	if len(got) != 1 || got[0].ClientID != clientID {
		t.Fatalf("replayed: %+v, want c1's request alone", got)
	}
	var refused []string
	for _, rep := range reps {
		for _, x := range rep.Refused {
			refused = append(refused, x.Key)
		}
	}
	slices.Sort(refused)
	equalStrings(t, "refused", refused, []string{forgedKey, evidence.Key("junk", evidence.OutcomeCompleted)})
	for _, k := range rs.mem.Keys() {
		if k.PK == "PRACTICE#"+practiceID+"#CLIENT#"+otherID && k.SK == "JOURNAL#j1" {
			return
		}
	}
	t.Errorf("c2's journal entry is gone: %v", rs.mem.Keys())
}

// A cursor that is not one the replay gave, or of another restore point,
// is refused.
func TestReplayer_Replay_BadCursor(t *testing.T) {
	f := newFixture(t)
	purged(t, f)
	rs := restore(t)
	rp := replayer(f, rs, erasure.PurgeConfig{Budget: time.Nanosecond})
	if _, err := rp.Replay(context.Background(), erasure.ReplayInput{Since: t0, Cursor: "bm90IGEgY3Vyc29y"}); err == nil {
		t.Error("Replay with a made-up cursor: got no error")
	}
	rep, err := rp.Replay(context.Background(), erasure.ReplayInput{Since: t0})
	if err != nil || rep.Next == "" {
		t.Fatalf("Replay: %+v, %v; want a next cursor", rep, err)
	}
	if _, err := rp.Replay(context.Background(), erasure.ReplayInput{Since: t0.Add(time.Hour), Cursor: rep.Next}); err == nil {
		t.Error("Replay with another restore point's cursor: got no error")
	}
}

// A request set aside and then completed has two records: it is replayed
// once, by the one that ended last, even when the first ended before the
// restore point.
func TestReplayer_Replay_SetAsideThenCompleted(t *testing.T) {
	f := newFixture(t)
	r := purged(t, f)
	setAside := r.CompletedAt.Add(-time.Hour)
	aside := r
	aside.CompletedAt, aside.SetAsideAt = nil, &setAside
	if err := f.ledger.Record(context.Background(), erasure.ErasureRecord(aside, evidence.OutcomeNeedsAttention)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.ledger.Keys()); n != 2 {
		t.Fatalf("ledger: %d certificates, want 2", n)
	}
	rs := restore(t)
	got := replayed(replayAll(t, replayer(f, rs, erasure.PurgeConfig{}), setAside.Add(time.Minute)))
	if len(got) != 1 || got[0].RequestID != r.ID || !got[0].ErasureEndedAt.Equal(*r.CompletedAt) || got[0].Deleted != wantScope {
		t.Errorf("replayed: %+v, want %s once, by its completed record", got, r.ID)
	}
}
