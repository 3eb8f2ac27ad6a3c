package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// The archive's layout (README, "Export of a client's file"):
//
//	manifest.json                  ids, generation time, counts, documents left out
//	journal/entries.json, .html    every journal entry in the client's file
//	chats/<sessionId>.json, .html  each session the client takes part in, with all its messages
//	documents/uploaded/<name>      the documents the client uploaded
//	documents/shared/<name>        the documents practitioners shared with the client
const (
	dirJournal  = "journal"
	dirChats    = "chats"
	dirUploaded = "documents/uploaded"
	dirShared   = "documents/shared"
)

// builder writes one archive. Each JSON file is written into its archive
// entry as the content is read; its HTML twin is written meanwhile to a
// spool file and copied into the next entry, so the content is read once
// and never held whole.
type builder struct {
	ctx     context.Context
	s       *Worker
	e       Export
	at      time.Time
	zw      *zip.Writer
	spool   *os.File
	names   *names
	counts  Counts
	missing []string
	skipped []string
	copyBuf []byte
}

// only hides a reader's other methods (WriterTo), so that io.CopyBuffer
// uses the builder's one copy buffer.
type only struct{ io.Reader }

func (b *builder) write() error {
	for _, step := range []func() error{b.journal, b.chats, b.documents, b.manifest} {
		if err := step(); err != nil {
			return err
		}
	}
	return b.zw.Close()
}

func (b *builder) create(name string, method uint16, modified time.Time) (io.Writer, error) {
	if modified.IsZero() {
		modified = b.at
	}
	h := &zip.FileHeader{Name: name, Method: method, Modified: modified.UTC()}
	h.SetMode(0o644)
	w, err := b.zw.CreateHeader(h)
	if err != nil {
		return nil, fmt.Errorf("archive entry: %w", err)
	}
	return w, nil
}

