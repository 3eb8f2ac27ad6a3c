// Package porttest holds in-memory fakes of the erasure ports, for fast
// tests of the domain, and contract suites that run the same checks against
// a fake and against a real adapter, so the fakes stay honest.
package porttest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Memory implements every storage port of erasure in memory: settings,
// directory, requests, notifications and content. It is safe for
// concurrent use and records the deletes it was asked to make.
type Memory struct {
	mu            sync.Mutex
	settings      map[string]erasure.Setting
	practices     map[string]erasure.Practice
	practitioners map[string]erasure.Practitioner // practiceID/id
	clients       map[string]erasure.Client       // practiceID/id
	requests      map[string]*memRequest
	active        map[string]string    // practiceID/clientID -> request id
	cancelled     map[string]string    // practiceID/clientID -> last cancelled request id
	closed        map[string]time.Time // practiceID/clientID
	notifications map[string]erasure.Notification
	// Items is the client content, by key; values are what a page returns.
	items   map[erasure.ItemKey]any
	Deleted []erasure.ItemKey
	// PageSize bounds the pages the content readers return.
	PageSize int
}

type memRequest struct {
	erasure.Request
	leaseUntil time.Time
	claimedAt  time.Time // the delivery claim
	// listed: in the practice's list (scheduled once); outstanding: in
	// the sweep's index (until finished and owing nothing).
	listed, outstanding bool
}

var (
	_ erasure.SettingStore      = (*Memory)(nil)
	_ erasure.Roster            = (*Memory)(nil)
	_ erasure.Directory         = (*Memory)(nil)
	_ erasure.RequestStore      = (*Memory)(nil)
	_ erasure.NotificationStore = (*Memory)(nil)
	_ erasure.Content           = (*Memory)(nil)
	_ erasure.Inbox             = (*Memory)(nil)
)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{
		settings:      map[string]erasure.Setting{},
		practices:     map[string]erasure.Practice{},
		practitioners: map[string]erasure.Practitioner{},
		clients:       map[string]erasure.Client{},
		requests:      map[string]*memRequest{},
		active:        map[string]string{},
		cancelled:     map[string]string{},
		closed:        map[string]time.Time{},
		notifications: map[string]erasure.Notification{},
		items:         map[erasure.ItemKey]any{},
		PageSize:      3,
	}
}

func k2(a, b string) string { return a + "/" + b }

// AddPractice, AddPractitioner and AddClient seed the directory.
func (m *Memory) AddPractice(p erasure.Practice) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.practices[p.ID] = p
}

func (m *Memory) AddPractitioner(practiceID string, p erasure.Practitioner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.practitioners[k2(practiceID, p.ID)] = p
}

// AddTeam seeds a practice's directory: its record, naming ownerID its
// owner, and a practitioner item for the owner and each member.
func (m *Memory) AddTeam(practiceID, ownerID string, memberIDs ...string) {
	m.AddPractice(erasure.Practice{ID: practiceID, Name: "Practice " + practiceID, OwnerID: ownerID})
	for _, id := range append([]string{ownerID}, memberIDs...) {
		m.AddPractitioner(practiceID, erasure.Practitioner{ID: id})
	}
}

func (m *Memory) AddClient(c erasure.Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients[k2(c.PracticeID, c.ID)] = c
}

// Content keys, shaped like the real layout so that tests read alike.
func clientPK(practiceID, clientID string) string {
	return "PRACTICE#" + practiceID + "#CLIENT#" + clientID
}
func chatPK(practiceID, sessionID string) string {
	return "PRACTICE#" + practiceID + "#CHAT#" + sessionID
}

// AddJournal, AddDocument, AddChat and AddMessage seed content and return
// the item's key.
func (m *Memory) AddJournal(practiceID, clientID, id string, author erasure.Author) erasure.ItemKey {
	k := erasure.ItemKey{PK: clientPK(practiceID, clientID), SK: "JOURNAL#" + id}
	m.put(k, erasure.JournalEntry{Key: k, Author: author})
	return k
}

func (m *Memory) AddDocument(practiceID, clientID, id string, author erasure.Author, objects ...string) erasure.ItemKey {
	k := erasure.ItemKey{PK: clientPK(practiceID, clientID), SK: "DOCUMENT#" + id}
	m.put(k, erasure.Document{Key: k, Author: author, ObjectKeys: objects})
	return k
}

