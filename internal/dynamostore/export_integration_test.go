//go:build integration

package dynamostore_test

import (
	"context"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

var (
	_ porttest.ExportStores = (*dynamostore.Exports)(nil)
	_ porttest.ExportSeeder = (*exportSeeder)(nil)
)

// TestExports_Contract runs the export ports' contract, which the
// in-memory fake also passes, against the table on the emulator, with
// pages of two items so that every reader pages.
func TestExports_Contract(t *testing.T) {
	porttest.RunExportContract(t, func(t *testing.T) (porttest.ExportStores, porttest.ExportSeeder) {
		stack := emulatortest.Provision(t)
		x := dynamostore.NewExports(stack.DynamoDB, stack.Table)
		x.PageSize = 2
		return x, &exportSeeder{t: t, s: dynamostore.New(stack.DynamoDB, stack.Table)}
	})
}

// exportSeeder writes the client's file with the writers the store
// exports for the platform's other services, in the layout they share.
type exportSeeder struct {
	t *testing.T
	s *dynamostore.Store
}

func (sd *exportSeeder) put(item any) {
	sd.t.Helper()
	if err := sd.s.Put(context.Background(), item); err != nil {
		sd.t.Fatalf("seed: %v", err)
	}
}

func (sd *exportSeeder) AddPractitioner(practiceID, sub string, owner bool) {
	pk := dynamostore.PracticePK(practiceID)
	sd.put(dynamostore.PractitionerItem{PK: pk, SK: dynamostore.PractitionerSK(sub), ID: sub, Name: "N", Email: sub + "@example.test"})
	if owner {
		sd.put(dynamostore.PracticeItem{PK: pk, SK: dynamostore.PracticeSK, Name: "P", OwnerID: sub})
	}
}

func (sd *exportSeeder) AddClient(practiceID, clientID string) {
	sd.put(dynamostore.ClientItem{PK: dynamostore.ClientPK(practiceID, clientID), SK: dynamostore.ProfileSK, ID: clientID, FirstName: "F", LastName: "L"})
}

func (sd *exportSeeder) AddJournalEntry(practiceID, clientID string, e export.JournalEntry) {
	sd.put(dynamostore.Record{PK: dynamostore.ClientPK(practiceID, clientID), SK: dynamostore.JournalSK(e.ID), Type: "journal_entry",
		AuthorRole: e.Author.Role, AuthorID: e.Author.ID, CreatedAt: e.CreatedAt, Title: e.Title, Body: e.Body})
}

func (sd *exportSeeder) AddDocument(practiceID, clientID string, d export.Document) {
	sd.put(dynamostore.Record{PK: dynamostore.ClientPK(practiceID, clientID), SK: dynamostore.DocumentSK(d.ID), Type: "document",
		AuthorRole: d.Author.Role, AuthorID: d.Author.ID, CreatedAt: d.CreatedAt, Title: d.Title, FileName: d.FileName, ObjectKeys: d.ObjectKeys})
}

func (sd *exportSeeder) AddChatSession(practiceID string, s export.ChatSession) {
	sd.t.Helper()
	err := sd.s.PutChat(context.Background(), practiceID, dynamostore.ChatSessionItem{
		SessionID: s.ID, Title: s.Title, ClientIDs: s.ClientIDs, PractitionerIDs: s.PractitionerIDs, CreatedAt: s.CreatedAt,
	})
	if err != nil {
		sd.t.Fatalf("seed chat: %v", err)
	}
}

func (sd *exportSeeder) AddChatMessage(practiceID, sessionID string, m export.ChatMessage) {
	sd.put(dynamostore.Record{PK: dynamostore.ChatPK(practiceID, sessionID), SK: dynamostore.MessageSK(m.CreatedAt, m.ID), Type: "chat_message",
		AuthorRole: m.Author.Role, AuthorID: m.Author.ID, CreatedAt: m.CreatedAt, Body: m.Body})
}

func (sd *exportSeeder) AddNote(practiceID, clientID, id string) {
	sd.put(dynamostore.Record{PK: dynamostore.ClientPK(practiceID, clientID), SK: "NOTE#" + id, Type: "practitioner_note",
		AuthorRole: "practitioner", AuthorID: "p-m", Title: "note", Body: "private note"})
}
