package porttest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ExportMemory implements the export ports that read and keep state
// (export.Access, erasure.Roster, export.Records, export.Content) in memory, with the
// semantics RunExportContract checks. It is safe for concurrent use.
type ExportMemory struct {
	mu       sync.Mutex
	clients  map[string]bool // practiceID/clientID
	members  map[string]bool // practiceID/sub
	owners   map[string]string
	active   map[string]string       // practiceID/clientID -> export id
	quotas   map[string]export.Quota // practiceID/sub
	exports  map[string]*memExport
	journal  map[string][]export.JournalEntry // practiceID/clientID
	docs     map[string][]export.Document     // practiceID/clientID
	links    map[string][]string              // practiceID/clientID -> session ids
	sessions map[string]export.ChatSession    // practiceID/sessionID
	messages map[string][]export.ChatMessage  // practiceID/sessionID
	notes    map[string]int                   // practiceID/clientID -> notes (never read)
	// PageSize bounds the pages the content readers return.
	PageSize int
}

type memExport struct {
	export.Export
	leaseUntil time.Time
}

var (
	_ export.Access  = (*ExportMemory)(nil)
	_ erasure.Roster = (*ExportMemory)(nil)
	_ export.Records = (*ExportMemory)(nil)
	_ export.Content = (*ExportMemory)(nil)
	_ ExportSeeder   = (*ExportMemory)(nil)
)

// NewExportMemory returns an empty store.
func NewExportMemory() *ExportMemory {
	return &ExportMemory{
		clients: map[string]bool{}, exports: map[string]*memExport{},
		members: map[string]bool{}, owners: map[string]string{},
		active: map[string]string{}, quotas: map[string]export.Quota{},
		journal: map[string][]export.JournalEntry{}, docs: map[string][]export.Document{},
		links: map[string][]string{}, sessions: map[string]export.ChatSession{},
		messages: map[string][]export.ChatMessage{}, notes: map[string]int{},
		PageSize: 3,
	}
}

// ---- seeding (what the platform's other services write) ----

// AddPractitioner writes a practitioner's item; owner also makes the
// practice's record name them its owner.
func (m *ExportMemory) AddPractitioner(practiceID, sub string, owner bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.members[k2(practiceID, sub)] = true
	if owner {
		m.owners[practiceID] = sub
	}
}

// RemovePractitioner deletes a practitioner's item.
func (m *ExportMemory) RemovePractitioner(practiceID, sub string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.members, k2(practiceID, sub))
}

func (m *ExportMemory) AddClient(practiceID, clientID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients[k2(practiceID, clientID)] = true
}

func (m *ExportMemory) AddJournalEntry(practiceID, clientID string, e export.JournalEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(practiceID, clientID)
	m.journal[k] = upsert(m.journal[k], e, func(x export.JournalEntry) string { return x.ID })
}

func (m *ExportMemory) AddDocument(practiceID, clientID string, d export.Document) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(practiceID, clientID)
	d.ObjectKeys = slices.Clone(d.ObjectKeys)
	m.docs[k] = upsert(m.docs[k], d, func(x export.Document) string { return x.ID })
}

func (m *ExportMemory) AddChatSession(practiceID string, s export.ChatSession) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.ClientIDs, s.PractitionerIDs = slices.Clone(s.ClientIDs), slices.Clone(s.PractitionerIDs)
	m.sessions[k2(practiceID, s.ID)] = s
	for _, c := range s.ClientIDs {
		k := k2(practiceID, c)
		if !slices.Contains(m.links[k], s.ID) {
			m.links[k] = append(m.links[k], s.ID)
			slices.Sort(m.links[k])
		}
	}
}