// AddChat adds a session and a reference to it for each client.
func (m *Memory) AddChat(practiceID, sessionID string, clientIDs ...string) erasure.ItemKey {
	k := erasure.ItemKey{PK: chatPK(practiceID, sessionID), SK: "SESSION"}
	m.put(k, erasure.ChatSession{Key: k, ID: sessionID, ClientIDs: clientIDs})
	for _, c := range clientIDs {
		rk := erasure.ItemKey{PK: clientPK(practiceID, c), SK: "CHAT#" + sessionID}
		m.put(rk, erasure.ChatRef{Key: rk, SessionID: sessionID})
	}
	return k
}

func (m *Memory) AddMessage(practiceID, sessionID, id string, author erasure.Author) erasure.ItemKey {
	k := erasure.ItemKey{PK: chatPK(practiceID, sessionID), SK: "MESSAGE#" + id}
	m.put(k, erasure.ChatMessage{Key: k, Author: author})
	return k
}

// AddOther adds an item the purge must never touch (a note, an invoice).
func (m *Memory) AddOther(pk, sk string) erasure.ItemKey {
	k := erasure.ItemKey{PK: pk, SK: sk}
	m.put(k, k)
	return k
}

func (m *Memory) put(k erasure.ItemKey, v any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[k] = v
}

// Keys returns every content item key, sorted.
func (m *Memory) Keys() []erasure.ItemKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []erasure.ItemKey
	for k := range m.items {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b erasure.ItemKey) int { return strings.Compare(a.PK+"\x00"+a.SK, b.PK+"\x00"+b.SK) })
	return ks
}

// Notifications returns every notification written, by practitioner.
func (m *Memory) Notifications() []erasure.Notification {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ns []erasure.Notification
	for _, n := range m.notifications {
		ns = append(ns, n)
	}
	slices.SortFunc(ns, func(a, b erasure.Notification) int {
		return strings.Compare(a.PractitionerID+a.ID, b.PractitionerID+b.ID)
	})
	return ns
}

// Requests returns every request recorded.
func (m *Memory) Requests() []erasure.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rs []erasure.Request
	for _, r := range m.requests {
		rs = append(rs, r.Request)
	}
	return rs
}

func (m *Memory) GetSetting(_ context.Context, practiceID string) (erasure.Setting, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.settings[practiceID]; ok {
		return s, nil
	}
	return erasure.Setting{PracticeID: practiceID}, nil
}

func (m *Memory) GetSettingAs(ctx context.Context, practiceID, sub string) (erasure.Setting, erasure.Member, error) {
	mem, err := m.Member(ctx, practiceID, sub)
	if err != nil {
		return erasure.Setting{}, erasure.Member{}, err
	}
	st, err := m.GetSetting(ctx, practiceID)
	return st, mem, err
}

func (m *Memory) Member(_ context.Context, practiceID, sub string) (erasure.Member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.practitioners[k2(practiceID, sub)]; !ok {
		return erasure.Member{}, identity.ErrNotFound
	}
	p, ok := m.practices[practiceID]
	return erasure.Member{Practitioner: erasure.Practitioner{ID: sub}, Owner: ok && p.OwnerID != "" && p.OwnerID == sub}, nil
}

// RemovePractitioner deletes a practitioner's item, as the platform does
// when someone leaves the practice.
func (m *Memory) RemovePractitioner(practiceID, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.practitioners, k2(practiceID, id))
}

func (m *Memory) PutSetting(_ context.Context, s erasure.Setting) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[s.PracticeID] = s
	return nil
}

func (m *Memory) GetPractice(_ context.Context, id string) (erasure.Practice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.practices[id]
	if !ok {
		return erasure.Practice{}, identity.ErrNotFound
	}
	return p, nil
}

