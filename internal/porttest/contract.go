package porttest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Seeder writes the records that other services of the platform own (the
// directory and the client content), so that a contract suite can set up
// what the storage ports read. Each content method returns the key of the
// item it wrote.
type Seeder interface {
	AddPractice(p erasure.Practice)
	AddPractitioner(practiceID string, p erasure.Practitioner)
	AddClient(c erasure.Client)
	AddJournal(practiceID, clientID, id string, a erasure.Author) erasure.ItemKey
	AddDocument(practiceID, clientID, id string, a erasure.Author, objects ...string) erasure.ItemKey
	// AddChat writes a session and links each client taking part to it.
	AddChat(practiceID, sessionID string, clientIDs ...string) erasure.ItemKey
	// AddMessage writes a message after every message already in the
	// session.
	AddMessage(practiceID, sessionID, id string, a erasure.Author) erasure.ItemKey
	// AddOther writes an item no reader may return (a note, an invoice).
	AddOther(pk, sk string) erasure.ItemKey
}

var _ Seeder = (*Memory)(nil)

// Stores is every storage port the contract covers, as one value.
type Stores interface {
	erasure.SettingStore
	erasure.Roster
	erasure.Directory
	erasure.RequestStore
	erasure.NotificationStore
	erasure.Content
}

// NotificationReader lists one practitioner's notifications. The ports
// have no reader (the platform shows notifications), so the contract needs
// one to see what PutNotification wrote: Stores must implement it, or be a
// *Memory, whose Notifications() lists every practitioner's.
type NotificationReader interface {
	Notifications(ctx context.Context, practiceID, practitionerID string) ([]erasure.Notification, error)
}

// RunStoreContract checks that the stores newStores returns honour the
// storage ports' documented behaviour. Every subtest calls newStores for
// an empty store, and seeds it only through the Seeder.
//
// It demands only what every implementation guarantees: where a port
// leaves room (a content reader may return more than the client created,
// pages may be of any size, items come in any order) the checks do too.
// Times are whole milliseconds where a condition compares them, the
// precision a real store keeps.
func RunStoreContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	t.Run("SettingStore", func(t *testing.T) { RunSettingStoreContract(t, newStores) })
	t.Run("Roster", func(t *testing.T) { RunRosterContract(t, newStores) })
	t.Run("Directory", func(t *testing.T) { RunDirectoryContract(t, newStores) })
	t.Run("RequestStore", func(t *testing.T) { RunRequestStoreContract(t, newStores) })
	t.Run("NotificationStore", func(t *testing.T) { RunNotificationStoreContract(t, newStores) })
	t.Run("Content", func(t *testing.T) { RunContentContract(t, newStores) })
}

// RunSettingStoreContract checks the stores newStores returns against
// the SettingStore port: the practice setting.
// RunStoreContract runs it as its subtest "SettingStore".
func RunSettingStoreContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	t.Run("GetSetting/Default", func(t *testing.T) {
		s, _ := newStores(t)
		got, err := s.GetSetting(ctx, "pr-1")
		must(t, err)
		if want := (erasure.Setting{PracticeID: "pr-1"}); !sameSetting(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("PutSetting/RoundTrip", func(t *testing.T) {
		s, _ := newStores(t)
		at := time.Date(2030, 3, 4, 10, 11, 12, 345678900, time.UTC)
		on := erasure.Setting{PracticeID: "pr-1", Enabled: true, UpdatedAt: &at, UpdatedBy: "pr-owner"}
		must(t, s.PutSetting(ctx, on))
		got, err := s.GetSetting(ctx, "pr-1")
		must(t, err)
		if !sameSetting(got, on) {
			t.Errorf("got %+v, want %+v", got, on)
		}
		later := at.Add(time.Hour)
		off := erasure.Setting{PracticeID: "pr-1", Enabled: false, UpdatedAt: &later, UpdatedBy: "pr-other"}
		must(t, s.PutSetting(ctx, off))
		got, err = s.GetSetting(ctx, "pr-1")
		must(t, err)
		if !sameSetting(got, off) {
			t.Errorf("after a second put: got %+v, want %+v", got, off)
		}
		other, err := s.GetSetting(ctx, "pr-2")
		must(t, err)
		if want := (erasure.Setting{PracticeID: "pr-2"}); !sameSetting(other, want) {
			t.Errorf("another practice: got %+v, want %+v", other, want)
		}
	})
	t.Run("GetSettingAs", func(t *testing.T) {
		s, seed := newStores(t)
		seed.AddPractice(erasure.Practice{ID: "pr-1", Name: "One", OwnerID: "p-owner"})
		seed.AddPractitioner("pr-1", erasure.Practitioner{ID: "p-owner", Name: "O", Email: "o@example.com"})
		seed.AddPractitioner("pr-1", erasure.Practitioner{ID: "p-member", Name: "M", Email: "m@example.com"})
		seed.AddPractitioner("pr-2", erasure.Practitioner{ID: "p-other", Name: "X", Email: "x@example.com"})
		at := time.Date(2030, 3, 4, 10, 11, 12, 345678900, time.UTC)
		on := erasure.Setting{PracticeID: "pr-1", Enabled: true, UpdatedAt: &at, UpdatedBy: "p-owner"}
		must(t, s.PutSetting(ctx, on))
		for _, c := range []struct {
			practice, sub string
			setting       erasure.Setting
			owner         bool
		}{
			{"pr-1", "p-owner", on, true},
			{"pr-1", "p-member", on, false},
			{"pr-2", "p-other", erasure.Setting{PracticeID: "pr-2"}, false}, // no setting, no practice record
		} {
			st, m, err := s.GetSettingAs(ctx, c.practice, c.sub)
			must(t, err)
			if !sameSetting(st, c.setting) || m.ID != c.sub || m.Owner != c.owner {
				t.Errorf("GetSettingAs(%s, %s): got %+v, %+v; want %+v, owner %v", c.practice, c.sub, st, m, c.setting, c.owner)
			}
		}
		for _, c := range [][2]string{{"pr-1", "p-other"}, {"pr-2", "p-owner"}, {"pr-1", "p-ghost"}} {
			_, _, err := s.GetSettingAs(ctx, c[0], c[1])
			wantErr(t, err, identity.ErrNotFound)
		}
	})
}

// RunRosterContract checks the stores newStores returns against
// the Roster port: practitioner membership.
// RunStoreContract runs it as its subtest "Roster".
func RunRosterContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	s, seed := newStores(t)
	seed.AddPractice(erasure.Practice{ID: "pr-1", Name: "One", OwnerID: "p-owner"})
	seed.AddPractitioner("pr-1", erasure.Practitioner{ID: "p-owner", Name: "O", Email: "o@example.com"})
	seed.AddPractitioner("pr-1", erasure.Practitioner{ID: "p-member", Name: "M", Email: "m@example.com"})
	// The practice record names an owner who has no practitioner item.
	seed.AddPractice(erasure.Practice{ID: "pr-2", Name: "Two", OwnerID: "p-gone"})
	seed.AddPractitioner("pr-2", erasure.Practitioner{ID: "p-owner", Name: "O", Email: "o@example.com"})
	for _, c := range []struct {
		practice, sub string
		found, owner  bool
	}{
		{"pr-1", "p-owner", true, true}, {"pr-1", "p-member", true, false},
		{"pr-2", "p-owner", true, false}, {"pr-2", "p-gone", false, false},
		{"pr-1", "p-ghost", false, false}, {"pr-3", "p-owner", false, false},
	} {
		m, err := s.Member(ctx, c.practice, c.sub)
		if !c.found {
			wantErr(t, err, identity.ErrNotFound)
			continue
		}
		must(t, err)
		if m.ID != c.sub || m.Owner != c.owner {
			t.Errorf("Member(%s, %s): got %+v, want owner %v", c.practice, c.sub, m, c.owner)
		}
	}
}

// RunDirectoryContract checks the stores newStores returns against
// the Directory port: the records other services own.
// RunStoreContract runs it as its subtest "Directory".
func RunDirectoryContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	t.Run("GetPractice", func(t *testing.T) {
		s, seed := newStores(t)
		want := erasure.Practice{ID: "pr-1", Name: "Harbour Wellness", OwnerID: "p-owner"}
		seed.AddPractice(want)
		got, err := s.GetPractice(ctx, "pr-1")
		must(t, err)
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		_, err = s.GetPractice(ctx, "pr-missing")
		wantErr(t, err, identity.ErrNotFound)
	})
	t.Run("GetPractitioners", func(t *testing.T) {
		s, seed := newStores(t)
		a := erasure.Practitioner{ID: "p-a", Name: "Ann", Email: "ann@example.com"}
		b := erasure.Practitioner{ID: "p-b", Name: "Bo", Email: "bo@example.com"}
		elsewhere := erasure.Practitioner{ID: "p-c", Name: "Cy", Email: "cy@example.com"}
		seed.AddPractitioner("pr-1", a)
		seed.AddPractitioner("pr-1", b)
		seed.AddPractitioner("pr-2", elsewhere)
		got, err := s.GetPractitioners(ctx, "pr-1", []string{"p-b", "p-missing", "p-a", "p-c"})
		must(t, err)
		slices.SortFunc(got, func(x, y erasure.Practitioner) int { return cmp.Compare(x.ID, y.ID) })
		if want := []erasure.Practitioner{a, b}; !slices.Equal(got, want) {
			t.Errorf("got %+v, want %+v (missing ids and other practices' skipped)", got, want)
		}
		got, err = s.GetPractitioners(ctx, "pr-1", nil)
		must(t, err)
		if len(got) != 0 {
			t.Errorf("no ids: got %+v, want none", got)
		}
	})
	t.Run("GetClient", func(t *testing.T) {
		s, seed := newStores(t)
		want := erasure.Client{PracticeID: "pr-1", ID: "c-1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", PractitionerIDs: []string{"p-a", "p-b"}, PortalUserID: "u-ada"}
		seed.AddClient(want)
		got, err := s.GetClient(ctx, "pr-1", "c-1")
		must(t, err)
		if got.PracticeID != want.PracticeID || got.ID != want.ID || got.FirstName != want.FirstName ||
			got.LastName != want.LastName || got.Email != want.Email || !sameSet(got.PractitionerIDs, want.PractitionerIDs) ||
			got.PortalUserID != want.PortalUserID {
			t.Errorf("got %+v, want %+v", got, want)
		}
		_, err = s.GetClient(ctx, "pr-1", "c-missing")
		wantErr(t, err, identity.ErrNotFound)
		_, err = s.GetClient(ctx, "pr-2", "c-1")
		wantErr(t, err, identity.ErrNotFound)
	})
}

