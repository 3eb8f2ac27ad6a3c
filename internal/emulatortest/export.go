package emulatortest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ExportFile is a client's file seeded for an export, with what its
// archive must hold.
type ExportFile struct {
	PracticeID string
	ClientID   string
	Journal    []export.JournalEntry // in key (id) order
	Sessions   []export.ChatSession  // in key order
	Messages   map[string][]export.ChatMessage
	// Documents are the archive's document files: path -> content.
	Documents map[string][]byte
	Counts    export.Counts
	// SkippedDocuments are the ids of the documents whose file is outside
	// the client's folder, as the manifest lists them (none unless set).
	SkippedDocuments []string
}

// Markers of content that must never reach an export of the client:
// another client's own file, and the practitioners' records that are not
// the client's (notes, appointments, invoices).
const (
	OtherClientMarker      = "OTHER-CLIENT-PRIVATE"
	PractitionerOnlyMarker = "PRACTITIONER-ONLY"
)

// Hostile is text a client or practitioner might type that a page must
// show, not run.
const Hostile = `<script>alert("x")</script><img src=x onerror=alert(1)> & 'q'`

// BigDocument is the size of the seeded multi-megabyte upload: more than
// one 8 MiB part on its own.
const BigDocument = 12 << 20

// SeedExportFile writes, beside the profile SeedClient-style records, a
// client's whole file: journal entries (one by their practitioner, one of
// hostile text), uploaded documents (one of BigDocument bytes, two with the
// same name, one whose name climbs out of its folder, one with no name),
// documents the practitioner shared, a direct chat, a group chat with
// other, and the practitioner-only records; and other's own file (journal,
// upload, direct chat). Objects go to the documents bucket.
func SeedExportFile(t testing.TB, st *Stack, store *dynamostore.Store, p Practice, clientID, other string) ExportFile {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	f := ExportFile{PracticeID: p.ID, ClientID: clientID, Messages: map[string][]export.ChatMessage{}, Documents: map[string][]byte{}}
	me := export.Author{Role: identity.RoleClient, ID: clientID}
	them := export.Author{Role: identity.RoleClient, ID: other}
	member := export.Author{Role: identity.RolePractitioner, ID: p.MemberID}
	for _, c := range []string{clientID, other} {
		must(t, store.Put(ctx, dynamostore.ClientItem{
			PK: dynamostore.ClientPK(p.ID, c), SK: dynamostore.ProfileSK, ID: c, FirstName: "First " + c, LastName: "Last",
			Email: c + "@clients.example.com", PractitionerIDs: []string{p.MemberID}, PortalUserID: c + "-sub",
		}))
	}
	record := func(clientID, sk, typ string, a export.Author, created time.Time, title, body, fileName string, objects ...string) {
		must(t, store.Put(ctx, dynamostore.Record{PK: dynamostore.ClientPK(p.ID, clientID), SK: sk, Type: typ,
			AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: created, Title: title, Body: body, FileName: fileName, ObjectKeys: objects}))
	}
	put := func(key string, content []byte) {
		_, err := st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: aws.String(key), Body: bytes.NewReader(content)})
		must(t, err)
	}

	for i, e := range []export.JournalEntry{
		{ID: clientID + "-j0", Author: me, Title: "Monday", Body: "Slept well.\nWalked 5 km."},
		{ID: clientID + "-j1", Author: me, Title: Hostile, Body: Hostile},
		{ID: clientID + "-j2", Author: member, Title: "From your practitioner", Body: "Keep a note of your sleep."},
		{ID: clientID + "-j3", Author: me, Title: "Émotions 😊", Body: strings.Repeat("A longer entry. ", 200)},
	} {
		e.CreatedAt = at.Add(time.Duration(i) * 24 * time.Hour)
		record(clientID, dynamostore.JournalSK(e.ID), "journal_entry", e.Author, e.CreatedAt, e.Title, e.Body, "")
		f.Journal = append(f.Journal, e)
	}

	big := make([]byte, BigDocument)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(big)
	docs := []struct {
		id, name, archived string
		author             export.Author
		content            []byte
	}{
		{"d0", "results.pdf", "documents/uploaded/results.pdf", me, []byte("%PDF-1.7 results")},
		{"d1", "results.pdf", "documents/uploaded/results (2).pdf", me, big},
		{"d2", "../../etc/passwd", "documents/uploaded/.._.._etc_passwd", me, []byte("not a password file")},
		{"d3", "", "documents/uploaded/" + clientID + "-d3.bin", me, []byte{0, 1, 2, 3}},
		{"d4", "Care plan <v2>.pdf", "documents/shared/Care plan _v2_.pdf", member, []byte("%PDF-1.7 care plan")},
		{"d5", "CARE PLAN _V2_.PDF", "documents/shared/CARE PLAN _V2_ (2).PDF", member, []byte("%PDF-1.7 second plan")},
	}
	for _, d := range docs {
		folder := "uploads"
		if d.author.Role == identity.RolePractitioner {
			folder = "shared"
		}
		key := fmt.Sprintf("practices/%s/clients/%s/%s/%s-%s.bin", p.ID, clientID, folder, clientID, d.id)
		preview := key + "-preview.png"
		record(clientID, dynamostore.DocumentSK(clientID+"-"+d.id), "document", d.author, at, "Document "+d.id, "", d.name, key, preview)
		put(key, d.content)
		put(preview, []byte("a preview, not exported"))
		f.Documents[d.archived] = d.content
		f.Counts.Documents++
	}
	// Records of the practitioners that are not the client's to take.
	for _, sk := range []string{"NOTE#n1", "APPOINTMENT#a1", "INVOICE#i1"} {
		record(clientID, sk, strings.ToLower(strings.SplitN(sk, "#", 2)[0]), member, at, PractitionerOnlyMarker, PractitionerOnlyMarker, "", "")
	}

	chat := func(s export.ChatSession, msgs []export.ChatMessage, expect bool) {
		must(t, store.PutChat(ctx, p.ID, dynamostore.ChatSessionItem{SessionID: s.ID, Title: s.Title, ClientIDs: s.ClientIDs, PractitionerIDs: s.PractitionerIDs, CreatedAt: s.CreatedAt}))
		for _, m := range msgs {
			must(t, store.Put(ctx, dynamostore.Record{PK: dynamostore.ChatPK(p.ID, s.ID), SK: dynamostore.MessageSK(m.CreatedAt, m.ID),
				Type: "chat_message", AuthorRole: m.Author.Role, AuthorID: m.Author.ID, CreatedAt: m.CreatedAt, Body: m.Body}))
		}
		if expect {
			f.Sessions = append(f.Sessions, s)
			f.Messages[s.ID] = msgs
			f.Counts.ChatSessions++
			f.Counts.ChatMessages += len(msgs)
		}
	}
	msgs := func(session string, bodies ...any) []export.ChatMessage {
		var out []export.ChatMessage
		for i := 0; i < len(bodies); i += 2 {
			out = append(out, export.ChatMessage{ID: fmt.Sprintf("%s-m%d", session, i/2), Author: bodies[i].(export.Author),
				CreatedAt: at.Add(time.Duration(i) * time.Minute), Body: bodies[i+1].(string)})
		}
		return out
	}
	direct := clientID + "-direct"
	chat(export.ChatSession{ID: direct, Title: "You and your practitioner", ClientIDs: []string{clientID}, PractitionerIDs: []string{p.MemberID}, CreatedAt: at},
		msgs(direct, me, "Hello, I have a question.", member, "Of course, ask away.", me, Hostile, member, "Let's talk on Monday."), true)
	group := clientID + "-group"
	chat(export.ChatSession{ID: group, Title: "Sleep programme", ClientIDs: []string{clientID, other}, PractitionerIDs: []string{p.MemberID}, CreatedAt: at},
		msgs(group, member, "Welcome to the group.", me, "Hi all!", them, "Hello from "+other+"."), true)
	f.Counts.JournalEntries = len(f.Journal)

	// The other client's own file.
	record(other, dynamostore.JournalSK(other+"-j0"), "journal_entry", them, at, OtherClientMarker, OtherClientMarker, "")
	record(other, dynamostore.DocumentSK(other+"-d0"), "document", them, at, OtherClientMarker, "", "results.pdf",
		fmt.Sprintf("practices/%s/clients/%s/uploads/d0.pdf", p.ID, other))
	put(fmt.Sprintf("practices/%s/clients/%s/uploads/d0.pdf", p.ID, other), []byte(OtherClientMarker))
	theirs := other + "-direct"
	chat(export.ChatSession{ID: theirs, Title: OtherClientMarker, ClientIDs: []string{other}, PractitionerIDs: []string{p.MemberID}, CreatedAt: at},
		msgs(theirs, them, OtherClientMarker), false)
	return f
}