func (m *Memory) GetPractitioners(_ context.Context, practiceID string, ids []string) ([]erasure.Practitioner, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []erasure.Practitioner
	for _, id := range ids {
		if p, ok := m.practitioners[k2(practiceID, id)]; ok {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func (m *Memory) GetClient(_ context.Context, practiceID, clientID string) (erasure.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[k2(practiceID, clientID)]
	if !ok {
		return erasure.Client{}, identity.ErrNotFound
	}
	return c, nil
}

func (m *Memory) PortalClosed(_ context.Context, practiceID, clientID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.closed[k2(practiceID, clientID)]
	return ok, nil
}

func (m *Memory) ActiveRequest(_ context.Context, practiceID, clientID string) (erasure.Request, error) {
	return m.pointed(m.active, practiceID, clientID)
}

func (m *Memory) LastCancelled(_ context.Context, practiceID, clientID string) (erasure.Request, error) {
	return m.pointed(m.cancelled, practiceID, clientID)
}

func (m *Memory) pointed(pointers map[string]string, practiceID, clientID string) (erasure.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := pointers[k2(practiceID, clientID)]
	if !ok {
		return erasure.Request{}, identity.ErrNotFound
	}
	r, ok := m.requests[id]
	if !ok {
		return erasure.Request{}, identity.ErrNotFound
	}
	return r.get(), nil
}

// get is the request as a read returns it: its own copy of the sets.
func (r *memRequest) get() erasure.Request {
	out := r.Request
	out.Owed = slices.Clone(r.Owed)
	out.SkippedObjects = slices.Clone(r.SkippedObjects)
	out.UnresolvedObjects = slices.Clone(r.UnresolvedObjects)
	out.Delivered = maps.Clone(r.Delivered)
	return out
}

func (m *Memory) CreateRequest(_ context.Context, r erasure.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ck := k2(r.PracticeID, r.ClientID)
	if _, ok := m.active[ck]; ok {
		return identity.ErrConditionFailed
	}
	if _, ok := m.closed[ck]; ok {
		return identity.ErrConditionFailed
	}
	if _, ok := m.requests[r.ID]; ok {
		return identity.ErrConditionFailed
	}
	// The real store hands these back in UTC, whatever zone they came in.
	r.RequestedAt, r.PurgeAt = r.RequestedAt.UTC(), r.PurgeAt.UTC()
	r.Status, r.Delivered = erasure.StatusAccepting, map[string]time.Time{}
	m.requests[r.ID] = &memRequest{Request: r, outstanding: true}
	m.active[ck] = r.ID
	return nil
}

func (m *Memory) GetRequest(_ context.Context, id string) (erasure.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return erasure.Request{}, identity.ErrNotFound
	}
	return r.get(), nil
}

// transit makes ev happen to r when erasure.Lifecycle allows it at now,
// as the DynamoDB adapter's conditions do: the new status, and what it
// owes added to Owed.
func (r *memRequest) transit(ev erasure.Event, now time.Time) error {
	t, ok := erasure.Outcome(r.Status, ev, now.Before(r.leaseUntil))
	if !ok {
		return identity.ErrConditionFailed
	}
	r.Status = t.To
	r.Owed = union(r.Owed, t.Owes)
	return nil
}

func union(set, add []string) []string {
	out := slices.Clone(set)
	for _, k := range add {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func (m *Memory) DeleteAcceptingRequest(_ context.Context, r erasure.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.requests[r.ID]
	if !ok || m.active[k2(r.PracticeID, r.ClientID)] != r.ID {
		return identity.ErrConditionFailed
	}
	if err := cur.transit(erasure.EventRollBack, time.Now()); err != nil {
		return err
	}
	delete(m.requests, r.ID)
	delete(m.active, k2(r.PracticeID, r.ClientID))
	return nil
}

func (m *Memory) MarkScheduled(_ context.Context, r erasure.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.requests[r.ID]
	if !ok {
		return identity.ErrNotFound
	}
	if cur.transit(erasure.EventScheduled, time.Now()) == nil {
		cur.listed = true
	}
	return nil
}

func (m *Memory) ClaimDeliveries(_ context.Context, id string, now, staleBefore time.Time) (erasure.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok || len(r.Owed) == 0 || (!r.claimedAt.IsZero() && !r.claimedAt.Before(staleBefore)) {
		return erasure.Request{}, identity.ErrConditionFailed
	}
	r.claimedAt = now
	return r.get(), nil
}

func (m *Memory) MarkDelivered(_ context.Context, id, kind string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return identity.ErrNotFound
	}
	r.Owed = slices.DeleteFunc(slices.Clone(r.Owed), func(k string) bool { return k == kind })
	if len(r.Owed) == 0 {
		r.Owed = nil
	}
	r.Delivered = maps.Clone(r.Delivered)
	if r.Delivered == nil {
		r.Delivered = map[string]time.Time{}
	}
	r.Delivered[kind] = at
	return nil
}

func (m *Memory) ReleaseDeliveries(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return identity.ErrConditionFailed
	}
	r.claimedAt = time.Time{}
	if len(r.Owed) == 0 && r.Status.Finished() {
		r.outstanding = false
	}
	return nil
}

func (m *Memory) CancelRequest(_ context.Context, r erasure.Request, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.requests[r.ID]
	if !ok {
		return identity.ErrConditionFailed
	}
	if err := cur.transit(erasure.EventCancel, at); err != nil {
		return err
	}
	cur.CancelledAt = &at
	ck := k2(cur.PracticeID, cur.ClientID)
	if m.active[ck] == r.ID {
		delete(m.active, ck)
	}
	m.cancelled[ck] = r.ID
	return nil
}

func (m *Memory) StartPurge(_ context.Context, id string, now, leaseUntil time.Time, retry bool) (erasure.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return erasure.Request{}, identity.ErrConditionFailed
	}
	ev := erasure.EventStartPurge
	if retry {
		ev = erasure.EventRetry
	}
	if err := r.transit(ev, now); err != nil {
		return erasure.Request{}, err
	}
	if retry {
		r.UnresolvedObjects = nil
	}
	if r.PurgeStartedAt == nil {
		r.PurgeStartedAt = &now
	}
	r.Invocations++
	r.leaseUntil = leaseUntil
	return r.get(), nil
}

func (m *Memory) ReleasePurge(_ context.Context, id string, leaseUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.requests[id]; ok && r.leaseUntil.Equal(leaseUntil) {
		r.leaseUntil = time.Time{}
	}
	return nil
}

func (m *Memory) Checkpoint(_ context.Context, id, phase, cursor string, c erasure.Counts, objects int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return identity.ErrNotFound
	}
	r.Deleted = r.Deleted.Add(c)
	r.DeletedObjects += objects
	r.PurgePhase, r.PurgeCursor = phase, cursor
	return nil
}

