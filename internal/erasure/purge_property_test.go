package erasure_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// propertySeed seeds every random practice; case i uses propertySeed+i and
// is named after it, so a failure is reproduced with
// -run 'TestService_Purge_Random/seed=N'.
const propertySeed = 20261128

// propertyCases is how many random practices the property test purges.
const propertyCases = 200

var (
	practitionerIDs = []string{"owner", "prac-a", "prac-b", "prac-c"}
	otherClientIDs  = []string{otherID, "c3", "c4", "c5"}
)

// model is a random practice seeded in the fakes, and what a purge of c1
// must remove from it: decided here from the seeding, not by the Service's
// rule.
type model struct {
	gone        map[erasure.ItemKey]bool
	goneObjects map[string]bool
	// skipped are the keys c1's documents point to outside c1's folder.
	skipped map[string]bool
	want    erasure.Counts
}

// foreignKeys are pointers a document in c1's file may hold that are not in
// c1's folder (practices/p1/clients/c1/): other clients' objects, c1's
// namesake's in p2, a prefix sibling's, and keys that are no object's in
// c1's folder. (Keys no object can have, such as "", are unresolved, not
// skipped: poison_test.go.)
var foreignKeys = []string{
	"practices/p1/clients/c2/d00",
	"practices/p2/clients/c1/d00",
	"practices/p1/clients/c12/uploads/d00",
	"practices/p1/clients/c1",
	"practices/p1/clients/c1/../c2/d00",
	"/practices/p1/clients/c1/uploads/d00",
}

// randomAuthor picks who wrote an item in c1's file or chats: c1, a
// practitioner, the practitioner whose id is c1's, or another client.
func randomAuthor(rng *rand.Rand, clients []string) erasure.Author {
	switch n := rng.IntN(10); {
	case n < 4:
		return byClient
	case n < 6:
		return erasure.Author{Role: identity.RolePractitioner, ID: practitionerIDs[rng.IntN(len(practitionerIDs))]}
	case n < 8:
		return byPracNamedLikeClient
	default:
		return erasure.Author{Role: identity.RoleClient, ID: clients[rng.IntN(len(clients))]}
	}
}