// Download GETs url (a pre-signed URL) and returns the body.
func Download(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download: got %d (%v), want 200", resp.StatusCode, err)
	}
	return b
}

// CheckArchive checks that archive is exactly the export exportID of the
// file: the files it must hold and no other, each equal to what was seeded
// (JSON decoded and compared field by field, documents byte for byte,
// pages with every text escaped), and nothing of another client's file or
// the practitioners' own records anywhere.
func (f ExportFile) CheckArchive(t testing.TB, archive []byte, exportID string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatalf("archive: not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		must(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		must(t, err)
		if _, dup := files[zf.Name]; dup {
			t.Errorf("archive: %s twice", zf.Name)
		}
		files[zf.Name] = b
	}
	want := []string{"manifest.json", "journal/entries.json", "journal/entries.html"}
	for _, s := range f.Sessions {
		want = append(want, "chats/"+s.ID+".json", "chats/"+s.ID+".html")
	}
	want = append(want, slices.Collect(maps.Keys(f.Documents))...)
	slices.Sort(want)
	got := slices.Sorted(maps.Keys(files))
	if !slices.Equal(got, want) {
		t.Fatalf("archive files: got %q,\nwant %q", got, want)
	}
	for name, b := range files {
		for _, marker := range []string{OtherClientMarker, PractitionerOnlyMarker, "a preview, not exported"} {
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("%s holds %q: content that is not the client's", name, marker)
			}
		}
		if strings.HasSuffix(name, ".html") && (bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("<img"))) {
			t.Errorf("%s holds unescaped markup", name)
		}
	}
	for name, content := range f.Documents {
		if !bytes.Equal(files[name], content) {
			t.Errorf("%s: got %d bytes that differ from the %d seeded", name, len(files[name]), len(content))
		}
	}

	var m export.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if m.ExportID != exportID || m.ClientID != f.ClientID || m.PracticeID != f.PracticeID || m.Counts != f.Counts || m.GeneratedAt.IsZero() || len(m.MissingDocuments) != 0 ||
		!slices.Equal(m.SkippedDocuments, f.SkippedDocuments) {
		t.Errorf("manifest.json: got %+v, want export %s of %s with %+v, skipped documents %q", m, exportID, f.ClientID, f.Counts, f.SkippedDocuments)
	}

	CheckJournalAndChats(t, files, f.Journal, f.Sessions, f.Messages)
	checkPage(t, "journal/entries.html", files["journal/entries.html"], `class="entry"`, len(f.Journal), f.Journal[0].Body)
	for _, s := range f.Sessions {
		want := f.Messages[s.ID]
		checkPage(t, "chats/"+s.ID+".html", files["chats/"+s.ID+".html"], `<div class="message `, len(want), "")
	}
}