func (m *Memory) RecordSkippedObjects(_ context.Context, id string, keys []string) error {
	return m.addKeys(id, keys, func(r *memRequest) *[]string { return &r.SkippedObjects })
}

func (m *Memory) RecordUnresolvedObjects(_ context.Context, id string, keys []string) error {
	return m.addKeys(id, keys, func(r *memRequest) *[]string { return &r.UnresolvedObjects })
}

func (m *Memory) addKeys(id string, keys []string, set func(*memRequest) *[]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return identity.ErrNotFound
	}
	if len(keys) > 0 {
		*set(r) = union(*set(r), keys)
	}
	return nil
}

func (m *Memory) ClosePortal(_ context.Context, practiceID, clientID, _ string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.closed[k2(practiceID, clientID)]; !ok {
		m.closed[k2(practiceID, clientID)] = at
	}
	return nil
}

func (m *Memory) CompletePurge(_ context.Context, id string, at time.Time) (erasure.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return erasure.Request{}, identity.ErrConditionFailed
	}
	if m.active[k2(r.PracticeID, r.ClientID)] == id {
		delete(m.active, k2(r.PracticeID, r.ClientID))
	}
	if err := r.transit(erasure.EventComplete, at); err != nil {
		return erasure.Request{}, err
	}
	r.CompletedAt = &at
	r.leaseUntil = time.Time{}
	return r.get(), nil
}

func (m *Memory) SetAside(_ context.Context, id string, at time.Time) (erasure.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return erasure.Request{}, identity.ErrConditionFailed
	}
	if err := r.transit(erasure.EventSetAside, at); err != nil {
		return erasure.Request{}, err
	}
	r.SetAsideAt = &at
	r.leaseUntil = time.Time{}
	return r.get(), nil
}