// RunRequestStoreContract checks the stores newStores returns against
// the RequestStore port: deletion requests and portal access.
// RunStoreContract runs it as its subtest "RequestStore".
func RunRequestStoreContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	t.Run("CreateRequest/OK", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		got, err := s.GetRequest(ctx, r.ID)
		must(t, err)
		checkRequest(t, "GetRequest", got, r)
		for name, tm := range map[string]time.Time{"RequestedAt": got.RequestedAt, "PurgeAt": got.PurgeAt} {
			if tm.Location() != time.UTC {
				t.Errorf("GetRequest %s location: got %v, want UTC", name, tm.Location())
			}
		}
		got, err = s.ActiveRequest(ctx, r.PracticeID, r.ClientID)
		must(t, err)
		checkRequest(t, "ActiveRequest", got, r)
		closed, err := s.PortalClosed(ctx, r.PracticeID, r.ClientID)
		must(t, err)
		if closed {
			t.Errorf("PortalClosed: got true, want false")
		}
	})
	t.Run("CreateRequest/ErrConditionFailed/ActiveRequest", func(t *testing.T) {
		s, _ := newStores(t)
		first := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, first))
		second := newRequest("rq-2", "c-1")
		wantErr(t, s.CreateRequest(ctx, second), identity.ErrConditionFailed)
		_, err := s.GetRequest(ctx, second.ID)
		wantErr(t, err, identity.ErrNotFound)
		got, err := s.ActiveRequest(ctx, first.PracticeID, first.ClientID)
		must(t, err)
		if got.ID != first.ID {
			t.Errorf("ActiveRequest: got %s, want %s", got.ID, first.ID)
		}
		// Another client of the practice is not held up.
		must(t, s.CreateRequest(ctx, newRequest("rq-3", "c-2")))
	})
	t.Run("CreateRequest/ErrConditionFailed/PortalClosed", func(t *testing.T) {
		s, _ := newStores(t)
		at := msTime(0)
		must(t, s.ClosePortal(ctx, "pr-1", "c-1", "rq-0", at))
		must(t, s.ClosePortal(ctx, "pr-1", "c-1", "rq-0", at.Add(time.Minute))) // again: no error
		closed, err := s.PortalClosed(ctx, "pr-1", "c-1")
		must(t, err)
		if !closed {
			t.Errorf("PortalClosed: got false, want true")
		}
		if closed, err := s.PortalClosed(ctx, "pr-1", "c-2"); err != nil || closed {
			t.Errorf("PortalClosed of another client: got %v, %v, want false, nil", closed, err)
		}
		r := newRequest("rq-1", "c-1")
		wantErr(t, s.CreateRequest(ctx, r), identity.ErrConditionFailed)
		_, err = s.GetRequest(ctx, r.ID)
		wantErr(t, err, identity.ErrNotFound)
		_, err = s.ActiveRequest(ctx, r.PracticeID, r.ClientID)
		wantErr(t, err, identity.ErrNotFound)
	})
	t.Run("GetRequest/ErrNotFound", func(t *testing.T) {
		s, _ := newStores(t)
		_, err := s.GetRequest(ctx, "rq-missing")
		wantErr(t, err, identity.ErrNotFound)
		_, err = s.ActiveRequest(ctx, "pr-1", "c-1")
		wantErr(t, err, identity.ErrNotFound)
	})
	t.Run("DeleteAcceptingRequest/OK", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.DeleteAcceptingRequest(ctx, r))
		_, err := s.GetRequest(ctx, r.ID)
		wantErr(t, err, identity.ErrNotFound)
		_, err = s.ActiveRequest(ctx, r.PracticeID, r.ClientID)
		wantErr(t, err, identity.ErrNotFound)
		if ids := pendingIDs(t, s); len(ids) != 0 {
			t.Errorf("OutstandingRequests: got %v, want none", ids)
		}
		// The client may ask again.
		must(t, s.CreateRequest(ctx, newRequest("rq-2", "c-1")))
	})
	t.Run("DeleteAcceptingRequest/ErrConditionFailed", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		wantErr(t, s.DeleteAcceptingRequest(ctx, r), identity.ErrConditionFailed)
		got, err := s.ActiveRequest(ctx, r.PracticeID, r.ClientID)
		must(t, err)
		if got.ID != r.ID || got.Status != erasure.StatusScheduled {
			t.Errorf("ActiveRequest: got %s %s, want %s %s", got.ID, got.Status, r.ID, erasure.StatusScheduled)
		}
		wantErr(t, s.DeleteAcceptingRequest(ctx, newRequest("rq-missing", "c-2")), identity.ErrConditionFailed)
	})
	t.Run("MarkScheduled/OK", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		wantStatus(t, s, r.ID, erasure.StatusScheduled)
		must(t, s.MarkScheduled(ctx, r)) // again: a no-op
		wantStatus(t, s, r.ID, erasure.StatusScheduled)
		_, err := s.StartPurge(ctx, r.ID, msTime(0), msTime(16*time.Minute), false)
		must(t, err)
		must(t, s.MarkScheduled(ctx, r)) // past scheduled: a no-op
		wantStatus(t, s, r.ID, erasure.StatusPurging)
		if got := getRequest(t, s, r.ID); got.ClientID != r.ClientID || got.ScheduleName != r.ScheduleName || got.WillDelete != r.WillDelete {
			t.Errorf("MarkScheduled changed other fields: got %+v, want those of %+v", got, r)
		}
	})
	t.Run("MarkScheduled/ErrNotFound", func(t *testing.T) {
		s, _ := newStores(t)
		wantErr(t, s.MarkScheduled(ctx, newRequest("rq-missing", "c-9")), identity.ErrNotFound)
	})
	t.Run("Deliveries", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		const stale = 5 * time.Minute
		t0 := msTime(0)
		// Accepting owes nothing: no claim.
		_, err := s.ClaimDeliveries(ctx, r.ID, t0, t0.Add(-stale))
		wantErr(t, err, identity.ErrConditionFailed)
		if got := getRequest(t, s, r.ID); len(got.Owed) != 0 || len(got.Delivered) != 0 {
			t.Errorf("new request: Owed %v, Delivered %v, want none", got.Owed, got.Delivered)
		}
		// The transition records what it owes in its own write.
		must(t, s.MarkScheduled(ctx, r))
		owed := []string{erasure.DeliveryClientRequested, erasure.DeliveryPractitionersRequested}
		if got := getRequest(t, s, r.ID); !sameSet(got.Owed, owed) || len(got.Owed) != 2 {
			t.Errorf("scheduled: Owed %v, want %v", got.Owed, owed)
		}
		claimed, err := s.ClaimDeliveries(ctx, r.ID, t0, t0.Add(-stale))
		must(t, err)
		if claimed.ID != r.ID || !sameSet(claimed.Owed, owed) {
			t.Errorf("ClaimDeliveries returned %+v, want %s owing %v", claimed, r.ID, owed)
		}
		// Held: a second claim waits, until the first is stale.
		t1 := t0.Add(time.Minute)
		_, err = s.ClaimDeliveries(ctx, r.ID, t1, t1.Add(-stale))
		wantErr(t, err, identity.ErrConditionFailed)
		t2 := t0.Add(stale + time.Minute)
		_, err = s.ClaimDeliveries(ctx, r.ID, t2, t2.Add(-stale))
		must(t, err)

		at := t2.Add(time.Second)
		must(t, s.MarkDelivered(ctx, r.ID, erasure.DeliveryPractitionersRequested, at))
		must(t, s.MarkDelivered(ctx, r.ID, erasure.DeliveryPractitionersRequested, at)) // again: the same
		got := getRequest(t, s, r.ID)
		if !sameSet(got.Owed, []string{erasure.DeliveryClientRequested}) || len(got.Owed) != 1 {
			t.Errorf("after one delivery: Owed %v, want [%s]", got.Owed, erasure.DeliveryClientRequested)
		}
		if !sameTimePtr(got.DeliveredAt(erasure.DeliveryPractitionersRequested), &at) || len(got.Delivered) != 1 {
			t.Errorf("Delivered: got %v, want %s at %v", got.Delivered, erasure.DeliveryPractitionersRequested, at)
		}
		// A released claim lets the next one through at once.
		must(t, s.ReleaseDeliveries(ctx, r.ID))
		t3 := t2.Add(2 * time.Second)
		_, err = s.ClaimDeliveries(ctx, r.ID, t3, t3.Add(-stale))
		must(t, err)
		must(t, s.MarkDelivered(ctx, r.ID, erasure.DeliveryClientRequested, t3))
		must(t, s.ReleaseDeliveries(ctx, r.ID))
		// Nothing owed: no claim; still outstanding, as its purge is.
		_, err = s.ClaimDeliveries(ctx, r.ID, t3.Add(time.Hour), t3.Add(time.Hour))
		wantErr(t, err, identity.ErrConditionFailed)
		if ids := pendingIDs(t, s); !slices.Equal(ids, []string{r.ID}) {
			t.Errorf("OutstandingRequests: got %v, want [%s]", ids, r.ID)
		}
		wantErr(t, s.MarkDelivered(ctx, "rq-missing", erasure.DeliveryClientRequested, t3), identity.ErrNotFound)
	})
	t.Run("Deliveries/LeaveIndexOnceFinishedAndDelivered", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		t0 := msTime(0)
		must(t, s.CancelRequest(ctx, r, t0))
		got := getRequest(t, s, r.ID)
		want := []string{erasure.DeliveryClientCancelled, erasure.DeliveryClientRequested, erasure.DeliveryPractitionersCancelled, erasure.DeliveryPractitionersRequested}
		if !sameSet(got.Owed, want) || len(got.Owed) != len(want) {
			t.Errorf("cancelled: Owed %v, want %v", got.Owed, want)
		}
		_, err := s.ClaimDeliveries(ctx, r.ID, t0, t0)
		must(t, err)
		for i, kind := range want {
			must(t, s.MarkDelivered(ctx, r.ID, kind, t0))
			must(t, s.ReleaseDeliveries(ctx, r.ID))
			// Owing more: still in the sweep's index.
			if ids := pendingIDs(t, s); i < len(want)-1 && !slices.Equal(ids, []string{r.ID}) {
				t.Errorf("owing %d more: OutstandingRequests %v, want [%s]", len(want)-1-i, ids, r.ID)
			}
		}
		if ids := pendingIDs(t, s); len(ids) != 0 {
			t.Errorf("finished and delivered: OutstandingRequests %v, want none", ids)
		}
		must(t, s.ReleaseDeliveries(ctx, r.ID)) // again: no error
	})
	t.Run("StartPurge", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		const lease = 16 * time.Minute
		t0 := msTime(0)

		got, err := s.StartPurge(ctx, r.ID, t0, t0.Add(lease), false)
		must(t, err)
		checkPurging(t, "first StartPurge", got, 1, t0)
		checkPurging(t, "GetRequest after StartPurge", getRequest(t, s, r.ID), 1, t0)

		// Within the lease.
		t1 := t0.Add(time.Minute)
		_, err = s.StartPurge(ctx, r.ID, t1, t1.Add(lease), false)
		wantErr(t, err, identity.ErrConditionFailed)
		checkPurging(t, "GetRequest after a refused StartPurge", getRequest(t, s, r.ID), 1, t0)

		// Releasing another lease releases nothing.
		must(t, s.ReleasePurge(ctx, r.ID, t0.Add(lease+time.Millisecond)))
		_, err = s.StartPurge(ctx, r.ID, t1, t1.Add(lease), false)
		wantErr(t, err, identity.ErrConditionFailed)

		// Releasing our lease lets a retry in at once.
		must(t, s.ReleasePurge(ctx, r.ID, t0.Add(lease)))
		t2 := t0.Add(2 * time.Minute)
		got, err = s.StartPurge(ctx, r.ID, t2, t2.Add(lease), false)
		must(t, err)
		checkPurging(t, "StartPurge after ReleasePurge", got, 2, t0)

		// An expired lease (its invocation died) is taken over.
		t3 := t2.Add(lease + time.Minute)
		got, err = s.StartPurge(ctx, r.ID, t3, t3.Add(lease), false)
		must(t, err)
		checkPurging(t, "StartPurge after the lease expired", got, 3, t0)
		checkPurging(t, "GetRequest", getRequest(t, s, r.ID), 3, t0)
		if got.ID != r.ID || got.ClientID != r.ClientID || got.WillDelete != r.WillDelete || !got.PurgeAt.Equal(r.PurgeAt) {
			t.Errorf("StartPurge returned another request: got %+v, want %+v", got, r)
		}
	})
	t.Run("StartPurge/ErrConditionFailed", func(t *testing.T) {
		s, _ := newStores(t)
		_, err := s.StartPurge(ctx, "rq-missing", msTime(0), msTime(time.Minute), false)
		wantErr(t, err, identity.ErrConditionFailed)
		// No lease to give back: no error.
		must(t, s.ReleasePurge(ctx, "rq-missing", msTime(time.Minute)))
	})
	t.Run("CompletePurge", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		t0 := msTime(0)
		_, err := s.StartPurge(ctx, r.ID, t0, t0.Add(16*time.Minute), false)
		must(t, err)
		must(t, s.ClosePortal(ctx, r.PracticeID, r.ClientID, r.ID, t0))
		done := t0.Add(time.Minute)
		got, err := s.CompletePurge(ctx, r.ID, done)
		must(t, err)
		checkCompleted(t, "CompletePurge", got, done, t0)
		checkCompleted(t, "GetRequest", getRequest(t, s, r.ID), done, t0)
		_, err = s.ActiveRequest(ctx, r.PracticeID, r.ClientID)
		wantErr(t, err, identity.ErrNotFound)
		// Completed: never started again, even once the lease is long gone.
		later := t0.Add(24 * time.Hour)
		_, err = s.StartPurge(ctx, r.ID, later, later.Add(16*time.Minute), false)
		wantErr(t, err, identity.ErrConditionFailed)
		checkCompleted(t, "GetRequest after a refused StartPurge", getRequest(t, s, r.ID), done, t0)
		// Completed, it owes the notices and the receipt: outstanding
		// until they are delivered.
		if got := getRequest(t, s, r.ID); !got.Owes(erasure.DeliveryPractitionersCompleted) || !got.Owes(erasure.DeliveryClientCompleted) {
			t.Errorf("completed: Owed %v, want the completion's deliveries", got.Owed)
		}
		if ids := pendingIDs(t, s); !slices.Equal(ids, []string{r.ID}) {
			t.Errorf("OutstandingRequests: got %v, want [%s]", ids, r.ID)
		}
		wantErr(t, s.CreateRequest(ctx, newRequest("rq-2", "c-1")), identity.ErrConditionFailed)
	})
	t.Run("CancelRequest", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		at := msTime(0)
		must(t, s.CancelRequest(ctx, r, at))
		got := getRequest(t, s, r.ID)
		if got.Status != erasure.StatusCancelled || got.CancelledAt == nil || !got.CancelledAt.Equal(at) {
			t.Errorf("GetRequest: got status %q cancelled at %v, want cancelled at %v", got.Status, got.CancelledAt, at)
		}
		_, err := s.ActiveRequest(ctx, r.PracticeID, r.ClientID)
		wantErr(t, err, identity.ErrNotFound)
		if last, err := s.LastCancelled(ctx, r.PracticeID, r.ClientID); err != nil || last.ID != r.ID || last.Status != erasure.StatusCancelled {
			t.Errorf("LastCancelled: got %s %s, %v, want %s cancelled", last.ID, last.Status, err, r.ID)
		}
		_, err = s.LastCancelled(ctx, r.PracticeID, "c-2")
		wantErr(t, err, identity.ErrNotFound)
		// Cancelled: the purge never starts, and the client may ask again.
		_, err = s.StartPurge(ctx, r.ID, at, at.Add(16*time.Minute), false)
		wantErr(t, err, identity.ErrConditionFailed)
		must(t, s.CreateRequest(ctx, newRequest("rq-2", "c-1")))
		if last, err := s.LastCancelled(ctx, r.PracticeID, r.ClientID); err != nil || last.ID != r.ID {
			t.Errorf("LastCancelled after a new request: got %s, %v, want %s", last.ID, err, r.ID)
		}
	})
	t.Run("CancelRequest/ErrConditionFailed", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		t0 := msTime(0)
		_, err := s.StartPurge(ctx, r.ID, t0, t0.Add(16*time.Minute), false)
		must(t, err)
		// The purge holds the request: too late.
		wantErr(t, s.CancelRequest(ctx, r, t0.Add(time.Minute)), identity.ErrConditionFailed)
		if got := getRequest(t, s, r.ID); got.Status != erasure.StatusPurging {
			t.Errorf("GetRequest: got %q, want purging", got.Status)
		}
	})
	t.Run("AddDeleted", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.Checkpoint(ctx, r.ID, "journal", "", erasure.Counts{JournalEntries: 3}, 0))
		must(t, s.Checkpoint(ctx, r.ID, "journal", "", erasure.Counts{JournalEntries: 1, Documents: 2, ChatSessions: 1, ChatMessages: 5}, 3))
		must(t, s.Checkpoint(ctx, r.ID, "journal", "", erasure.Counts{ChatMessages: 2}, 1))
		want := erasure.Counts{JournalEntries: 4, Documents: 2, ChatSessions: 1, ChatMessages: 7}
		if got := getRequest(t, s, r.ID); got.Deleted != want || got.DeletedObjects != 4 {
			t.Errorf("Deleted: got %+v and %d objects, want %+v and 4", got.Deleted, got.DeletedObjects, want)
		}
	})
	t.Run("RecordSkippedObjects", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		// Keys are literal: an empty one, odd characters, the longest
		// S3 takes, and keys that differ only in case or a trailing
		// slash are all distinct.
		long := strings.Repeat("k", 1024)
		first := []string{"practices/pr-2/clients/c-1/uploads/d0.pdf", "", "practices/pr-1/clients/c-1/../c-2/x", "ü/\x00%2F <&>"}
		must(t, s.RecordSkippedObjects(ctx, r.ID, first))
		// Again (a retry), with one key twice and new ones among them.
		again := []string{"practices/pr-1/clients/c-2/d.pdf", "practices/pr-1/clients/c-2/d.pdf", "", long, "PRACTICES/pr-2/clients/c-1/uploads/d0.pdf", "practices/pr-1/clients/c-2/d.pdf/"}
		must(t, s.RecordSkippedObjects(ctx, r.ID, again))
		must(t, s.RecordSkippedObjects(ctx, r.ID, nil))
		must(t, s.RecordSkippedObjects(ctx, r.ID, first))
		want := []string{"practices/pr-2/clients/c-1/uploads/d0.pdf", "", "practices/pr-1/clients/c-1/../c-2/x", "ü/\x00%2F <&>",
			"practices/pr-1/clients/c-2/d.pdf", long, "PRACTICES/pr-2/clients/c-1/uploads/d0.pdf", "practices/pr-1/clients/c-2/d.pdf/"}
		got := getRequest(t, s, r.ID)
		if len(got.SkippedObjects) != len(want) {
			t.Errorf("SkippedObjects: got %d keys %q, want %d", len(got.SkippedObjects), got.SkippedObjects, len(want))
		}
		// The set holds each key once; the rest is as created.
		r.SkippedObjects = want
		checkRequest(t, "GetRequest", got, r)
		// The set outlives the purge's other writes.
		must(t, s.MarkScheduled(ctx, r))
		t0 := msTime(0)
		_, err := s.StartPurge(ctx, r.ID, t0, t0.Add(time.Minute), false)
		must(t, err)
		must(t, s.Checkpoint(ctx, r.ID, "chats", "", erasure.Counts{Documents: 2}, 2))
		_, err = s.CompletePurge(ctx, r.ID, t0)
		must(t, err)
		if got := getRequest(t, s, r.ID); !sameSet(got.SkippedObjects, want) {
			t.Errorf("SkippedObjects after completion: got %q, want %q", got.SkippedObjects, want)
		}
		wantErr(t, s.RecordSkippedObjects(ctx, "rq-missing", []string{"x"}), identity.ErrNotFound)
		if _, err := s.GetRequest(ctx, "rq-missing"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("GetRequest after recording on a missing request: got %v, want %v", err, identity.ErrNotFound)
		}
	})
	t.Run("OutstandingRequests", func(t *testing.T) {
		s, _ := newStores(t)
		t0 := msTime(0)
		want := map[string]erasure.Status{}
		// More than a page of a small fake; some in each pending status.
		for i := range 8 {
			r := newRequest(fmt.Sprintf("rq-%d", i), fmt.Sprintf("c-%d", i))
			r.PurgeAt = r.PurgeAt.Add(time.Duration(8-i) * time.Hour)
			must(t, s.CreateRequest(ctx, r))
			want[r.ID] = erasure.StatusAccepting
			if i%3 > 0 {
				must(t, s.MarkScheduled(ctx, r))
				want[r.ID] = erasure.StatusScheduled
			}
			if i%3 == 2 {
				_, err := s.StartPurge(ctx, r.ID, t0, t0.Add(time.Minute), false)
				must(t, err)
				want[r.ID] = erasure.StatusPurging
			}
		}
		// Completed and delivered: nothing left to do.
		done := newRequest("rq-done", "c-done")
		must(t, s.CreateRequest(ctx, done))
		must(t, s.MarkScheduled(ctx, done))
		_, err := s.StartPurge(ctx, done.ID, t0, t0.Add(time.Minute), false)
		must(t, err)
		_, err = s.CompletePurge(ctx, done.ID, t0)
		must(t, err)
		claimed, err := s.ClaimDeliveries(ctx, done.ID, t0, t0)
		must(t, err)
		for _, kind := range claimed.Owed {
			must(t, s.MarkDelivered(ctx, done.ID, kind, t0))
		}
		must(t, s.ReleaseDeliveries(ctx, done.ID))
		// Completed, owing an email: outstanding.
		owing := newRequest("rq-owing", "c-owing")
		must(t, s.CreateRequest(ctx, owing))
		must(t, s.MarkScheduled(ctx, owing))
		_, err = s.StartPurge(ctx, owing.ID, t0, t0.Add(time.Minute), false)
		must(t, err)
		_, err = s.CompletePurge(ctx, owing.ID, t0)
		must(t, err)
		want[owing.ID] = erasure.StatusCompleted

		got := map[string]erasure.Status{}
		err = s.OutstandingRequests(ctx, func(page []erasure.Request) error {
			if len(page) == 0 {
				t.Errorf("OutstandingRequests: got an empty page")
			}
			for _, r := range page {
				if _, dup := got[r.ID]; dup {
					t.Errorf("OutstandingRequests: got %s twice", r.ID)
				}
				got[r.ID] = r.Status
				if r.ClientID == "" || r.PracticeID == "" || r.PurgeAt.IsZero() || r.RequestedAt.IsZero() {
					t.Errorf("OutstandingRequests: got a partial request %+v", r)
				}
			}
			return nil
		})
		must(t, err)
		if !maps.Equal(got, want) {
			t.Errorf("OutstandingRequests: got %v, want %v", got, want)
		}
		stop := errors.New("stop")
		calls := 0
		err = s.OutstandingRequests(ctx, func([]erasure.Request) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("OutstandingRequests with fn failing: got %v after %d calls, want %v after 1", err, calls, stop)
		}
	})
	t.Run("Lifecycle", func(t *testing.T) { runLifecycle(t, newStores) })
	t.Run("UnresolvedObjects", func(t *testing.T) {
		s, _ := newStores(t)
		r := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, r))
		must(t, s.MarkScheduled(ctx, r))
		t0 := msTime(0)
		_, err := s.StartPurge(ctx, r.ID, t0, t0.Add(16*time.Minute), false)
		must(t, err)
		keys := []string{"practices/pr-1/clients/c-1/a", "sha256:00", "practices/pr-1/clients/c-1/a"}
		must(t, s.RecordUnresolvedObjects(ctx, r.ID, keys))
		must(t, s.RecordUnresolvedObjects(ctx, r.ID, nil))
		set, err := s.SetAside(ctx, r.ID, t0.Add(time.Minute))
		must(t, err)
		want := []string{"practices/pr-1/clients/c-1/a", "sha256:00"}
		if set.Status != erasure.StatusNeedsAttention || !sameSet(set.UnresolvedObjects, want) || len(set.UnresolvedObjects) != 2 ||
			!sameTimePtr(set.SetAsideAt, ptr(t0.Add(time.Minute))) || !set.Owes(erasure.DeliveryPractitionersNeedsAttention) {
			t.Errorf("SetAside: got %s %v at %v owing %v, want needs_attention %v owing the notice", set.Status, set.UnresolvedObjects, fmtTimePtr(set.SetAsideAt), set.Owed, want)
		}
		// Set aside releases the lease: the retry may start at once.
		retried, err := s.StartPurge(ctx, r.ID, t0.Add(2*time.Minute), t0.Add(18*time.Minute), true)
		must(t, err)
		if retried.Status != erasure.StatusPurging || len(retried.UnresolvedObjects) != 0 || retried.Invocations != 2 {
			t.Errorf("retry: got %s with %v after %d invocations, want purging with none after 2", retried.Status, retried.UnresolvedObjects, retried.Invocations)
		}
		wantErr(t, s.RecordUnresolvedObjects(ctx, "rq-missing", []string{"x"}), identity.ErrNotFound)
	})
	t.Run("ListRequests/NotAccepting", func(t *testing.T) {
		s, _ := newStores(t)
		accepting := newRequest("rq-1", "c-1")
		must(t, s.CreateRequest(ctx, accepting))
		scheduled := newRequest("rq-2", "c-2")
		must(t, s.CreateRequest(ctx, scheduled))
		must(t, s.MarkScheduled(ctx, scheduled))
		got, _, err := s.ListRequests(ctx, "pr-1", "", 10, "")
		must(t, err)
		if len(got) != 1 || got[0].ID != scheduled.ID {
			t.Errorf("ListRequests: got %d requests %v, want only %s (an accepting request is in no list)", len(got), got, scheduled.ID)
		}
	})
}