// checkPage checks a page shows n items (by their opening markup), the
// hostile text escaped wherever it is, and the text contains (when set).
func checkPage(t testing.TB, name string, page []byte, item string, n int, contains string) {
	t.Helper()
	if got := bytes.Count(page, []byte(item)); got != n {
		t.Errorf("%s: got %d items, want %d", name, got, n)
	}
	if bytes.Contains(page, []byte(`alert("x")`)) || !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Errorf("%s: the hostile text is not escaped, or this is not a page", name)
	}
	if contains != "" && !bytes.Contains(page, []byte(contains)) {
		t.Errorf("%s: lacks %q", name, contains)
	}
}

// CheckJournalAndChats checks an export's journal/entries.json and
// chats/<session>.json (files: archive path -> content) hold exactly the
// given entries, sessions and messages, in order, field by field, as the
// archive's JSON has them.
func CheckJournalAndChats(t testing.TB, files map[string][]byte, journal []export.JournalEntry, sessions []export.ChatSession, messages map[string][]export.ChatMessage) {
	t.Helper()
	type entry struct {
		ID        string        `json:"id"`
		Author    export.Author `json:"author"`
		CreatedAt time.Time     `json:"createdAt"`
		Title     string        `json:"title"`
		Body      string        `json:"body"`
	}
	var entries []entry
	if err := json.Unmarshal(files["journal/entries.json"], &entries); err != nil {
		t.Fatalf("journal/entries.json: %v", err)
	}
	if len(entries) != len(journal) {
		t.Fatalf("journal/entries.json: got %d entries, want %d", len(entries), len(journal))
	}
	for i, w := range journal {
		if g := entries[i]; g.ID != w.ID || g.Author != w.Author || !g.CreatedAt.Equal(w.CreatedAt) || g.Title != w.Title || g.Body != w.Body {
			t.Errorf("journal entry %d: got %+v, want %+v", i, g, w)
		}
	}

	for _, s := range sessions {
		var c struct {
			SessionID       string    `json:"sessionId"`
			Title           string    `json:"title"`
			CreatedAt       time.Time `json:"createdAt"`
			ClientIDs       []string  `json:"clientIds"`
			PractitionerIDs []string  `json:"practitionerIds"`
			Messages        []struct {
				ID        string        `json:"id"`
				Author    export.Author `json:"author"`
				CreatedAt time.Time     `json:"createdAt"`
				Body      string        `json:"body"`
			} `json:"messages"`
		}
		name := "chats/" + s.ID + ".json"
		if err := json.Unmarshal(files[name], &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.SessionID != s.ID || c.Title != s.Title || !c.CreatedAt.Equal(s.CreatedAt) || !slices.Equal(c.ClientIDs, s.ClientIDs) || !slices.Equal(c.PractitionerIDs, s.PractitionerIDs) {
			t.Errorf("%s: got session %+v, want %+v", name, c, s)
		}
		want := messages[s.ID]
		if len(c.Messages) != len(want) {
			t.Fatalf("%s: got %d messages, want %d", name, len(c.Messages), len(want))
		}
		for i, w := range want {
			if g := c.Messages[i]; g.ID != w.ID || g.Author != w.Author || !g.CreatedAt.Equal(w.CreatedAt) || g.Body != w.Body {
				t.Errorf("%s message %d: got %+v, want %+v", name, i, g, w)
			}
		}
	}
}