// seedRandom fills the fakes with a random practice p1: c1's file (journal
// entries and documents by anyone, notes), chats c1 takes part in (direct,
// and groups of 2 to 4 clients), other clients' files and chats, and c1's
// namesake in another practice p2. It returns the model of a purge of c1.
func seedRandom(rng *rand.Rand, f *fixture) model {
	m, objs := f.mem, f.objects
	w := model{gone: map[erasure.ItemKey]bool{}, goneObjects: map[string]bool{}, skipped: map[string]bool{}}
	c1PK := "PRACTICE#" + practiceID + "#CLIENT#" + clientID

	for i := range rng.IntN(15) {
		a := randomAuthor(rng, otherClientIDs)
		k := m.AddJournal(practiceID, clientID, fmt.Sprintf("j%02d", i), a)
		if a == byClient {
			w.gone[k] = true
			w.want.JournalEntries++
		}
	}
	for i := range rng.IntN(10) {
		a := randomAuthor(rng, otherClientIDs)
		var keys, own []string
		for j := range rng.IntN(4) {
			if rng.IntN(4) == 0 {
				keys = append(keys, foreignKeys[rng.IntN(len(foreignKeys))])
				continue
			}
			o := fmt.Sprintf("practices/%s/clients/%s/uploads/d%02d-%d", practiceID, clientID, i, j)
			keys, own = append(keys, o), append(own, o)
		}
		objs.Put(own...)
		k := m.AddDocument(practiceID, clientID, fmt.Sprintf("d%02d", i), a, keys...)
		if a == byClient {
			w.gone[k] = true
			w.want.Documents++
			for _, o := range keys {
				if slices.Contains(own, o) {
					w.goneObjects[o] = true
				} else {
					w.skipped[o] = true
				}
			}
		}
	}
	for i := range rng.IntN(4) {
		m.AddOther(c1PK, fmt.Sprintf("NOTE#n%d", i))
	}
	m.AddOther(c1PK, "PROFILE")

	for i := range rng.IntN(7) {
		sid := fmt.Sprintf("s%02d", i)
		switch rng.IntN(4) {
		case 0: // c1's own conversation: goes whole, whoever wrote what
			w.gone[m.AddChat(practiceID, sid, clientID)] = true
			w.gone[erasure.ItemKey{PK: c1PK, SK: "CHAT#" + sid}] = true
			w.want.ChatSessions++
			for j := range rng.IntN(9) {
				w.gone[m.AddMessage(practiceID, sid, fmt.Sprintf("m%02d", j), randomAuthor(rng, otherClientIDs))] = true
				w.want.ChatMessages++
			}
		case 1: // a group with c1 in it: only c1's messages go
			members := append(randomClients(rng, 1+rng.IntN(3)), clientID)
			rng.Shuffle(len(members), func(a, b int) { members[a], members[b] = members[b], members[a] })
			m.AddChat(practiceID, sid, members...)
			for j := range rng.IntN(9) {
				a := randomAuthor(rng, members)
				k := m.AddMessage(practiceID, sid, fmt.Sprintf("m%02d", j), a)
				if a == byClient {
					w.gone[k] = true
					w.want.ChatMessages++
				}
			}
		case 2: // other clients' chats, direct or group: c1 is not in them
			m.AddChat(practiceID, sid, randomClients(rng, 1+rng.IntN(4))...)
			for j := range rng.IntN(5) {
				m.AddMessage(practiceID, sid, fmt.Sprintf("m%02d", j), randomAuthor(rng, otherClientIDs))
			}
		case 3: // c1's link to a conversation that is gone: the link goes
			sess := m.AddChat(practiceID, sid, clientID)
			if err := m.DeleteItems(context.Background(), []erasure.ItemKey{sess}); err != nil {
				panic(err)
			}
			w.gone[erasure.ItemKey{PK: c1PK, SK: "CHAT#" + sid}] = true
		}
	}

	// Other clients' files stay, including what a practitioner named like
	// c1 wrote in them.
	for _, c := range otherClientIDs {
		for i := range rng.IntN(4) {
			m.AddJournal(practiceID, c, fmt.Sprintf("j%02d", i), erasure.Author{Role: identity.RoleClient, ID: c})
		}
		for i := range rng.IntN(3) {
			o := fmt.Sprintf("practices/%s/clients/%s/d%02d", practiceID, c, i)
			objs.Put(o)
			m.AddDocument(practiceID, c, fmt.Sprintf("d%02d", i), byPracNamedLikeClient, o)
		}
	}
	// c1's namesake in another practice stays, same ids and all.
	const p2 = "p2"
	m.AddJournal(p2, clientID, "j00", byClient)
	objs.Put("practices/p2/clients/c1/d00")
	m.AddDocument(p2, clientID, "d00", byClient, "practices/p2/clients/c1/d00")
	m.AddChat(p2, "s00", clientID)
	m.AddMessage(p2, "s00", "m00", byClient)
	return w
}

// randomClients returns n distinct clients other than c1.
func randomClients(rng *rand.Rand, n int) []string {
	cs := slices.Clone(otherClientIDs)
	rng.Shuffle(len(cs), func(a, b int) { cs[a], cs[b] = cs[b], cs[a] })
	return cs[:n]
}

// purgeCase is a random practice with c1's request made and the clock at
// its purge time.
type purgeCase struct {
	f             *fixture
	w             model
	r             erasure.Request
	keysBefore    []erasure.ItemKey
	objectsBefore []string
}