func (m *Memory) ListRequests(_ context.Context, practiceID string, status erasure.Status, limit int, token string) ([]erasure.Request, string, error) {
	m.mu.Lock()
	var rs []erasure.Request
	for _, r := range m.requests {
		if r.PracticeID == practiceID && r.listed {
			rs = append(rs, r.get())
		}
	}
	m.mu.Unlock()
	slices.SortFunc(rs, func(a, b erasure.Request) int {
		if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	start := 0
	if token != "" {
		n, err := fmt.Sscanf(token, "req-%d", &start)
		if err != nil || n != 1 || start < 0 || start > len(rs) || fmt.Sprintf("req-%d", start) != token {
			return nil, "", identity.ErrBadToken
		}
	}
	// Like a filtered query: limit counts what is read, the filter then
	// keeps those in status.
	end := min(start+limit, len(rs))
	var out []erasure.Request
	for _, r := range rs[start:end] {
		if status == "" || r.Status == status {
			out = append(out, r)
		}
	}
	next := ""
	if end < len(rs) {
		next = fmt.Sprintf("req-%d", end)
	}
	return out, next, nil
}

func (m *Memory) OutstandingRequests(_ context.Context, fn func([]erasure.Request) error) error {
	m.mu.Lock()
	var rs []erasure.Request
	for _, r := range m.requests {
		if r.outstanding {
			rs = append(rs, r.get())
		}
	}
	m.mu.Unlock()
	slices.SortFunc(rs, func(a, b erasure.Request) int { return a.PurgeAt.Compare(b.PurgeAt) })
	if len(rs) == 0 {
		return nil
	}
	return fn(rs)
}

func (m *Memory) ListNotifications(_ context.Context, practiceID, practitionerID string, limit int, token string) ([]erasure.Notification, string, error) {
	m.mu.Lock()
	var ns []erasure.Notification
	for _, n := range m.notifications {
		if n.PracticeID == practiceID && n.PractitionerID == practitionerID {
			ns = append(ns, n)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(ns, func(a, b erasure.Notification) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	start := 0
	if token != "" {
		n, err := fmt.Sscanf(token, "mem-%d", &start)
		if err != nil || n != 1 || start < 0 || start > len(ns) || fmt.Sprintf("mem-%d", start) != token {
			return nil, "", identity.ErrBadToken
		}
	}
	end := min(start+limit, len(ns))
	next := ""
	if end < len(ns) {
		next = fmt.Sprintf("mem-%d", end)
	}
	return ns[start:end], next, nil
}

func (m *Memory) MarkRead(_ context.Context, practiceID, practitionerID, id string) (erasure.Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.notifications[k2(practitionerID, id)]
	if !ok || n.PracticeID != practiceID {
		return erasure.Notification{}, identity.ErrNotFound
	}
	n.Read = true
	m.notifications[k2(practitionerID, id)] = n
	return n, nil
}

func (m *Memory) PutNotification(_ context.Context, n erasure.Notification) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(n.PractitionerID, n.ID)
	if _, ok := m.notifications[k]; !ok {
		m.notifications[k] = n
	}
	return nil
}

// pages calls fn with the items of type T under pk whose sort key starts
// with prefix, PageSize at a time.
func pages[T any](m *Memory, pk, prefix string, fn func([]T) error) error {
	m.mu.Lock()
	var all []erasure.ItemKey
	for k, v := range m.items {
		if _, ok := v.(T); ok && k.PK == pk && strings.HasPrefix(k.SK, prefix) {
			all = append(all, k)
		}
	}
	slices.SortFunc(all, func(a, b erasure.ItemKey) int { return strings.Compare(a.SK, b.SK) })
	var vs []T
	for _, k := range all {
		vs = append(vs, m.items[k].(T))
	}
	size := max(m.PageSize, 1)
	m.mu.Unlock()
	for page := range slices.Chunk(vs, size) {
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) JournalEntries(_ context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	return pages(m, clientPK(practiceID, clientID), "JOURNAL#", fn)
}

func (m *Memory) Documents(_ context.Context, practiceID, clientID string, fn func([]erasure.Document) error) error {
	return pages(m, clientPK(practiceID, clientID), "DOCUMENT#", fn)
}

func (m *Memory) ChatRefs(_ context.Context, practiceID, clientID, after string, fn func([]erasure.ChatRef) error) error {
	return pages(m, clientPK(practiceID, clientID), "CHAT#", func(page []erasure.ChatRef) error {
		var out []erasure.ChatRef
		for _, r := range page {
			if r.Key.SK > after {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return fn(out)
	})
}

func (m *Memory) ChatSessions(_ context.Context, practiceID string, sessionIDs []string) (map[string]erasure.ChatSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]erasure.ChatSession{}
	for _, id := range sessionIDs {
		if s, ok := m.items[erasure.ItemKey{PK: chatPK(practiceID, id), SK: "SESSION"}].(erasure.ChatSession); ok {
			out[id] = s
		}
	}
	return out, nil
}

func (m *Memory) ChatMessages(_ context.Context, practiceID, sessionID string, fn func([]erasure.ChatMessage) error) error {
	return pages(m, chatPK(practiceID, sessionID), "MESSAGE#", fn)
}

func (m *Memory) ExistingItems(_ context.Context, keys []erasure.ItemKey) ([]erasure.ItemKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []erasure.ItemKey
	for _, k := range keys {
		if _, ok := m.items[k]; ok {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *Memory) DeleteItems(_ context.Context, keys []erasure.ItemKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.items, k)
		m.Deleted = append(m.Deleted, k)
	}
	return nil
}

// Objects is a fake object store.
type Objects struct {
	mu      sync.Mutex
	objects map[string]bool
	Calls   int
	// Fail, when set, fails the next calls.
	Fail error
	// Refuse are keys the store refuses to delete for good, as S3 answers
	// a key with a permanent per-key error; keys no object can have are
	// refused too, as the S3 adapter refuses them.
	Refuse map[string]bool
}

var _ erasure.Objects = (*Objects)(nil)

func NewObjects(keys ...string) *Objects {
	o := &Objects{objects: map[string]bool{}, Refuse: map[string]bool{}}
	for _, k := range keys {
		o.objects[k] = true
	}
	return o
}

func (o *Objects) Put(keys ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		o.objects[k] = true
	}
}

func (o *Objects) DeleteObjects(_ context.Context, keys []string) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(keys) == 0 {
		return nil, nil
	}
	o.Calls++
	if o.Fail != nil {
		return nil, o.Fail
	}
	var refused []string
	for _, k := range keys {
		if o.Refuse[k] || !erasure.ValidObjectKey(k) {
			refused = append(refused, k)
			continue
		}
		delete(o.objects, k)
	}
	return refused, nil
}

// Keys returns the objects left, sorted.
func (o *Objects) Keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ks []string
	for k := range o.objects {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// oneShots is a fake store of named one-shot schedules (of type T) that
// records what it made; the purge's and the export's fakes are made of it.
type oneShots[T any] struct {
	mu        sync.Mutex
	Schedules map[string]T
	// FailNext fails this many calls to create before succeeding.
	FailNext int
	Calls    int
}

func (s *oneShots[T]) create(name string, v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls++
	if s.FailNext > 0 {
		s.FailNext--
		return fmt.Errorf("scheduler unavailable")
	}
	if _, ok := s.Schedules[name]; ok {
		return identity.ErrAlreadyExists
	}
	s.Schedules[name] = v
	return nil
}

func (s *oneShots[T]) delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.Schedules, name)
}

// Scheduler is a fake purge schedule store.
type Scheduler struct {
	oneShots[erasure.PurgeSchedule]
}

var _ erasure.Scheduler = (*Scheduler)(nil)

func NewScheduler() *Scheduler {
	return &Scheduler{oneShots[erasure.PurgeSchedule]{Schedules: map[string]erasure.PurgeSchedule{}}}
}

func (s *Scheduler) CreatePurgeSchedule(_ context.Context, ps erasure.PurgeSchedule) error {
	return s.create(ps.Name, ps)
}

func (s *Scheduler) DeletePurgeSchedule(_ context.Context, name string) error {
	s.delete(name)
	return nil
}

// Mailer is a fake mailer that records what it sent.
type Mailer struct {
	mu       sync.Mutex
	Sent     []erasure.Email
	FailNext int
	// FailWhen, when set, fails every email it reports true for.
	FailWhen func(erasure.Email) bool
}

var _ erasure.Mailer = (*Mailer)(nil)

func (m *Mailer) Send(_ context.Context, e erasure.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailNext > 0 {
		m.FailNext--
		return fmt.Errorf("mail unavailable")
	}
	if m.FailWhen != nil && m.FailWhen(e) {
		return fmt.Errorf("mail unavailable")
	}
	m.Sent = append(m.Sent, e)
	return nil
}

// Emails returns a copy of what was sent.
func (m *Mailer) Emails() []erasure.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.Sent)
}
