package localstack

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Demo is the seeded practice and the claims of its people.
type Demo struct {
	PracticeID string
	OwnerID    string
	MemberID   string
	Clients    []string
	// Personal is every personal value the seed wrote: names, addresses,
	// the practice's name, titles, bodies, messages and file names. No log
	// line may hold one (infra/local's integration suite checks).
	Personal []string
}

// OwnerClaims, MemberClaims and ClientClaims are the claims, per the API's
// claims contract, of the practice's owner, member and a client.
func (d Demo) OwnerClaims() map[string]any  { return d.practitioner(d.OwnerID, identity.TeamOwner) }
func (d Demo) MemberClaims() map[string]any { return d.practitioner(d.MemberID, identity.TeamMember) }

func (d Demo) practitioner(sub, team string) map[string]any {
	return map[string]any{"sub": sub, "custom:role": identity.RolePractitioner, "custom:practice_id": d.PracticeID, "custom:team_role": team}
}

func (d Demo) ClientClaims(clientID string) map[string]any {
	return map[string]any{"sub": clientID + "-sub", "custom:role": identity.RoleClient, "custom:practice_id": d.PracticeID, "custom:client_id": clientID}
}

// Seed writes the demo practice: an owner and a member; cl-ava, assigned to
// the member, with journal entries, uploaded and shared documents (objects
// in the bucket), a direct chat, a group chat with cl-ben, a note and an
// invoice; and cl-ben. Writing it again overwrites the same items.
func (s *Stack) Seed(ctx context.Context, practiceID string) (Demo, error) {
	d := Demo{PracticeID: practiceID, OwnerID: "pr-owner", MemberID: "pr-member", Clients: []string{"cl-ava", "cl-ben"}}
	store := dynamostore.New(s.DynamoDB, s.Table)
	w := &writer{ctx: ctx, s: s, store: store}
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	domain := practiceID + ".example.com"

	w.put(dynamostore.PracticeItem{PK: dynamostore.PracticePK(practiceID), SK: "PRACTICE", Name: "Harbour Wellness", OwnerID: d.OwnerID})
	w.personal("Harbour Wellness")
	for _, p := range []struct{ id, name, role string }{
		{d.OwnerID, "Nora Quill", identity.TeamOwner},
		{d.MemberID, "Sam Ortega", identity.TeamMember},
	} {
		email := strings.TrimPrefix(p.id, "pr-") + "@" + domain
		w.put(dynamostore.PractitionerItem{
			PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PractitionerSK(p.id),
			ID: p.id, Name: p.name, Email: email, TeamRole: p.role,
		})
		w.personal(p.name, email)
		w.personal(strings.Fields(p.name)...)
	}
	for _, c := range []struct{ id, first, last string }{{"cl-ava", "Ava", "Lin"}, {"cl-ben", "Ben", "Okafor"}} {
		email := c.id + "@clients.example.com"
		w.put(dynamostore.ClientItem{
			PK: dynamostore.ClientPK(practiceID, c.id), SK: "PROFILE", ID: c.id, FirstName: c.first, LastName: c.last,
			Email: email, PractitionerIDs: []string{d.MemberID},
			// The sub of the client's portal user (ClientClaims).
			PortalUserID: c.id + "-sub",
		})
		w.personal(c.first, c.last, c.first+" "+c.last, email)
	}

	ava := erasure.Author{Role: identity.RoleClient, ID: "cl-ava"}
	ben := erasure.Author{Role: identity.RoleClient, ID: "cl-ben"}
	member := erasure.Author{Role: identity.RolePractitioner, ID: d.MemberID}
	avaPK := dynamostore.ClientPK(practiceID, "cl-ava")
	for i := range 3 {
		w.record(avaPK, dynamostore.JournalSK(fmt.Sprintf("ava-j%d", i)), "journal_entry", ava, at.Add(time.Duration(i)*24*time.Hour))
	}
	w.record(avaPK, dynamostore.JournalSK("ava-jp"), "journal_entry", member, at)
	for i := range 2 {
		w.record(avaPK, dynamostore.DocumentSK(fmt.Sprintf("ava-d%d", i)), "document", ava, at,
			fmt.Sprintf("practices/%s/clients/cl-ava/uploads/d%d.pdf", practiceID, i),
			fmt.Sprintf("practices/%s/clients/cl-ava/uploads/d%d-preview.png", practiceID, i))
	}
	w.record(avaPK, dynamostore.DocumentSK("ava-shared"), "document", member, at, fmt.Sprintf("practices/%s/clients/cl-ava/shared/plan.pdf", practiceID))
	w.record(avaPK, "NOTE#ava-n1", "practitioner_note", member, at)
	w.record(avaPK, "INVOICE#ava-i1", "invoice", member, at)
	w.record(dynamostore.ClientPK(practiceID, "cl-ben"), dynamostore.JournalSK("ben-j0"), "journal_entry", ben, at)

	w.chat(practiceID, dynamostore.ChatSessionItem{SessionID: "ava-direct", Title: "Ava and her practitioner", ClientIDs: []string{"cl-ava"}, PractitionerIDs: []string{d.MemberID}, CreatedAt: at},
		at, ava, member, ava, member)
	w.chat(practiceID, dynamostore.ChatSessionItem{SessionID: "ava-ben-group", Title: "Group programme", ClientIDs: []string{"cl-ava", "cl-ben"}, PractitionerIDs: []string{d.MemberID}, CreatedAt: at},
		at, ava, ben, member, ava)
	d.Personal = w.values
	return d, w.err
}

// writer keeps the first error, so the seed reads as a list of items, and
// the personal values it wrote.
type writer struct {
	ctx    context.Context
	s      *Stack
	store  *dynamostore.Store
	err    error
	values []string
}

func (w *writer) personal(v ...string) {
	for _, s := range v {
		if s != "" && !slices.Contains(w.values, s) {
			w.values = append(w.values, s)
		}
	}
}

func (w *writer) put(item any) {
	if w.err == nil {
		w.err = w.store.Put(w.ctx, item)
	}
}

func (w *writer) record(pk, sk, typ string, a erasure.Author, at time.Time, objects ...string) {
	r := dynamostore.Record{PK: pk, SK: sk, Type: typ, AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: at,
		Title: "demo " + strings.ReplaceAll(typ, "_", " "), Body: "demo " + typ + " text", ObjectKeys: objects}
	if len(objects) > 0 {
		r.FileName = objects[0][strings.LastIndex(objects[0], "/")+1:]
	}
	w.put(r)
	w.personal(r.Title, r.Body, r.FileName)
	for _, o := range objects {
		if w.err == nil {
			_, w.err = w.s.S3.PutObject(w.ctx, &s3.PutObjectInput{Bucket: &w.s.Bucket, Key: aws.String(o), Body: strings.NewReader("demo content of " + o)})
		}
	}
}

func (w *writer) chat(practiceID string, c dynamostore.ChatSessionItem, at time.Time, authors ...erasure.Author) {
	if w.err == nil {
		w.err = w.store.PutChat(w.ctx, practiceID, c)
	}
	w.personal(c.Title)
	for i, a := range authors {
		t := at.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("%s-m%d", c.SessionID, i)
		body := "demo message " + id
		w.put(dynamostore.Record{PK: dynamostore.ChatPK(practiceID, c.SessionID), SK: dynamostore.MessageSK(t, id),
			Type: "chat_message", AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: t, Body: body})
		w.personal(body)
	}
}
