package emulatortest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Practice is a seeded practice: an owner, an assigned member, an
// unassigned assistant, and the clients whose files tests purge.
type Practice struct {
	ID          string
	OwnerID     string
	MemberID    string
	AssistantID string
	Emails      map[string]string // practitioner id -> email
	// Content is every text of the practice's records that is not an id:
	// its name, the practitioners' names and emails.
	Content []string
}

// ClientFile is one seeded client's file, split into what a purge of that
// client must delete and what must stay.
type ClientFile struct {
	ClientID    string
	Email       string // on the client's profile
	Gone        []erasure.ItemKey
	GoneObjects []string
	Counts      erasure.Counts // what the purge deletes
	// Content is every text seeded in the client's file that is not an
	// id: the client's names and email, and every title, body, file name
	// and object key of their records (what no erasure record may hold).
	Content []string
}

// SeedPractice writes a practice with three practitioners.
func SeedPractice(t testing.TB, st *Stack, store *dynamostore.Store, practiceID string) Practice {
	t.Helper()
	ctx := context.Background()
	p := Practice{
		ID: practiceID, OwnerID: "pr-owner", MemberID: "pr-member", AssistantID: "pr-assistant",
		Emails: map[string]string{
			"pr-owner":     "owner@" + practiceID + ".example.com",
			"pr-member":    "member@" + practiceID + ".example.com",
			"pr-assistant": "assistant@" + practiceID + ".example.com",
		},
	}
	must(t, store.Put(ctx, dynamostore.PracticeItem{PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PracticeSK, Name: "Harbour Wellness", OwnerID: p.OwnerID}))
	p.Content = append(p.Content, "Harbour Wellness")
	for id, role := range map[string]string{p.OwnerID: "owner", p.MemberID: "member", p.AssistantID: "member"} {
		must(t, store.Put(ctx, dynamostore.PractitionerItem{
			PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PractitionerSK(id),
			ID: id, Name: strings.TrimPrefix(id, "pr-"), Email: p.Emails[id], TeamRole: role,
		}))
		p.Content = append(p.Content, strings.TrimPrefix(id, "pr-"), p.Emails[id])
	}
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// SeedClient writes a client's whole file: content the client created (to
// go) and content that must stay (the practitioner's journal entry and
// shared document, notes, appointments, invoices, the profile), a direct
// chat with the member and, when groupWith is set, a group chat with that
// other client. Every document's objects are put in the bucket.
func SeedClient(t testing.TB, st *Stack, store *dynamostore.Store, p Practice, clientID, firstName, lastName string, groupWith string) ClientFile {
	t.Helper()
	ctx := context.Background()
	pk := dynamostore.ClientPK(p.ID, clientID)
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	f := ClientFile{ClientID: clientID, Email: clientID + "@clients.example.com"}
	f.Content = append(f.Content, firstName, lastName, f.Email)
	client := erasure.Author{Role: identity.RoleClient, ID: clientID}
	member := erasure.Author{Role: identity.RolePractitioner, ID: p.MemberID}

	must(t, store.Put(ctx, dynamostore.ClientItem{
		PK: pk, SK: dynamostore.ProfileSK, ID: clientID, FirstName: firstName, LastName: lastName,
		Email: f.Email, PractitionerIDs: []string{p.MemberID}, PortalUserID: clientID + "-sub",
	}))
	record := func(sk, typ string, a erasure.Author, objects ...string) erasure.ItemKey {
		r := dynamostore.Record{PK: pk, SK: sk, Type: typ, AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: at,
			Title: typ + " " + sk, Body: "private " + typ + " text", ObjectKeys: objects}
		if len(objects) > 0 {
			r.FileName = sk + ".pdf"
		}
		must(t, store.Put(ctx, r))
		f.Content = append(f.Content, r.Title, r.Body)
		if r.FileName != "" {
			f.Content = append(f.Content, r.FileName)
		}
		f.Content = append(f.Content, objects...)
		for _, o := range objects {
			_, err := st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: aws.String(o), Body: strings.NewReader("content of " + o)})
			must(t, err)
		}
		return erasure.ItemKey{PK: pk, SK: sk}
	}
	for i := range 3 {
		f.Gone = append(f.Gone, record(dynamostore.JournalSK(fmt.Sprintf("%s-j%d", clientID, i)), "journal_entry", client))
		f.Counts.JournalEntries++
	}
	record(dynamostore.JournalSK(clientID+"-jp"), "journal_entry", member)
	for i := range 2 {
		objs := []string{
			fmt.Sprintf("practices/%s/clients/%s/uploads/d%d.pdf", p.ID, clientID, i),
			fmt.Sprintf("practices/%s/clients/%s/uploads/d%d-preview.png", p.ID, clientID, i),
		}
		f.Gone = append(f.Gone, record(dynamostore.DocumentSK(fmt.Sprintf("%s-d%d", clientID, i)), "document", client, objs...))
		f.GoneObjects = append(f.GoneObjects, objs...)
		f.Counts.Documents++
	}
	record(dynamostore.DocumentSK(clientID+"-shared"), "document", member, fmt.Sprintf("practices/%s/clients/%s/shared/plan.pdf", p.ID, clientID))
	record("NOTE#"+clientID+"-n1", "practitioner_note", member)
	record("APPOINTMENT#"+clientID+"-a1", "appointment", member)
	record("INVOICE#"+clientID+"-i1", "invoice", member)

	// The client's own conversation with their practitioner goes whole.
	direct := clientID + "-direct"
	must(t, store.PutChat(ctx, p.ID, dynamostore.ChatSessionItem{SessionID: direct, ClientIDs: []string{clientID}, PractitionerIDs: []string{p.MemberID}, CreatedAt: at}))
	f.Gone = append(f.Gone,
		erasure.ItemKey{PK: dynamostore.ChatPK(p.ID, direct), SK: dynamostore.SessionSK},
		erasure.ItemKey{PK: pk, SK: dynamostore.ChatRefSK(direct)})
	f.Counts.ChatSessions++
	for i, a := range []erasure.Author{client, member, client, member} {
		f.Gone = append(f.Gone, message(t, store, p.ID, direct, fmt.Sprintf("m%d", i), at.Add(time.Duration(i)*time.Minute), a))
		f.Counts.ChatMessages++
		f.Content = append(f.Content, messageBody(fmt.Sprintf("m%d", i)))
	}
	if groupWith != "" {
		group := clientID + "-group-" + groupWith
		must(t, store.PutChat(ctx, p.ID, dynamostore.ChatSessionItem{SessionID: group, ClientIDs: []string{clientID, groupWith}, PractitionerIDs: []string{p.MemberID}, CreatedAt: at}))
		other := erasure.Author{Role: identity.RoleClient, ID: groupWith}
		for i, a := range []erasure.Author{client, other, member, client} {
			k := message(t, store, p.ID, group, fmt.Sprintf("g%d", i), at.Add(time.Duration(i)*time.Minute), a)
			f.Content = append(f.Content, messageBody(fmt.Sprintf("g%d", i)))
			if a == client {
				f.Gone = append(f.Gone, k)
				f.Counts.ChatMessages++
			}
		}
	}
	return f
}

