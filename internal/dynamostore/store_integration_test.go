//go:build integration

package dynamostore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

var (
	_ porttest.Stores             = (*dynamostore.Store)(nil)
	_ porttest.NotificationReader = (*dynamostore.Store)(nil)
	_ porttest.Seeder             = (*seeder)(nil)
)

// TestStore_Contract runs the storage ports' contract, which the in-memory
// fake also passes, against the store on the emulator.
func TestStore_Contract(t *testing.T) {
	porttest.RunStoreContract(t, func(t *testing.T) (porttest.Stores, porttest.Seeder) {
		stack := emulatortest.Provision(t)
		s := dynamostore.New(stack.DynamoDB, stack.Table)
		return s, &seeder{t: t, s: s}
	})
}

// seeder writes the platform's records with the writers the store exports
// for other services, in the layout they share.
type seeder struct {
	t        *testing.T
	s        *dynamostore.Store
	messages int
}

// at is when seeded content was created; messages follow it a second apart.
var at = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func (sd *seeder) put(item any) {
	sd.t.Helper()
	if err := sd.s.Put(context.Background(), item); err != nil {
		sd.t.Fatalf("seed: %v", err)
	}
}

func (sd *seeder) AddPractice(p erasure.Practice) {
	sd.put(dynamostore.PracticeItem{PK: dynamostore.PracticePK(p.ID), SK: dynamostore.PracticeSK, Name: p.Name, OwnerID: p.OwnerID})
}

func (sd *seeder) AddPractitioner(practiceID string, p erasure.Practitioner) {
	sd.put(dynamostore.PractitionerItem{
		PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PractitionerSK(p.ID),
		ID: p.ID, Name: p.Name, Email: p.Email, TeamRole: identity.TeamMember,
	})
}

func (sd *seeder) AddClient(c erasure.Client) {
	sd.put(dynamostore.ClientItem{
		PK: dynamostore.ClientPK(c.PracticeID, c.ID), SK: dynamostore.ProfileSK,
		ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, PractitionerIDs: c.PractitionerIDs,
		PortalUserID: c.PortalUserID,
	})
}

func (sd *seeder) record(pk, sk, typ string, a erasure.Author, objects ...string) erasure.ItemKey {
	sd.t.Helper()
	sd.put(dynamostore.Record{
		PK: pk, SK: sk, Type: typ, AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: at,
		Title: typ, Body: "private text", ObjectKeys: objects,
	})
	return erasure.ItemKey{PK: pk, SK: sk}
}

func (sd *seeder) AddJournal(practiceID, clientID, id string, a erasure.Author) erasure.ItemKey {
	return sd.record(dynamostore.ClientPK(practiceID, clientID), dynamostore.JournalSK(id), "journal_entry", a)
}

func (sd *seeder) AddDocument(practiceID, clientID, id string, a erasure.Author, objects ...string) erasure.ItemKey {
	return sd.record(dynamostore.ClientPK(practiceID, clientID), dynamostore.DocumentSK(id), "document", a, objects...)
}

func (sd *seeder) AddChat(practiceID, sessionID string, clientIDs ...string) erasure.ItemKey {
	sd.t.Helper()
	err := sd.s.PutChat(context.Background(), practiceID, dynamostore.ChatSessionItem{
		SessionID: sessionID, ClientIDs: clientIDs, PractitionerIDs: []string{"p-a"}, CreatedAt: at,
	})
	if err != nil {
		sd.t.Fatalf("seed chat: %v", err)
	}
	return erasure.ItemKey{PK: dynamostore.ChatPK(practiceID, sessionID), SK: dynamostore.SessionSK}
}

func (sd *seeder) AddMessage(practiceID, sessionID, id string, a erasure.Author) erasure.ItemKey {
	sd.messages++
	sk := dynamostore.MessageSK(at.Add(time.Duration(sd.messages)*time.Second), id)
	return sd.record(dynamostore.ChatPK(practiceID, sessionID), sk, "chat_message", a)
}

func (sd *seeder) AddOther(pk, sk string) erasure.ItemKey {
	return sd.record(pk, sk, "practitioner_note", erasure.Author{Role: identity.RolePractitioner, ID: "p-a"})
}

