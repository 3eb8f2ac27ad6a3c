package erasure_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// poisonKeys are keys in c1's folder that no purge can delete: one of each
// kind no object can have, and one the store refuses for good.
var poisonKeys = map[string]string{
	"empty":    "",
	"too long": "practices/p1/clients/c1/" + strings.Repeat("x", 1024),
	"not XML":  "practices/p1/clients/c1/bad\x01name.pdf",
	"refused":  "practices/p1/clients/c1/locked.pdf",
}

func TestValidObjectKey(t *testing.T) {
	for key, want := range map[string]bool{
		"":                        false,
		"a":                       true,
		strings.Repeat("k", 1024): true,
		strings.Repeat("k", 1025): false,
		"tab\tand\nnewline\r":     true,
		"nul\x00":                 false,
		"bell\x07":                false,
		"\xff\xfe":                false, // not UTF-8
		"ü/日本/\U0001F600":         true,
		"\uFFFE":                  false,
		"\uD7FF\uE000":            true,
		"practices/p1/clients/c1/bad\x01name.pdf": false,
	} {
		if got := erasure.ValidObjectKey(key); got != want {
			t.Errorf("ValidObjectKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestService_Purge_PoisonKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	withClientEmail(f)
	s := seedContent(f)
	// Each poison key in a document of its own beside a good object, and
	// one document with two of them.
	good := func(i int) string { return "practices/p1/clients/c1/held-" + string(rune('a'+i)) + ".pdf" }
	var held []erasure.ItemKey
	var goodKeys []string
	i := 0
	for _, name := range []string{"empty", "too long", "not XML", "refused"} {
		k := f.mem.AddDocument(practiceID, clientID, "held-"+strings.ReplaceAll(name, " ", "-"), byClient, good(i), poisonKeys[name])
		held = append(held, k)
		goodKeys = append(goodKeys, good(i))
		i++
	}
	f.objects.Put(goodKeys...)
	f.objects.Put(poisonKeys["refused"])
	f.objects.Refuse[poisonKeys["refused"]] = true
	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	keysBefore, objectsBefore := f.mem.Keys(), f.objects.Keys()
	f.clock.Set(r.PurgeAt)

	got, err := f.svc.Purge(ctx, r.ID)
	if err != nil {
		t.Fatalf("Purge: got error %v, want nil (poison keys are set aside, not retried)", err)
	}
	if got.Status != erasure.StatusNeedsAttention || len(got.UnresolvedObjects) != len(poisonKeys) {
		t.Fatalf("Purge: got %s with %d unresolved objects %q, want needs_attention with %d", got.Status, len(got.UnresolvedObjects), got.UnresolvedObjects, len(poisonKeys))
	}
	for _, k := range poisonKeys {
		if !slices.Contains(got.UnresolvedObjects, erasure.SkippedKey(k)) {
			t.Errorf("UnresolvedObjects %q: want %q among them", got.UnresolvedObjects, erasure.SkippedKey(k))
		}
	}
	// Everything else went: the held documents stay, with the poison
	// objects; their good objects went, like every other.
	equalKeys(t, "items left", f.mem.Keys(), without(keysBefore, s.gone)) // the held documents among them
	equalStrings(t, "objects left", f.objects.Keys(), without(objectsBefore, append(slices.Clone(s.goneObjects), goodKeys...)))
	if want := (erasure.Counts{JournalEntries: 2, Documents: 3, ChatSessions: 1, ChatMessages: 6}); got.Deleted != want {
		t.Errorf("Deleted: got %+v, want %+v", got.Deleted, want)
	}
	// Objects count with their documents: the held ones' good objects are
	// gone, but not yet counted.
	if got.DeletedObjects != len(s.goneObjects) {
		t.Errorf("DeletedObjects: got %d, want %d", got.DeletedObjects, len(s.goneObjects))
	}
	// The portal stays closed; the practitioners are told, the client
	// not yet.
	if _, err := f.svc.Portal(ctx, clientActor(t, clientID)); identity.ErrorCode(err) != identity.EAccountClosed {
		t.Errorf("Portal: got %v, want %s", err, identity.EAccountClosed)
	}
	ns := f.notifications(erasure.NoticeNeedsAttention)
	if len(ns) != len(c1Practitioners) || !strings.Contains(ns[0].Message, "except for 4 files") || !strings.Contains(ns[0].Message, "support has been alerted") {
		t.Errorf("needs-attention notices: got %d, first %+v; want %d saying 4 files and support", len(ns), ns, len(c1Practitioners))
	}
	if n := len(f.notifications(erasure.NoticeDeletionCompleted)); n != 0 {
		t.Errorf("completion notices: got %d, want none yet", n)
	}
	mine, _ := emailsTo(f, adaEmail)
	wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic")

	// The sweep counts it, and leaves it a day.
	f.clock.Advance(time.Hour)
	rep, err := f.svc.Sweep(ctx)
	if err != nil || rep.NeedsAttention != 1 || rep.Overdue != 0 || rep.EmailsOwed != 0 {
		t.Fatalf("Sweep: got %+v, %v; want one needing attention", rep, err)
	}
	if got := f.stored(t, r.ID); got.Status != erasure.StatusNeedsAttention || got.Invocations != 1 {
		t.Errorf("within the day: got %s after %d invocations, want needs_attention after 1", got.Status, got.Invocations)
	}

	// A day on, still poisoned: tried again, set aside again, no notice
	// twice.
	f.clock.Advance(24 * time.Hour)
	if _, err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	again := f.stored(t, r.ID)
	if again.Status != erasure.StatusNeedsAttention || again.Invocations != 2 || len(again.UnresolvedObjects) != len(poisonKeys) {
		t.Errorf("retried: got %s after %d invocations with %d unresolved, want needs_attention after 2 with %d", again.Status, again.Invocations, len(again.UnresolvedObjects), len(poisonKeys))
	}
	if n := len(f.notifications(erasure.NoticeNeedsAttention)); n != len(c1Practitioners) {
		t.Errorf("needs-attention notices after the retry: got %d, want still %d", n, len(c1Practitioners))
	}

	// Support fixes the pointers in the table and the store lets the
	// locked object go: the next daily retry completes the request and the
	// client gets the receipt, once.
	for j, name := range []string{"empty", "too long", "not XML", "refused"} {
		keys := []string{good(j)}
		if name == "refused" {
			keys = append(keys, poisonKeys[name])
		}
		f.mem.AddDocument(practiceID, clientID, "held-"+strings.ReplaceAll(name, " ", "-"), byClient, keys...)
	}
	delete(f.objects.Refuse, poisonKeys["refused"])
	f.clock.Advance(24 * time.Hour)
	if _, err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	done := f.stored(t, r.ID)
	if done.Status != erasure.StatusCompleted || len(done.UnresolvedObjects) != 0 || len(done.Owed) != 0 {
		t.Fatalf("after the fix: got %s with %q unresolved owing %v, want completed owing nothing", done.Status, done.UnresolvedObjects, done.Owed)
	}
	if want := (erasure.Counts{JournalEntries: 2, Documents: 7, ChatSessions: 1, ChatMessages: 6}); done.Deleted != want {
		t.Errorf("Deleted: got %+v, want %+v", done.Deleted, want)
	}
	// Each held document's object(s) as its pointers were when it went:
	// one good key each, and the once refused one.
	if want := len(s.goneObjects) + 4 + 1; done.DeletedObjects != want {
		t.Errorf("DeletedObjects: got %d, want %d", done.DeletedObjects, want)
	}
	equalKeys(t, "items left", f.mem.Keys(), without(keysBefore, append(slices.Clone(s.gone), held...)))
	if slices.Contains(f.objects.Keys(), poisonKeys["refused"]) {
		t.Errorf("objects left: the once refused object is still there")
	}
	for range 2 {
		f.clock.Advance(24 * time.Hour)
		if _, err := f.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mine, _ = emailsTo(f, adaEmail)
	wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic", "Your account with Calm Clinic was deleted")
	if n := len(f.notifications(erasure.NoticeDeletionCompleted)); n != len(c1Practitioners) {
		t.Errorf("completion notices: got %d, want %d", n, len(c1Practitioners))
	}
}