// RunNotificationStoreContract checks the stores newStores returns against
// the NotificationStore port: practitioners' notices.
// RunStoreContract runs it as its subtest "NotificationStore".
func RunNotificationStoreContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	t.Run("PutNotification/Once", func(t *testing.T) {
		s, _ := newStores(t)
		t0 := msTime(0)
		n := erasure.Notification{
			PractitionerID: "p-a", PracticeID: "pr-1", ID: "rq-1-requested", Kind: erasure.NoticeDeletionRequested,
			RequestID: "rq-1", ClientID: "c-1", ClientName: "Ada Lovelace",
			CreatedAt: t0, PurgeAt: t0.Add(30 * 24 * time.Hour),
			Counts: erasure.Counts{JournalEntries: 1, Documents: 2, ChatSessions: 3, ChatMessages: 4}, Message: "first",
		}
		must(t, s.PutNotification(ctx, n))
		// A retry writes the same notification again, made at
		// another time.
		again := n
		again.CreatedAt, again.Message = t0.Add(time.Minute), "again"
		must(t, s.PutNotification(ctx, again))
		got := notifications(t, s, "pr-1", "p-a")
		if len(got) != 1 {
			t.Fatalf("notifications: got %d, want 1: %+v", len(got), got)
		}
		if !sameNotification(got[0], n) {
			t.Errorf("got %+v, want %+v", got[0], n)
		}
		// The same id for another practitioner is another notification.
		other := n
		other.PractitionerID = "p-b"
		must(t, s.PutNotification(ctx, other))
		if got := notifications(t, s, "pr-1", "p-b"); len(got) != 1 || !sameNotification(got[0], other) {
			t.Errorf("another practitioner: got %+v, want [%+v]", got, other)
		}
		if got := notifications(t, s, "pr-1", "p-a"); len(got) != 1 {
			t.Errorf("first practitioner after another's: got %d, want 1", len(got))
		}
	})
}