// TestStore_Layout writes and reads items by the literal keys and
// attribute names that layout.go (and the README's "Data layout") promise
// the platform's other services, so that a change to the layout cannot
// pass unnoticed: the helpers are not used to build these keys.
func TestStore_Layout(t *testing.T) {
	ctx := context.Background()
	stack := emulatortest.Provision(t)
	db, table := stack.DynamoDB, stack.Table
	s := dynamostore.New(db, table)

	S := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	L := func(vs ...string) ddbtypes.AttributeValue {
		l := &ddbtypes.AttributeValueMemberL{}
		for _, v := range vs {
			l.Value = append(l.Value, S(v))
		}
		return l
	}
	put := func(item map[string]ddbtypes.AttributeValue) {
		t.Helper()
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatalf("put %v: %v", item["sk"], err)
		}
	}
	get := func(pk, sk string) map[string]ddbtypes.AttributeValue {
		t.Helper()
		res, err := db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &table, ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{"pk": S(pk), "sk": S(sk)},
		})
		if err != nil {
			t.Fatalf("get %s %s: %v", pk, sk, err)
		}
		return res.Item
	}
	str := func(item map[string]ddbtypes.AttributeValue, name string) string {
		if v, ok := item[name].(*ddbtypes.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	const (
		practicePK = "PRACTICE#pr-1"
		clientPK   = "PRACTICE#pr-1#CLIENT#c-1"
		chatPK     = "PRACTICE#pr-1#CHAT#s-1"
	)

	t.Run("Directory", func(t *testing.T) {
		put(map[string]ddbtypes.AttributeValue{"pk": S(practicePK), "sk": S("PRACTICE"), "name": S("Harbour Wellness"), "ownerId": S("p-owner")})
		put(map[string]ddbtypes.AttributeValue{"pk": S(practicePK), "sk": S("PRACTITIONER#p-owner"),
			"practitionerId": S("p-owner"), "name": S("Olu"), "email": S("olu@example.com"), "teamRole": S("owner")})
		put(map[string]ddbtypes.AttributeValue{"pk": S(clientPK), "sk": S("PROFILE"),
			"clientId": S("c-1"), "firstName": S("Ada"), "lastName": S("Lovelace"), "practitionerIds": L("p-owner")})

		p, err := s.GetPractice(ctx, "pr-1")
		must(err)
		if want := (erasure.Practice{ID: "pr-1", Name: "Harbour Wellness", OwnerID: "p-owner"}); p != want {
			t.Errorf("GetPractice: got %+v, want %+v", p, want)
		}
		ps, err := s.GetPractitioners(ctx, "pr-1", []string{"p-owner"})
		must(err)
		if want := []erasure.Practitioner{{ID: "p-owner", Name: "Olu", Email: "olu@example.com"}}; !slices.Equal(ps, want) {
			t.Errorf("GetPractitioners: got %+v, want %+v", ps, want)
		}
		c, err := s.GetClient(ctx, "pr-1", "c-1")
		must(err)
		if c.FirstName != "Ada" || c.LastName != "Lovelace" || !slices.Equal(c.PractitionerIDs, []string{"p-owner"}) {
			t.Errorf("GetClient: got %+v, want Ada Lovelace of p-owner", c)
		}
	})

	t.Run("Setting", func(t *testing.T) {
		updated := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
		must(s.PutSetting(ctx, erasure.Setting{PracticeID: "pr-1", Enabled: true, UpdatedAt: &updated, UpdatedBy: "p-owner"}))
		item := get(practicePK, "SETTING#RIGHT_TO_BE_FORGOTTEN")
		if b, ok := item["enabled"].(*ddbtypes.AttributeValueMemberBOOL); !ok || !b.Value || str(item, "updatedBy") != "p-owner" {
			t.Errorf("setting item: got %v, want enabled by p-owner", item)
		}
	})

	t.Run("Content", func(t *testing.T) {
		put(map[string]ddbtypes.AttributeValue{"pk": S(clientPK), "sk": S("JOURNAL#j-1"), "type": S("journal_entry"),
			"authorRole": S("client"), "authorId": S("c-1")})
		put(map[string]ddbtypes.AttributeValue{"pk": S(clientPK), "sk": S("DOCUMENT#d-1"), "type": S("document"),
			"authorRole": S("client"), "authorId": S("c-1"), "objectKeys": L("uploads/d-1.pdf", "uploads/d-1.png")})
		put(map[string]ddbtypes.AttributeValue{"pk": S(clientPK), "sk": S("CHAT#s-1"), "sessionId": S("s-1")})
		put(map[string]ddbtypes.AttributeValue{"pk": S(chatPK), "sk": S("SESSION"), "sessionId": S("s-1"), "clientIds": L("c-1")})
		put(map[string]ddbtypes.AttributeValue{"pk": S(chatPK), "sk": S("MESSAGE#2026-06-01T09:00:00.000000Z#m-1"),
			"authorRole": S("practitioner"), "authorId": S("p-owner")})
		client := erasure.Author{Role: "client", ID: "c-1"}

		var journal []erasure.JournalEntry
		must(s.JournalEntries(ctx, "pr-1", "c-1", func(p []erasure.JournalEntry) error { journal = append(journal, p...); return nil }))
		if want := []erasure.JournalEntry{{Key: erasure.ItemKey{PK: clientPK, SK: "JOURNAL#j-1"}, Author: client}}; !slices.Equal(journal, want) {
			t.Errorf("JournalEntries: got %+v, want %+v", journal, want)
		}
		var docs []erasure.Document
		must(s.Documents(ctx, "pr-1", "c-1", func(p []erasure.Document) error { docs = append(docs, p...); return nil }))
		if len(docs) != 1 || docs[0].Key != (erasure.ItemKey{PK: clientPK, SK: "DOCUMENT#d-1"}) || docs[0].Author != client ||
			!slices.Equal(docs[0].ObjectKeys, []string{"uploads/d-1.pdf", "uploads/d-1.png"}) {
			t.Errorf("Documents: got %+v, want DOCUMENT#d-1 with its two objects", docs)
		}
		var refs []erasure.ChatRef
		must(s.ChatRefs(ctx, "pr-1", "c-1", "", func(p []erasure.ChatRef) error { refs = append(refs, p...); return nil }))
		if want := []erasure.ChatRef{{Key: erasure.ItemKey{PK: clientPK, SK: "CHAT#s-1"}, SessionID: "s-1"}}; !slices.Equal(refs, want) {
			t.Errorf("ChatRefs: got %+v, want %+v", refs, want)
		}
		sessions, err := s.ChatSessions(ctx, "pr-1", []string{"s-1"})
		must(err)
		if sess := sessions["s-1"]; len(sessions) != 1 || sess.Key != (erasure.ItemKey{PK: chatPK, SK: "SESSION"}) || sess.ID != "s-1" || !slices.Equal(sess.ClientIDs, []string{"c-1"}) {
			t.Errorf("ChatSessions: got %+v, want s-1 of c-1", sessions)
		}
		var msgs []erasure.ChatMessage
		must(s.ChatMessages(ctx, "pr-1", "s-1", func(p []erasure.ChatMessage) error { msgs = append(msgs, p...); return nil }))
		want := []erasure.ChatMessage{{
			Key:    erasure.ItemKey{PK: chatPK, SK: "MESSAGE#2026-06-01T09:00:00.000000Z#m-1"},
			Author: erasure.Author{Role: "practitioner", ID: "p-owner"},
		}}
		if !slices.Equal(msgs, want) {
			t.Errorf("ChatMessages: got %+v, want %+v", msgs, want)
		}
		// The exported helpers build the same keys.
		for _, k := range [][2]string{
			{dynamostore.ClientPK("pr-1", "c-1"), clientPK},
			{dynamostore.ChatPK("pr-1", "s-1"), chatPK},
			{dynamostore.MessageSK(time.Date(2026, 6, 1, 11, 0, 0, 0, time.FixedZone("", 2*60*60)), "m-1"), "MESSAGE#2026-06-01T09:00:00.000000Z#m-1"},
		} {
			if k[0] != k[1] {
				t.Errorf("helper key: got %s, want %s", k[0], k[1])
			}
		}
	})

	t.Run("Requests", func(t *testing.T) {
		at := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
		r := erasure.Request{ID: "rq-1", PracticeID: "pr-1", ClientID: "c-2", RequestedBy: "sub-c-2",
			Status: erasure.StatusAccepting, RequestedAt: at, PurgeAt: at.Add(30 * 24 * time.Hour), ScheduleName: "rtbf-purge-rq-1"}
		must(s.CreateRequest(ctx, r))
		item := get("DELETION#rq-1", "REQUEST")
		if str(item, "requestId") != "rq-1" || str(item, "status") != "accepting" ||
			str(item, "pendingPk") != "PENDING" || str(item, "pendingSk") != "2030-04-03T10:00:00.000000Z#rq-1" {
			t.Errorf("request item: got %v, want rq-1 accepting, in the pending index at its purge time", item)
		}
		if a := get("PRACTICE#pr-1#CLIENT#c-2", "DELETION#ACTIVE"); str(a, "requestId") != "rq-1" {
			t.Errorf("active pointer: got %v, want requestId rq-1", a)
		}

		// A portal closed by the platform's own writer is honoured.
		put(map[string]ddbtypes.AttributeValue{"pk": S("PRACTICE#pr-1#CLIENT#c-3"), "sk": S("PORTAL#CLOSED"), "requestId": S("rq-0")})
		closed, err := s.PortalClosed(ctx, "pr-1", "c-3")
		must(err)
		if !closed {
			t.Errorf("PortalClosed: got false, want true")
		}
		r3 := r
		r3.ID, r3.ClientID = "rq-3", "c-3"
		if err := s.CreateRequest(ctx, r3); !errors.Is(err, identity.ErrConditionFailed) {
			t.Errorf("CreateRequest for a closed portal: got %v, want %v", err, identity.ErrConditionFailed)
		}
		must(s.ClosePortal(ctx, "pr-1", "c-2", "rq-1", at))
		if c := get("PRACTICE#pr-1#CLIENT#c-2", "PORTAL#CLOSED"); str(c, "requestId") != "rq-1" {
			t.Errorf("portal-closed marker: got %v, want requestId rq-1", c)
		}
	})

	t.Run("Notifications", func(t *testing.T) {
		at := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
		must(s.PutNotification(ctx, erasure.Notification{PractitionerID: "p-owner", PracticeID: "pr-1", ID: "rq-1-requested",
			Kind: erasure.NoticeDeletionRequested, RequestID: "rq-1", ClientID: "c-2", CreatedAt: at, PurgeAt: at}))
		const pk = "PRACTICE#pr-1#PRACTITIONER#p-owner"
		if n := get(pk, "NOTIFICATION#rq-1-requested"); str(n, "notificationId") != "rq-1-requested" || str(n, "kind") != erasure.NoticeDeletionRequested ||
			str(n, "inboxPk") != pk || str(n, "inboxSk") != "2030-03-04T10:00:00.000000Z#rq-1-requested" {
			t.Errorf("notification item: got %v, want rq-1-requested in the inbox index", n)
		}
	})
}

// A practitioner item is someone's only when it names them: an item with
// the right key and no (or another) practitionerId, such as a function
// allowed only to write the practice's setting could make, makes nobody a
// member.
func TestStore_MemberNeedsItsName(t *testing.T) {
	stack := emulatortest.Provision(t)
	s := dynamostore.New(stack.DynamoDB, stack.Table)
	x := dynamostore.NewExports(stack.DynamoDB, stack.Table)
	ctx := context.Background()
	pk := dynamostore.PracticePK("pr-1")
	for _, it := range []any{
		dynamostore.PracticeItem{PK: pk, SK: dynamostore.PracticeSK, OwnerID: "p-bare"},
		dynamostore.PractitionerItem{PK: pk, SK: dynamostore.PractitionerSK("p-bare")},
		dynamostore.PractitionerItem{PK: pk, SK: dynamostore.PractitionerSK("p-other"), ID: "p-bare"},
		dynamostore.PractitionerItem{PK: pk, SK: dynamostore.PractitionerSK("p-real"), ID: "p-real"},
	} {
		if err := s.Put(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	for sub, want := range map[string]bool{"p-bare": false, "p-other": false, "p-real": true} {
		_, err := s.Member(ctx, "pr-1", sub)
		if got := err == nil; got != want || (err != nil && !errors.Is(err, identity.ErrNotFound)) {
			t.Errorf("Member(%s): got %v, want member %v", sub, err, want)
		}
		_, _, err = s.GetSettingAs(ctx, "pr-1", sub)
		if got := err == nil; got != want {
			t.Errorf("GetSettingAs(%s): got %v, want member %v", sub, err, want)
		}
		g, err := x.ExportAccess(ctx, "pr-1", sub, "cl-1")
		if err != nil || g.Member != want {
			t.Errorf("ExportAccess(%s): got %+v, %v; want member %v", sub, g, err, want)
		}
	}
}