func message(t testing.TB, store *dynamostore.Store, practiceID, sessionID, id string, at time.Time, a erasure.Author) erasure.ItemKey {
	t.Helper()
	k := erasure.ItemKey{PK: dynamostore.ChatPK(practiceID, sessionID), SK: dynamostore.MessageSK(at, id)}
	must(t, store.Put(context.Background(), dynamostore.Record{
		PK: k.PK, SK: k.SK, Type: "chat_message", AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: at, Body: messageBody(id),
	}))
	return k
}

func messageBody(id string) string { return "message " + id }

// Snapshot is every item of the table, by key, as stored.
type Snapshot map[erasure.ItemKey]map[string]ddbtypes.AttributeValue

// TakeSnapshot scans the whole table (a test may; the service never does).
func TakeSnapshot(t testing.TB, st *Stack) Snapshot {
	t.Helper()
	out := Snapshot{}
	p := dynamodb.NewScanPaginator(st.DynamoDB, &dynamodb.ScanInput{TableName: &st.Table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		must(t, err)
		for _, item := range page.Items {
			pk := item["pk"].(*ddbtypes.AttributeValueMemberS).Value
			sk := item["sk"].(*ddbtypes.AttributeValueMemberS).Value
			out[erasure.ItemKey{PK: pk, SK: sk}] = item
		}
	}
	return out
}

// Objects lists the bucket's current objects with their content.
func Objects(t testing.TB, st *Stack) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(st.S3, &s3.ListObjectsV2Input{Bucket: &st.Bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		must(t, err)
		for _, o := range page.Contents {
			res, err := st.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.Bucket, Key: o.Key})
			must(t, err)
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			must(t, err)
			out[aws.ToString(o.Key)] = string(b)
		}
	}
	return out
}