// RunContentContract checks the stores newStores returns against
// the Content port: the client's file.
// RunStoreContract runs it as its subtest "Content".
func RunContentContract(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	client := func(id string) erasure.Author { return erasure.Author{Role: identity.RoleClient, ID: id} }
	practitioner := erasure.Author{Role: identity.RolePractitioner, ID: "p-a"}

	t.Run("JournalEntries", func(t *testing.T) {
		s, seed := newStores(t)
		mine, under := map[erasure.ItemKey]erasure.Author{}, map[erasure.ItemKey]erasure.Author{}
		for i := range 7 {
			k := seed.AddJournal("pr-1", "c-1", fmt.Sprintf("j%d", i), client("c-1"))
			mine[k], under[k] = client("c-1"), client("c-1")
		}
		k := seed.AddJournal("pr-1", "c-1", "jp", practitioner)
		under[k] = practitioner
		// Under the client but written by another client: not theirs.
		k = seed.AddJournal("pr-1", "c-1", "jx", client("c-2"))
		under[k] = client("c-2")
		seed.AddJournal("pr-1", "c-2", "j0", client("c-2"))
		seed.AddJournal("pr-2", "c-1", "j0", client("c-1"))
		seed.AddOther(k.PK, "NOTE#n1")

		got := map[erasure.ItemKey]erasure.Author{}
		err := s.JournalEntries(ctx, "pr-1", "c-1", func(page []erasure.JournalEntry) error {
			for _, e := range collectPage(t, page, got, func(e erasure.JournalEntry) erasure.ItemKey { return e.Key }) {
				got[e.Key] = e.Author
			}
			return nil
		})
		must(t, err)
		checkRead(t, "JournalEntries", got, mine, under, authorDiff)
		checkStops(t, "JournalEntries", func(fn func() error) error {
			return s.JournalEntries(ctx, "pr-1", "c-1", func([]erasure.JournalEntry) error { return fn() })
		})
	})
	t.Run("Documents", func(t *testing.T) {
		s, seed := newStores(t)
		type doc struct {
			Author  erasure.Author
			Objects []string
		}
		mine, under := map[erasure.ItemKey]doc{}, map[erasure.ItemKey]doc{}
		for i := range 7 {
			var objects []string
			for j := range i % 3 {
				objects = append(objects, fmt.Sprintf("practices/pr-1/clients/c-1/uploads/d%d-%d.pdf", i, j))
			}
			d := doc{client("c-1"), objects}
			k := seed.AddDocument("pr-1", "c-1", fmt.Sprintf("d%d", i), d.Author, d.Objects...)
			mine[k], under[k] = d, d
		}
		shared := doc{practitioner, []string{"practices/pr-1/clients/c-1/shared/plan.pdf"}}
		k := seed.AddDocument("pr-1", "c-1", "shared", shared.Author, shared.Objects...)
		under[k] = shared
		seed.AddDocument("pr-1", "c-2", "d0", client("c-2"), "practices/pr-1/clients/c-2/uploads/d0.pdf")
		seed.AddOther(k.PK, "INVOICE#i1")

		got := map[erasure.ItemKey]doc{}
		err := s.Documents(ctx, "pr-1", "c-1", func(page []erasure.Document) error {
			for _, d := range collectPage(t, page, got, func(d erasure.Document) erasure.ItemKey { return d.Key }) {
				got[d.Key] = doc{d.Author, d.ObjectKeys}
			}
			return nil
		})
		must(t, err)
		checkRead(t, "Documents", got, mine, under, func(g, w doc) string {
			if d := authorDiff(g.Author, w.Author); d != "" {
				return d
			}
			if !slices.Equal(g.Objects, w.Objects) {
				return fmt.Sprintf("ObjectKeys: got %q, want %q", g.Objects, w.Objects)
			}
			return ""
		})
		checkStops(t, "Documents", func(fn func() error) error {
			return s.Documents(ctx, "pr-1", "c-1", func([]erasure.Document) error { return fn() })
		})
	})
	t.Run("ChatRefs", func(t *testing.T) {
		s, seed := newStores(t)
		want := map[string]bool{}
		for i := range 7 {
			id := fmt.Sprintf("s-%d", i)
			if i%2 == 0 {
				seed.AddChat("pr-1", id, "c-1")
			} else {
				seed.AddChat("pr-1", id, "c-2", "c-1")
			}
			want[id] = true
		}
		seed.AddChat("pr-1", "s-other", "c-2")
		seed.AddChat("pr-2", "s-elsewhere", "c-1")

		got := map[string]erasure.ItemKey{}
		err := s.ChatRefs(ctx, "pr-1", "c-1", "", func(page []erasure.ChatRef) error {
			if len(page) == 0 {
				t.Errorf("ChatRefs: got an empty page")
			}
			for _, r := range page {
				if _, dup := got[r.SessionID]; dup {
					t.Errorf("ChatRefs: got %s twice", r.SessionID)
				}
				if r.Key == (erasure.ItemKey{}) {
					t.Errorf("ChatRefs: %s has no key", r.SessionID)
				}
				got[r.SessionID] = r.Key
			}
			return nil
		})
		must(t, err)
		if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
			t.Errorf("ChatRefs sessions: got %v, want %v", g, w)
		}
		checkStops(t, "ChatRefs", func(fn func() error) error {
			return s.ChatRefs(ctx, "pr-1", "c-1", "", func([]erasure.ChatRef) error { return fn() })
		})
		// The keys are the references themselves: deleting them
		// unlinks the client and leaves the sessions.
		must(t, s.DeleteItems(ctx, slices.Collect(maps.Values(got))))
		err = s.ChatRefs(ctx, "pr-1", "c-1", "", func(page []erasure.ChatRef) error {
			t.Errorf("ChatRefs after deleting the references: got %+v, want none", page)
			return nil
		})
		must(t, err)
		if got, err := s.ChatSessions(ctx, "pr-1", []string{"s-1"}); err != nil || len(got) != 1 {
			t.Errorf("ChatSessions after deleting a reference: got %v, %v, want the session", got, err)
		}
	})
	t.Run("ChatSessions", func(t *testing.T) {
		s, seed := newStores(t)
		direct := seed.AddChat("pr-1", "s-direct", "c-1")
		group := seed.AddChat("pr-1", "s-group", "c-1", "c-2")
		seed.AddChat("pr-2", "s-elsewhere", "c-1")
		got, err := s.ChatSessions(ctx, "pr-1", []string{"s-group", "s-missing", "s-direct", "s-elsewhere", "s-direct"})
		must(t, err)
		want := map[string]struct {
			key     erasure.ItemKey
			clients []string
		}{"s-direct": {direct, []string{"c-1"}}, "s-group": {group, []string{"c-1", "c-2"}}}
		if len(got) != len(want) {
			t.Errorf("ChatSessions: got %d sessions %v, want %d (a missing id, and another practice's session, are left out)", len(got), slices.Sorted(maps.Keys(got)), len(want))
		}
		for id, w := range want {
			g, ok := got[id]
			if !ok || g.ID != id || g.Key != w.key || !sameSet(g.ClientIDs, w.clients) {
				t.Errorf("ChatSessions[%s]: got %+v (present %v), want Key %+v, ClientIDs %v", id, g, ok, w.key, w.clients)
			}
		}
		none, err := s.ChatSessions(ctx, "pr-1", nil)
		if err != nil || len(none) != 0 {
			t.Errorf("ChatSessions of no ids: got %v, %v, want none", none, err)
		}
	})
	t.Run("ChatSessionsMany", func(t *testing.T) {
		// More than one BatchGetItem's 100 keys.
		s, seed := newStores(t)
		var ids []string
		for i := range 130 {
			id := fmt.Sprintf("s-%03d", i)
			ids = append(ids, id)
			if i%13 != 0 {
				seed.AddChat("pr-1", id, "c-1")
			}
		}
		got, err := s.ChatSessions(ctx, "pr-1", ids)
		must(t, err)
		for i, id := range ids {
			if _, ok := got[id]; ok != (i%13 != 0) {
				t.Errorf("ChatSessions[%s]: present %v, want %v", id, ok, i%13 != 0)
			}
		}
		if len(got) != 120 {
			t.Errorf("ChatSessions of 130 ids, 10 missing: got %d, want 120", len(got))
		}
	})
	t.Run("ChatMessages", func(t *testing.T) {
		// A direct session goes whole, so the reader returns every
		// message of the session, whoever wrote it.
		s, seed := newStores(t)
		seed.AddChat("pr-1", "s-group", "c-1", "c-2")
		seed.AddChat("pr-1", "s-other", "c-2")
		want := map[erasure.ItemKey]erasure.Author{}
		authors := []erasure.Author{client("c-1"), practitioner, client("c-2")}
		for i := range 8 {
			a := authors[i%len(authors)]
			want[seed.AddMessage("pr-1", "s-group", fmt.Sprintf("m%d", i), a)] = a
		}
		seed.AddMessage("pr-1", "s-other", "m0", client("c-2"))

		got := map[erasure.ItemKey]erasure.Author{}
		err := s.ChatMessages(ctx, "pr-1", "s-group", func(page []erasure.ChatMessage) error {
			for _, m := range collectPage(t, page, got, func(m erasure.ChatMessage) erasure.ItemKey { return m.Key }) {
				got[m.Key] = m.Author
			}
			return nil
		})
		must(t, err)
		checkRead(t, "ChatMessages", got, want, want, authorDiff)
		checkStops(t, "ChatMessages", func(fn func() error) error {
			return s.ChatMessages(ctx, "pr-1", "s-group", func([]erasure.ChatMessage) error { return fn() })
		})
	})
	t.Run("DeleteItems", func(t *testing.T) {
		s, seed := newStores(t)
		var journal []erasure.ItemKey
		for i := range 30 {
			journal = append(journal, seed.AddJournal("pr-1", "c-1", fmt.Sprintf("j%02d", i), client("c-1")))
		}
		kept := seed.AddJournal("pr-1", "c-1", "kept", client("c-1"))
		doc := seed.AddDocument("pr-1", "c-1", "d0", client("c-1"), "practices/pr-1/clients/c-1/uploads/d0.pdf")
		session := seed.AddChat("pr-1", "s-1", "c-1")
		msg := seed.AddMessage("pr-1", "s-1", "m0", client("c-1"))

		// More than one batch of a real store, with missing keys among them.
		keys := slices.Clone(journal)
		keys = append(keys, erasure.ItemKey{PK: kept.PK, SK: "JOURNAL#missing"}, erasure.ItemKey{PK: "missing", SK: "missing"})
		keys = append(keys, doc, msg)
		must(t, s.DeleteItems(ctx, keys))

		var left []erasure.ItemKey
		must(t, s.JournalEntries(ctx, "pr-1", "c-1", func(page []erasure.JournalEntry) error {
			for _, e := range page {
				left = append(left, e.Key)
			}
			return nil
		}))
		if !slices.Equal(left, []erasure.ItemKey{kept}) {
			t.Errorf("JournalEntries after DeleteItems: got %+v, want [%+v]", left, kept)
		}
		must(t, s.Documents(ctx, "pr-1", "c-1", func(page []erasure.Document) error {
			t.Errorf("Documents after DeleteItems: got %+v, want none", page)
			return nil
		}))
		must(t, s.ChatMessages(ctx, "pr-1", "s-1", func(page []erasure.ChatMessage) error {
			t.Errorf("ChatMessages after DeleteItems: got %+v, want none", page)
			return nil
		}))
		if got, err := s.ChatSessions(ctx, "pr-1", []string{"s-1"}); err != nil || got["s-1"].Key != session {
			t.Errorf("ChatSessions after deleting its message: got %+v, %v, want the session", got, err)
		}

		// Again: every key is missing now, which is no error.
		must(t, s.DeleteItems(ctx, keys))
		must(t, s.DeleteItems(ctx, nil))
		must(t, s.DeleteItems(ctx, []erasure.ItemKey{session}))
		if got, err := s.ChatSessions(ctx, "pr-1", []string{"s-1"}); err != nil || len(got) != 0 {
			t.Errorf("ChatSessions after deleting the session: got %+v, %v, want none", got, err)
		}
	})
}