// pair writes a JSON file and its HTML twin from one reading of the
// content: fn writes the JSON to j and the page to h.
func (b *builder) pair(jsonName, htmlName string, modified time.Time, fn func(j, h io.Writer) error) error {
	jw, err := b.create(jsonName, zip.Deflate, modified)
	if err != nil {
		return err
	}
	if err := b.spool.Truncate(0); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := b.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	hb := bufio.NewWriterSize(b.spool, 64<<10)
	if err := fn(jw, hb); err != nil {
		return err
	}
	if err := hb.Flush(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	hw, err := b.create(htmlName, zip.Deflate, modified)
	if err != nil {
		return err
	}
	if _, err := b.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := io.CopyBuffer(hw, only{b.spool}, b.copyBuf); err != nil {
		return fmt.Errorf("copy page: %w", err)
	}
	return nil
}

// arrayWriter writes a JSON array one element at a time, indented by
// indent (the array's own indentation).
type arrayWriter struct {
	w      io.Writer
	indent string
	n      int
}

func (a *arrayWriter) add(v any) error {
	elem, err := json.MarshalIndent(v, a.indent+"  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n"
	if a.n == 0 {
		sep = "[\n"
	}
	a.n++
	if _, err := io.WriteString(a.w, sep+a.indent+"  "); err != nil {
		return err
	}
	_, err = a.w.Write(elem)
	return err
}

func (a *arrayWriter) close() error {
	end := "\n" + a.indent + "]"
	if a.n == 0 {
		end = "[]"
	}
	_, err := io.WriteString(a.w, end)
	return err
}

// The JSON shapes of the archive. Times are RFC 3339 in UTC.

type journalJSON struct {
	ID        string     `json:"id"`
	Author    Author     `json:"author"`
	CreatedAt *time.Time `json:"createdAt"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
}

type sessionJSON struct {
	SessionID       string     `json:"sessionId"`
	Title           string     `json:"title"`
	CreatedAt       *time.Time `json:"createdAt"`
	ClientIDs       []string   `json:"clientIds"`
	PractitionerIDs []string   `json:"practitionerIds"`
}

type messageJSON struct {
	ID        string     `json:"id"`
	Author    Author     `json:"author"`
	CreatedAt *time.Time `json:"createdAt"`
	Body      string     `json:"body"`
}

// Manifest is manifest.json.
type Manifest struct {
	ExportID    string    `json:"exportId"`
	ClientID    string    `json:"clientId"`
	PracticeID  string    `json:"practiceId"`
	GeneratedAt time.Time `json:"generatedAt"`
	Counts      Counts    `json:"counts"`
	// MissingDocuments are the ids of documents whose file was not found.
	MissingDocuments []string `json:"missingDocuments,omitempty"`
	// SkippedDocuments are the ids of documents whose file key is outside
	// the client's folder: not the client's file, so not copied.
	SkippedDocuments []string `json:"skippedDocuments,omitempty"`
}

func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (b *builder) subtitle() string {
	return "Client " + b.e.ClientID + " · exported " + when(b.at)
}

func (b *builder) journal() error {
	return b.pair(dirJournal+"/entries.json", dirJournal+"/entries.html", b.at, func(j, h io.Writer) error {
		page := &pageWriter{w: h}
		page.head("Journal entries", b.subtitle())
		arr := &arrayWriter{w: j}
		err := b.s.content.JournalEntries(b.ctx, b.e.PracticeID, b.e.ClientID, func(es []JournalEntry) error {
			for _, e := range es {
				if err := arr.add(journalJSON{ID: e.ID, Author: e.Author, CreatedAt: utc(e.CreatedAt), Title: e.Title, Body: e.Body}); err != nil {
					return err
				}
				page.journalEntry(e)
				b.counts.JournalEntries++
			}
			return page.err
		})
		if err != nil {
			return fmt.Errorf("journal entries: %w", err)
		}
		if arr.n == 0 {
			page.empty("No journal entries.")
		}
		page.foot()
		if err := arr.close(); err != nil {
			return err
		}
		if _, err := io.WriteString(j, "\n"); err != nil {
			return err
		}
		return page.err
	})
}

func (b *builder) chats() error {
	err := b.s.content.ChatSessions(b.ctx, b.e.PracticeID, b.e.ClientID, func(ss []ChatSession) error {
		for _, cs := range ss {
			if err := b.chat(cs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("chats: %w", err)
	}
	return nil
}

func (b *builder) chat(cs ChatSession) error {
	base := b.names.unique(dirChats, SanitizeName(cs.ID, "chat"))
	return b.pair(dirChats+"/"+base+".json", dirChats+"/"+base+".html", cs.CreatedAt, func(j, h io.Writer) error {
		head, err := json.MarshalIndent(sessionJSON{
			SessionID: cs.ID, Title: cs.Title, CreatedAt: utc(cs.CreatedAt),
			ClientIDs: orEmpty(cs.ClientIDs), PractitionerIDs: orEmpty(cs.PractitionerIDs),
		}, "", "  ")
		if err != nil {
			return err
		}
		// {"sessionId":…,"practitionerIds":[…]} then "messages", streamed.
		head = bytes.TrimSuffix(head, []byte("\n}"))
		if _, err := j.Write(append(head, []byte(",\n  \"messages\": ")...)); err != nil {
			return err
		}
		title := cs.Title
		if title == "" {
			title = "Conversation " + cs.ID
		}
		page := &pageWriter{w: h}
		page.head(title, b.subtitle())
		arr := &arrayWriter{w: j, indent: "  "}
		err = b.s.content.ChatMessages(b.ctx, b.e.PracticeID, cs.ID, func(ms []ChatMessage) error {
			for _, m := range ms {
				if err := arr.add(messageJSON{ID: m.ID, Author: m.Author, CreatedAt: utc(m.CreatedAt), Body: m.Body}); err != nil {
					return err
				}
				page.message(m)
				b.counts.ChatMessages++
			}
			return page.err
		})
		if err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		if arr.n == 0 {
			page.empty("No messages.")
		}
		page.foot()
		if err := arr.close(); err != nil {
			return err
		}
		if _, err := io.WriteString(j, "\n}\n"); err != nil {
			return err
		}
		b.counts.ChatSessions++
		return page.err
	})
}

// folder is where a document goes: the client's uploads, or what a
// practitioner shared; "" for anything else (nothing else is exported).
func (b *builder) folder(d Document) string {
	switch {
	case d.Author.Role == identity.RoleClient && d.Author.ID == b.e.ClientID:
		return dirUploaded
	case d.Author.Role == identity.RolePractitioner:
		return dirShared
	}
	return ""
}

func (b *builder) documents() error {
	err := b.s.content.Documents(b.ctx, b.e.PracticeID, b.e.ClientID, func(ds []Document) error {
		for _, d := range ds {
			if err := b.document(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("documents: %w", err)
	}
	return nil
}

func (b *builder) document(d Document) error {
	folder := b.folder(d)
	if folder == "" {
		return nil
	}
	if len(d.ObjectKeys) == 0 || d.ObjectKeys[0] == "" {
		b.missing = append(b.missing, d.ID)
		return nil
	}
	// A document's keys are what its author wrote: a file outside the
	// client's folder is another's, whoever shared or uploaded it.
	if !erasure.InClientFolder(d.ObjectKeys[0], b.e.PracticeID, b.e.ClientID) {
		b.s.log().WarnContext(b.ctx, "document file outside the client's folder; left out of the export",
			"exportId", b.e.ID, "documentId", d.ID, "keyHash", erasure.KeyHash(d.ObjectKeys[0]))
		b.skipped = append(b.skipped, d.ID)
		return nil
	}
	f, err := b.s.files.OpenFile(b.ctx, d.ObjectKeys[0])
	if errors.Is(err, identity.ErrNotFound) {
		b.s.log().WarnContext(b.ctx, "document file not found; left out of the export", "exportId", b.e.ID, "documentId", d.ID)
		b.missing = append(b.missing, d.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open document %s: %w", d.ID, err)
	}
	defer f.Close()
	fallback := path.Base(d.ObjectKeys[0])
	if fallback == "." || fallback == "/" {
		fallback = "document-" + d.ID
	}
	name := b.names.unique(folder, SanitizeName(d.FileName, fallback))
	// Deflated, not stored: a stored entry written as a stream (its size
	// known only after it, in a data descriptor) is one that some readers,
	// Java's ZipInputStream among them, cannot read. Documents are mostly
	// compressed already (PDF, images), so the writer deflates at its
	// fastest level (see newZipWriter).
	w, err := b.create(folder+"/"+name, zip.Deflate, d.CreatedAt)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(w, only{f}, b.copyBuf); err != nil {
		return fmt.Errorf("copy document %s: %w", d.ID, err)
	}
	b.counts.Documents++
	return nil
}

func (b *builder) manifest() error {
	m, err := json.MarshalIndent(Manifest{
		ExportID: b.e.ID, ClientID: b.e.ClientID, PracticeID: b.e.PracticeID,
		GeneratedAt: b.at, Counts: b.counts, MissingDocuments: b.missing, SkippedDocuments: b.skipped,
	}, "", "  ")
	if err != nil {
		return err
	}
	w, err := b.create("manifest.json", zip.Deflate, b.at)
	if err != nil {
		return err
	}
	_, err = w.Write(append(m, '\n'))
	return err
}

// newZipWriter writes an archive to w, deflating every entry at the fastest
// level: the archive's bulk is documents that are compressed already, and
// the worker's time is better spent reading and uploading.
func newZipWriter(w io.Writer) *zip.Writer {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return zw
}