func (m *ExportMemory) AddChatMessage(practiceID, sessionID string, msg export.ChatMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(practiceID, sessionID)
	// Oldest first, as the table's sort key (time, then id) orders them.
	i, _ := slices.BinarySearchFunc(m.messages[k], msg, func(a, b export.ChatMessage) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	m.messages[k] = slices.Insert(m.messages[k], i, msg)
}

func (m *ExportMemory) AddNote(practiceID, clientID, _ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notes[k2(practiceID, clientID)]++
}

// upsert replaces the element with v's id or adds v, keeping id order
// (the order of the table's sort keys).
func upsert[T any](xs []T, v T, id func(T) string) []T {
	i, found := slices.BinarySearchFunc(xs, id(v), func(x T, want string) int { return strings.Compare(id(x), want) })
	if found {
		xs[i] = v
		return xs
	}
	return slices.Insert(xs, i, v)
}

// Exports returns every export recorded.
func (m *ExportMemory) Exports() []export.Export {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []export.Export
	for _, e := range m.exports {
		out = append(out, e.Export)
	}
	slices.SortFunc(out, func(a, b export.Export) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ---- export.Access, erasure.Roster ----

func (m *ExportMemory) ExportAccess(_ context.Context, practiceID, sub, clientID string) (export.Gate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.quotas[k2(practiceID, sub)]
	q.Times = slices.Clone(q.Times)
	return export.Gate{
		Member:       m.members[k2(practiceID, sub)],
		ClientExists: m.clients[k2(practiceID, clientID)],
		Active:       m.active[k2(practiceID, clientID)],
		Quota:        q,
	}, nil
}

func (m *ExportMemory) Member(_ context.Context, practiceID, sub string) (erasure.Member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.members[k2(practiceID, sub)] {
		return erasure.Member{}, identity.ErrNotFound
	}
	return erasure.Member{Practitioner: erasure.Practitioner{ID: sub}, Owner: m.owners[practiceID] == sub}, nil
}

// ---- export.Records ----

func (m *ExportMemory) CreateExport(_ context.Context, e export.Export, slot export.Slot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	client, practitioner := k2(e.PracticeID, e.ClientID), k2(e.PracticeID, e.RequestedBy)
	if _, ok := m.exports[e.ID]; ok || m.active[client] != slot.Active || m.quotas[practitioner].Version != slot.Quota.Version-1 {
		return identity.ErrConditionFailed
	}
	e.RequestedAt = e.RequestedAt.UTC()
	m.exports[e.ID] = &memExport{Export: e}
	m.active[client] = e.ID
	q := slot.Quota
	q.Times = slices.Clone(q.Times)
	m.quotas[practitioner] = q
	return nil
}

func (m *ExportMemory) ReleaseSlot(_ context.Context, e export.Export, before, after export.Slot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	client, practitioner := k2(e.PracticeID, e.ClientID), k2(e.PracticeID, e.RequestedBy)
	if m.active[client] == e.ID {
		if before.Active == "" {
			delete(m.active, client)
		} else {
			m.active[client] = before.Active
		}
	}
	if m.quotas[practitioner].Version == after.Quota.Version {
		if before.Quota.Version == 0 {
			delete(m.quotas, practitioner)
		} else {
			q := before.Quota
			q.Times = slices.Clone(q.Times)
			m.quotas[practitioner] = q
		}
	}
	return nil
}

func (m *ExportMemory) GetExport(_ context.Context, id string) (export.Export, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.exports[id]
	if !ok {
		return export.Export{}, identity.ErrNotFound
	}
	return e.Export, nil
}

func (m *ExportMemory) DeletePendingExport(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.exports[id]
	if !ok {
		return nil
	}
	if e.Status != export.StatusPending {
		return identity.ErrConditionFailed
	}
	delete(m.exports, id)
	return nil
}

func (m *ExportMemory) StartExport(_ context.Context, id string, now, leaseUntil time.Time) (export.Export, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.exports[id]
	if !ok {
		return export.Export{}, identity.ErrNotFound
	}
	if !(e.Status == export.StatusPending || (e.Status == export.StatusRunning && !now.Before(e.leaseUntil))) {
		return export.Export{}, identity.ErrConditionFailed
	}
	e.Status = export.StatusRunning
	e.Attempts++
	if e.StartedAt == nil {
		t := now.UTC()
		e.StartedAt = &t
	}
	e.leaseUntil = leaseUntil
	return e.Export, nil
}

func (m *ExportMemory) ReleaseExport(_ context.Context, id string, leaseUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.exports[id]; ok && e.Status == export.StatusRunning && e.leaseUntil.Equal(leaseUntil) {
		e.leaseUntil = time.Time{}
	}
	return nil
}

func (m *ExportMemory) CompleteExport(_ context.Context, id string, r export.Result) (export.Export, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.exports[id]
	if !ok || e.Status != export.StatusRunning {
		return export.Export{}, identity.ErrConditionFailed
	}
	at := r.At.UTC()
	e.Status, e.CompletedAt, e.ObjectKey, e.SizeBytes, e.Counts = export.StatusReady, &at, r.ObjectKey, r.SizeBytes, r.Counts
	e.leaseUntil = time.Time{}
	return e.Export, nil
}

func (m *ExportMemory) FailExport(_ context.Context, id string, at time.Time, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.exports[id]
	if !ok || e.Status.Done() {
		return identity.ErrConditionFailed
	}
	at = at.UTC()
	e.Status, e.CompletedAt, e.FailureReason = export.StatusFailed, &at, reason
	e.leaseUntil = time.Time{}
	return nil
}

// ---- export.Content ----

// memPages calls fn with the items get returns (under the lock), PageSize
// at a time, copying one page at a time as a paged query reads it.
func memPages[T any](m *ExportMemory, get func() []T, fn func([]T) error) error {
	size := max(m.PageSize, 1)
	for start := 0; ; start += size {
		m.mu.Lock()
		xs := get()
		if start >= len(xs) {
			m.mu.Unlock()
			return nil
		}
		page := slices.Clone(xs[start:min(start+size, len(xs))])
		m.mu.Unlock()
		if err := fn(page); err != nil {
			return err
		}
	}
}

func (m *ExportMemory) JournalEntries(_ context.Context, practiceID, clientID string, fn func([]export.JournalEntry) error) error {
	return memPages(m, func() []export.JournalEntry { return m.journal[k2(practiceID, clientID)] }, fn)
}

func (m *ExportMemory) Documents(_ context.Context, practiceID, clientID string, fn func([]export.Document) error) error {
	return memPages(m, func() []export.Document { return m.docs[k2(practiceID, clientID)] }, fn)
}

func (m *ExportMemory) ChatSessions(_ context.Context, practiceID, clientID string, fn func([]export.ChatSession) error) error {
	return memPages(m, func() []export.ChatSession {
		var xs []export.ChatSession
		for _, id := range m.links[k2(practiceID, clientID)] {
			if s, ok := m.sessions[k2(practiceID, id)]; ok {
				xs = append(xs, s)
			}
		}
		return xs
	}, fn)
}

func (m *ExportMemory) ChatMessages(_ context.Context, practiceID, sessionID string, fn func([]export.ChatMessage) error) error {
	return memPages(m, func() []export.ChatMessage { return m.messages[k2(practiceID, sessionID)] }, fn)
}

// ExportFiles is a fake document store: each key opens a fresh reader, so
// a test may serve a large file without holding it.
type ExportFiles struct {
	mu    sync.Mutex
	files map[string]func() io.Reader
	// Opened counts the opens.
	Opened int
}

var _ export.Files = (*ExportFiles)(nil)

func NewExportFiles() *ExportFiles { return &ExportFiles{files: map[string]func() io.Reader{}} }

// Put stores data under key.
func (f *ExportFiles) Put(key string, data []byte) {
	data = bytes.Clone(data)
	f.PutFunc(key, func() io.Reader { return bytes.NewReader(data) })
}

// PutFunc serves key from what open returns, each time it is opened.
func (f *ExportFiles) PutFunc(key string, open func() io.Reader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[key] = open
}

func (f *ExportFiles) OpenFile(_ context.Context, key string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	open, ok := f.files[key]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", key, identity.ErrNotFound)
	}
	f.Opened++
	return io.NopCloser(open()), nil
}

// ExportArchives is a fake multipart store that checks what S3 checks:
// part numbers from 1 without gaps, every part but the last at least
// MinPartSize, the ETags it gave. Completed objects are kept whole.
type ExportArchives struct {
	mu      sync.Mutex
	uploads map[string]*memUpload
	objects map[string][]byte
	next    int
	// MinPartSize defaults to export.MinPartSize.
	MinPartSize int
	// FailPart fails the upload of this part number (once).
	FailPart int32
	// Counts of calls.
	Creates, Parts, Completes, Aborts int
	// DownloadNames are the names given at CreateUpload, by key.
	DownloadNames map[string]string
}

type memUpload struct {
	key   string
	parts map[int32][]byte
}

var _ export.Archives = (*ExportArchives)(nil)

func NewExportArchives() *ExportArchives {
	return &ExportArchives{uploads: map[string]*memUpload{}, objects: map[string][]byte{}, DownloadNames: map[string]string{}}
}

func etag(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (a *ExportArchives) CreateUpload(_ context.Context, key, downloadName string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	a.Creates++
	id := fmt.Sprintf("upload-%d", a.next)
	a.uploads[id] = &memUpload{key: key, parts: map[int32][]byte{}}
	a.DownloadNames[key] = downloadName
	return id, nil
}

func (a *ExportArchives) UploadPart(_ context.Context, key, uploadID string, n int32, data []byte) (export.Part, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.uploads[uploadID]
	if !ok || u.key != key {
		return export.Part{}, fmt.Errorf("no such upload")
	}
	if n < 1 || n > export.MaxParts {
		return export.Part{}, fmt.Errorf("part number %d out of range", n)
	}
	if a.FailPart == n {
		a.FailPart = 0
		return export.Part{}, fmt.Errorf("part %d: injected failure", n)
	}
	a.Parts++
	u.parts[n] = bytes.Clone(data)
	return export.Part{Number: n, ETag: etag(data)}, nil
}

func (a *ExportArchives) CompleteUpload(_ context.Context, key, uploadID string, parts []export.Part) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.uploads[uploadID]
	if !ok || u.key != key {
		return fmt.Errorf("no such upload")
	}
	if len(parts) == 0 {
		return fmt.Errorf("an upload needs a part")
	}
	minSize := a.MinPartSize
	if minSize == 0 {
		minSize = export.MinPartSize
	}
	var whole []byte
	for i, p := range parts {
		data, ok := u.parts[p.Number]
		if p.Number != int32(i+1) || !ok || etag(data) != p.ETag {
			return fmt.Errorf("part %d: invalid part", p.Number)
		}
		if i < len(parts)-1 && len(data) < minSize {
			return fmt.Errorf("part %d: %d bytes, too small", p.Number, len(data))
		}
		whole = append(whole, data...)
	}
	a.Completes++
	a.objects[key] = whole
	delete(a.uploads, uploadID)
	return nil
}

func (a *ExportArchives) AbortUpload(_ context.Context, key, uploadID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Aborts++
	delete(a.uploads, uploadID)
	return nil
}

func (a *ExportArchives) PresignGet(_ context.Context, key string, ttl time.Duration) (string, error) {
	return "https://exports.example.com/" + key + "?X-Amz-Expires=" + fmt.Sprint(int(ttl.Seconds())), nil
}

// Object returns a completed object.
func (a *ExportArchives) Object(key string) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.objects[key]
	return b, ok
}

// OpenUploads counts the uploads neither completed nor aborted.
func (a *ExportArchives) OpenUploads() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.uploads)
}

// ExportScheduler is a fake export schedule store.
type ExportScheduler struct {
	oneShots[export.Schedule]
}

var _ export.Scheduler = (*ExportScheduler)(nil)

func NewExportScheduler() *ExportScheduler {
	return &ExportScheduler{oneShots[export.Schedule]{Schedules: map[string]export.Schedule{}}}
}

func (s *ExportScheduler) CreateExportSchedule(_ context.Context, sc export.Schedule) error {
	return s.create(sc.Name, sc)
}