// ---- fixtures ----

// zone is not UTC, so that a store's normalisation shows.
var zone = time.FixedZone("UTC+5", 5*60*60)

// msTime is a fixed instant plus d, in whole milliseconds.
func msTime(d time.Duration) time.Time {
	return time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC).Add(d)
}

// newRequest is a request as the Service records it.
func newRequest(id, clientID string) erasure.Request {
	at := time.Date(2030, 3, 4, 15, 4, 5, 123456789, zone)
	return erasure.Request{
		ID: id, PracticeID: "pr-1", ClientID: clientID, RequestedBy: "sub-" + clientID,
		Status: erasure.StatusAccepting, RequestedAt: at, PurgeAt: at.Add(30 * 24 * time.Hour).Truncate(time.Second),
		WillDelete:   erasure.Counts{JournalEntries: 1, Documents: 2, ChatSessions: 3, ChatMessages: 4},
		ScheduleName: "rtbf-purge-" + id,
	}
}

// ---- checks ----

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("got error %v, want %v", err, target)
	}
}

func getRequest(t *testing.T, s Stores, id string) erasure.Request {
	t.Helper()
	r, err := s.GetRequest(context.Background(), id)
	must(t, err)
	return r
}

func wantStatus(t *testing.T, s Stores, id string, want erasure.Status) {
	t.Helper()
	if got := getRequest(t, s, id); got.Status != want {
		t.Errorf("status: got %s, want %s", got.Status, want)
	}
}