// newPurgeCase seeds a random practice from seed, with a random page size
// (1 to 7) and concurrency (1 to 8), and has c1 ask.
func newPurgeCase(t *testing.T, seed uint64) (*purgeCase, *rand.Rand) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := newFixture(t)
	w := seedRandom(rng, f)
	f.mem.PageSize = 1 + rng.IntN(7)
	f.svc.PurgeConcurrency = 1 + rng.IntN(8)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: page size %d, concurrency %d, scope %+v, %d items and %d objects to go, %d keys to skip",
				seed, f.mem.PageSize, f.svc.PurgeConcurrency, w.want, len(w.gone), len(w.goneObjects), len(w.skipped))
		}
	})

	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	if r.WillDelete != w.want {
		t.Fatalf("WillDelete: got %+v, want %+v", r.WillDelete, w.want)
	}
	f.clock.Set(r.PurgeAt)
	c := &purgeCase{f: f, w: w, r: r, keysBefore: f.mem.Keys(), objectsBefore: f.objects.Keys()}
	for k := range w.gone {
		if !slices.Contains(c.keysBefore, k) {
			t.Fatalf("seeded item %v missing before the purge", k)
		}
	}
	for o := range w.goneObjects {
		if !slices.Contains(c.objectsBefore, o) {
			t.Fatalf("seeded object %s missing before the purge", o)
		}
	}
	return c, rng
}

// checkContent checks that exactly the model's items and objects are gone.
// Every other item is as it was: nothing in the Content port changes an
// item, so an item that is there is unchanged.
func (c *purgeCase) checkContent(t *testing.T) {
	t.Helper()
	wantKeys := slices.DeleteFunc(slices.Clone(c.keysBefore), func(k erasure.ItemKey) bool { return c.w.gone[k] })
	equalKeys(t, "items left", c.f.mem.Keys(), wantKeys)
	wantObjects := slices.DeleteFunc(slices.Clone(c.objectsBefore), func(o string) bool { return c.w.goneObjects[o] })
	equalStrings(t, "objects left", c.f.objects.Keys(), wantObjects)
}

// checkDone checks the stored request: completed after invocations
// invocations, its receipt the scope counted at request time with each key
// left outside c1's folder recorded once, and the completion notices
// carrying it.
func (c *purgeCase) checkDone(t *testing.T, invocations int) erasure.Request {
	t.Helper()
	got := c.f.stored(t, c.r.ID)
	if got.Status != erasure.StatusCompleted || got.CompletedAt == nil || got.PurgeStartedAt == nil {
		t.Fatalf("request: got status %q, started %v, completed %v, want completed", got.Status, got.PurgeStartedAt, got.CompletedAt)
	}
	if got.Deleted != c.r.WillDelete {
		t.Errorf("Deleted: got %+v, want %+v", got.Deleted, c.r.WillDelete)
	}
	if got.Invocations != invocations {
		t.Errorf("Invocations: got %d, want %d", got.Invocations, invocations)
	}
	equalStrings(t, "SkippedObjects", slices.Sorted(slices.Values(got.SkippedObjects)), slices.Sorted(maps.Keys(c.w.skipped)))
	ns := c.f.notifications(erasure.NoticeDeletionCompleted)
	var who []string
	for _, n := range ns {
		who = append(who, n.PractitionerID)
		if n.Counts != got.Deleted {
			t.Errorf("completion notice to %s: got counts %+v, want %+v", n.PractitionerID, n.Counts, got.Deleted)
		}
	}
	equalStrings(t, "completion notices", who, c1Practitioners)
	return got
}

func TestService_Purge_Random(t *testing.T) {
	for i := range propertyCases {
		seed := uint64(propertySeed + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			c, _ := newPurgeCase(t, seed)
			got, err := c.f.svc.Purge(context.Background(), c.r.ID)
			if err != nil {
				t.Fatalf("Purge: got error %v, want nil", err)
			}
			if got.Status != erasure.StatusCompleted || got.Deleted != c.r.WillDelete {
				t.Errorf("Purge: got status %q, deleted %+v, want completed, %+v", got.Status, got.Deleted, c.r.WillDelete)
			}
			c.checkContent(t)
			c.checkDone(t, 1)
		})
	}
}