func pendingIDs(t *testing.T, s Stores) []string {
	t.Helper()
	var ids []string
	must(t, s.OutstandingRequests(context.Background(), func(page []erasure.Request) error {
		for _, r := range page {
			ids = append(ids, r.ID)
		}
		return nil
	}))
	return ids
}

// checkRequest compares every field of a request as created.
func checkRequest(t *testing.T, op string, got, want erasure.Request) {
	t.Helper()
	var diffs []string
	add := func(field string, g, w any) { diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.PracticeID != want.PracticeID {
		add("PracticeID", got.PracticeID, want.PracticeID)
	}
	if got.ClientID != want.ClientID {
		add("ClientID", got.ClientID, want.ClientID)
	}
	if got.RequestedBy != want.RequestedBy {
		add("RequestedBy", got.RequestedBy, want.RequestedBy)
	}
	if got.Status != want.Status {
		add("Status", got.Status, want.Status)
	}
	if !got.RequestedAt.Equal(want.RequestedAt) {
		add("RequestedAt", got.RequestedAt, want.RequestedAt)
	}
	if !got.PurgeAt.Equal(want.PurgeAt) {
		add("PurgeAt", got.PurgeAt, want.PurgeAt)
	}
	if got.WillDelete != want.WillDelete {
		add("WillDelete", got.WillDelete, want.WillDelete)
	}
	if got.ScheduleName != want.ScheduleName {
		add("ScheduleName", got.ScheduleName, want.ScheduleName)
	}
	for _, p := range []struct {
		field     string
		got, want *time.Time
	}{
		{"PurgeStartedAt", got.PurgeStartedAt, want.PurgeStartedAt},
		{"CompletedAt", got.CompletedAt, want.CompletedAt},
		{"CancelledAt", got.CancelledAt, want.CancelledAt},
		{"SetAsideAt", got.SetAsideAt, want.SetAsideAt},
	} {
		if !sameTimePtr(p.got, p.want) {
			add(p.field, fmtTimePtr(p.got), fmtTimePtr(p.want))
		}
	}
	if got.Deleted != want.Deleted {
		add("Deleted", got.Deleted, want.Deleted)
	}
	if got.Invocations != want.Invocations {
		add("Invocations", got.Invocations, want.Invocations)
	}
	if !sameSet(got.SkippedObjects, want.SkippedObjects) {
		add("SkippedObjects", got.SkippedObjects, want.SkippedObjects)
	}
	if !sameSet(got.UnresolvedObjects, want.UnresolvedObjects) {
		add("UnresolvedObjects", got.UnresolvedObjects, want.UnresolvedObjects)
	}
	if !sameSet(got.Owed, want.Owed) {
		add("Owed", got.Owed, want.Owed)
	}
	if len(got.Delivered) != len(want.Delivered) {
		add("Delivered", got.Delivered, want.Delivered)
	}
	for k, w := range want.Delivered {
		if g, ok := got.Delivered[k]; !ok || !g.Equal(w) {
			add("Delivered", got.Delivered, want.Delivered)
		}
	}
	for _, d := range diffs {
		t.Errorf("%s %s", op, d)
	}
}

func checkPurging(t *testing.T, op string, r erasure.Request, invocations int, startedAt time.Time) {
	t.Helper()
	if r.Status != erasure.StatusPurging {
		t.Errorf("%s: Status: got %s, want %s", op, r.Status, erasure.StatusPurging)
	}
	if r.Invocations != invocations {
		t.Errorf("%s: Invocations: got %d, want %d", op, r.Invocations, invocations)
	}
	if !sameTimePtr(r.PurgeStartedAt, &startedAt) {
		t.Errorf("%s: PurgeStartedAt: got %v, want %v", op, fmtTimePtr(r.PurgeStartedAt), startedAt)
	}
}

func checkCompleted(t *testing.T, op string, r erasure.Request, at, startedAt time.Time) {
	t.Helper()
	if r.Status != erasure.StatusCompleted {
		t.Errorf("%s: Status: got %s, want %s", op, r.Status, erasure.StatusCompleted)
	}
	if !sameTimePtr(r.CompletedAt, &at) {
		t.Errorf("%s: CompletedAt: got %v, want %v", op, fmtTimePtr(r.CompletedAt), at)
	}
	if !sameTimePtr(r.PurgeStartedAt, &startedAt) {
		t.Errorf("%s: PurgeStartedAt: got %v, want %v", op, fmtTimePtr(r.PurgeStartedAt), startedAt)
	}
	if r.Invocations != 1 {
		t.Errorf("%s: Invocations: got %d, want 1", op, r.Invocations)
	}
}

func sameTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func fmtTimePtr(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.String()
}

func sameSetting(a, b erasure.Setting) bool {
	return a.PracticeID == b.PracticeID && a.Enabled == b.Enabled && a.UpdatedBy == b.UpdatedBy && sameTimePtr(a.UpdatedAt, b.UpdatedAt)
}

func sameNotification(a, b erasure.Notification) bool {
	return a.PractitionerID == b.PractitionerID && a.PracticeID == b.PracticeID && a.ID == b.ID &&
		a.Kind == b.Kind && a.RequestID == b.RequestID && a.ClientID == b.ClientID &&
		a.ClientName == b.ClientName && a.CreatedAt.Equal(b.CreatedAt) && a.PurgeAt.Equal(b.PurgeAt) &&
		a.Counts == b.Counts && a.Message == b.Message
}

// notifications reads what PutNotification wrote for one practitioner.
func notifications(t *testing.T, s Stores, practiceID, practitionerID string) []erasure.Notification {
	t.Helper()
	switch r := s.(type) {
	case NotificationReader:
		ns, err := r.Notifications(context.Background(), practiceID, practitionerID)
		must(t, err)
		return ns
	case interface{ Notifications() []erasure.Notification }:
		var ns []erasure.Notification
		for _, n := range r.Notifications() {
			if n.PracticeID == practiceID && n.PractitionerID == practitionerID {
				ns = append(ns, n)
			}
		}
		return ns
	}
	t.Fatalf("%T has no notification reader: implement porttest.NotificationReader", s)
	return nil
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// collectPage checks one page of a reader: not empty, and no item seen on
// an earlier page.
func collectPage[T any, V any](t *testing.T, page []T, seen map[erasure.ItemKey]V, key func(T) erasure.ItemKey) []T {
	t.Helper()
	if len(page) == 0 {
		t.Errorf("got an empty page")
	}
	for _, it := range page {
		if _, dup := seen[key(it)]; dup {
			t.Errorf("got %+v twice", key(it))
		}
	}
	return page
}

func authorDiff(got, want erasure.Author) string {
	if got != want {
		return fmt.Sprintf("Author: got %+v, want %+v", got, want)
	}
	return ""
}

// checkRead checks what a content reader returned: every item in mine,
// with its fields, and nothing that is not among the items seeded under
// the partition read (under), whose fields must be right too.
func checkRead[V any](t *testing.T, op string, got, mine, under map[erasure.ItemKey]V, diff func(got, want V) string) {
	t.Helper()
	for k, w := range mine {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing %+v", op, k)
			continue
		}
		if d := diff(g, w); d != "" {
			t.Errorf("%s: %+v: %s", op, k, d)
		}
	}
	for k, g := range got {
		w, ok := under[k]
		if !ok {
			t.Errorf("%s: got %+v, which is not the client's", op, k)
			continue
		}
		if _, isMine := mine[k]; !isMine {
			if d := diff(g, w); d != "" {
				t.Errorf("%s: %+v: %s", op, k, d)
			}
		}
	}
}

// checkStops checks that a reader stops at the first error its fn returns,
// and returns it.
func checkStops(t *testing.T, op string, read func(fn func() error) error) {
	t.Helper()
	stop := errors.New("stop")
	calls := 0
	err := read(func() error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("%s with fn failing: got %v after %d calls, want %v after 1", op, err, calls, stop)
	}
}

func ptr[T any](v T) *T { return &v }

// runLifecycle holds the store to erasure.Lifecycle: it brings a request to
// every status the port can reach (purging both with its lease live and
// released), makes every event happen to it through the port, and checks
// that the store refuses exactly what the table refuses, moves the request
// to the table's status, and records what the table says it owes.
func runLifecycle(t *testing.T, newStores func(t *testing.T) (Stores, Seeder)) {
	ctx := context.Background()
	t0 := msTime(0)
	const lease = 16 * time.Minute
	type start struct {
		status    erasure.Status
		leaseLive bool
	}
	starts := []start{
		{erasure.StatusAccepting, false}, {erasure.StatusScheduled, false},
		{erasure.StatusPurging, true}, {erasure.StatusPurging, false},
		{erasure.StatusNeedsAttention, false}, {erasure.StatusCompleted, false}, {erasure.StatusCancelled, false},
	}
	// reach brings a new request to st through the port.
	reach := func(t *testing.T, s Stores, r erasure.Request, st start) {
		t.Helper()
		must(t, s.CreateRequest(ctx, r))
		if st.status == erasure.StatusAccepting {
			return
		}
		must(t, s.MarkScheduled(ctx, r))
		switch st.status {
		case erasure.StatusScheduled:
			return
		case erasure.StatusCancelled:
			must(t, s.CancelRequest(ctx, r, t0))
			return
		}
		_, err := s.StartPurge(ctx, r.ID, t0, t0.Add(lease), false)
		must(t, err)
		switch st.status {
		case erasure.StatusPurging:
			if !st.leaseLive {
				must(t, s.ReleasePurge(ctx, r.ID, t0.Add(lease)))
			}
		case erasure.StatusNeedsAttention:
			_, err = s.SetAside(ctx, r.ID, t0)
			must(t, err)
		case erasure.StatusCompleted:
			_, err = s.CompletePurge(ctx, r.ID, t0)
			must(t, err)
		}
	}
	now := t0.Add(time.Minute) // within the lease, when it is live
	// happen makes ev happen through the port; it reports whether the store
	// took it.
	happen := func(t *testing.T, s Stores, r erasure.Request, ev erasure.Event) bool {
		t.Helper()
		var err error
		switch ev {
		case erasure.EventScheduled:
			// A no-op, not an error, when refused: the status tells.
			before := getRequest(t, s, r.ID).Status
			must(t, s.MarkScheduled(ctx, r))
			return before == erasure.StatusAccepting
		case erasure.EventRollBack:
			err = s.DeleteAcceptingRequest(ctx, r)
		case erasure.EventCancel:
			err = s.CancelRequest(ctx, r, now)
		case erasure.EventStartPurge:
			_, err = s.StartPurge(ctx, r.ID, now, now.Add(lease), false)
		case erasure.EventRetry:
			_, err = s.StartPurge(ctx, r.ID, now, now.Add(lease), true)
		case erasure.EventComplete:
			_, err = s.CompletePurge(ctx, r.ID, now)
		case erasure.EventSetAside:
			_, err = s.SetAside(ctx, r.ID, now)
		default:
			t.Fatalf("no port method makes %s happen", ev)
		}
		if err != nil && !errors.Is(err, identity.ErrConditionFailed) {
			t.Fatalf("%s: %v", ev, err)
		}
		return err == nil
	}
	type row struct {
		from erasure.Status
		ev   erasure.Event
	}
	covered := map[row]bool{}
	for _, st := range starts {
		for _, ev := range erasure.Events {
			name := fmt.Sprintf("%s/lease=%v/%s", st.status, st.leaseLive, ev)
			t.Run(name, func(t *testing.T) {
				s, _ := newStores(t)
				r := newRequest("rq-1", "c-1")
				reach(t, s, r, st)
				before := getRequest(t, s, r.ID)
				if before.Status != st.status {
					t.Fatalf("reached %s, want %s", before.Status, st.status)
				}
				want, allowed := erasure.Outcome(st.status, ev, st.leaseLive)
				took := happen(t, s, r, ev)
				if took != allowed {
					t.Fatalf("store took it: %v; the lifecycle allows it: %v", took, allowed)
				}
				after, err := s.GetRequest(ctx, r.ID)
				switch {
				case !allowed:
					must(t, err)
					if after.Status != before.Status || !sameSet(after.Owed, before.Owed) {
						t.Errorf("refused, yet the request changed: %s owing %v, was %s owing %v", after.Status, after.Owed, before.Status, before.Owed)
					}
				case want.To == "":
					wantErr(t, err, identity.ErrNotFound)
				default:
					must(t, err)
					if after.Status != want.To {
						t.Errorf("status: got %s, want %s", after.Status, want.To)
					}
					for _, k := range want.Owes {
						if !after.Owes(k) {
							t.Errorf("owes %v, want %s among them", after.Owed, k)
						}
					}
				}
			})
			if tr, ok := erasure.Outcome(st.status, ev, st.leaseLive); ok {
				covered[row{tr.From, tr.Event}] = true
			}
		}
	}
	for _, tr := range erasure.Lifecycle {
		if !covered[row{tr.From, tr.Event}] {
			t.Errorf("the lifecycle's row %s -%s-> %s is reached by no case", tr.From, tr.Event, tr.To)
		}
	}
}
