//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// TestPurge_PoisonKeys: beside a seeded client's whole file, four of the
// client's documents each hold a good object and a key no purge can
// delete: an empty one, one over 1,024 bytes, one with a character XML 1.0
// cannot carry (S3 would refuse the whole DeleteObjects for it) and one S3
// refuses with AccessDenied on every call. The purge deletes everything
// else, chats included, and ends needs_attention with the four recorded;
// the daily sweep completes it once support has fixed the pointers, and
// the client's receipt goes out once.
func TestPurge_PoisonKeys(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ava := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "cl-ben")
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	folder := erasure.ClientFolder(e.practice.ID, "cl-ava")
	refused := folder + "uploads/locked.pdf"
	poison := map[string]string{
		"empty":    "",
		"too-long": folder + strings.Repeat("x", 1100),
		"not-xml":  folder + "uploads/bad\x01name.pdf",
		"refused":  refused,
	}
	names := []string{"empty", "too-long", "not-xml", "refused"}
	pk := dynamostore.ClientPK(e.practice.ID, "cl-ava")
	var held []erasure.ItemKey
	var good []string
	putDoc := func(name string, keys ...string) {
		t.Helper()
		k := erasure.ItemKey{PK: pk, SK: dynamostore.DocumentSK("cl-ava-held-" + name)}
		if err := e.store.Put(ctx, dynamostore.Record{PK: k.PK, SK: k.SK, Type: "document", AuthorRole: identity.RoleClient, AuthorID: "cl-ava",
			CreatedAt: time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC), Title: "held " + name, FileName: name + ".pdf", ObjectKeys: keys}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		g := folder + "uploads/held-" + name + ".pdf"
		putDoc(name, g, poison[name])
		held = append(held, erasure.ItemKey{PK: pk, SK: dynamostore.DocumentSK("cl-ava-held-" + name)})
		good = append(good, g)
	}
	for _, o := range append(slices.Clone(good), refused) {
		if _, err := e.st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &e.st.Bucket, Key: aws.String(o), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	r, input := e.request(t, "cl-ava")

	// The function, with S3 refusing the locked object for good.
	partial := emulatortest.NewPartial(1)
	partial.MaxHeld = 0 // no transient errors here: robust_integration_test has those
	partial.Refuse = map[string]bool{refused: true}
	h, err := build(ctx, slog.New(slog.DiscardHandler), emulatortest.Through(partial))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(ctx, input)
	if err != nil || res.Status != erasure.StatusNeedsAttention {
		t.Fatalf("purge: got %+v, %v; want needs_attention and no error (nothing to retry)", res, err)
	}
	got, err := e.store.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range names {
		want = append(want, erasure.SkippedKey(poison[name]))
	}
	if !sameSet(got.UnresolvedObjects, want) || len(got.UnresolvedObjects) != len(want) {
		t.Errorf("unresolved: got %q, want %q", got.UnresolvedObjects, want)
	}
	if want := ava.Counts; got.Deleted != want {
		t.Errorf("deleted: got %+v, want the seeded file's %+v (the held documents not counted)", got.Deleted, want)
	}
	snap := emulatortest.TakeSnapshot(t, e.st)
	for _, k := range ava.Gone {
		if _, ok := snap[k]; ok {
			t.Errorf("item %v: still there", k)
		}
	}
	for _, k := range held {
		if _, ok := snap[k]; !ok {
			t.Errorf("held document %v: gone, want kept while its key is unresolved", k)
		}
	}
	current := func(o string) bool {
		_, err := e.st.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &e.st.Bucket, Key: aws.String(o)})
		return err == nil
	}
	for _, o := range append(slices.Clone(ava.GoneObjects), good...) {
		if current(o) {
			t.Errorf("object %s: still current", o)
		}
	}
	if !current(refused) {
		t.Errorf("refused object: gone, want it left by the refusal")
	}
	// The keys are on the item for operators.
	requestKey := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: dynamostore.RequestPK(r.ID)}, "sk": &ddbtypes.AttributeValueMemberS{Value: "REQUEST"}}
	item, err := e.st.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.st.Table, Key: requestKey})
	if err != nil {
		t.Fatal(err)
	}
	if ss, _ := item.Item["unresolvedObjectKeys"].(*ddbtypes.AttributeValueMemberSS); ss == nil || len(ss.Value) != len(want) {
		t.Errorf("unresolvedObjectKeys: got %v, want a string set of %d", item.Item["unresolvedObjectKeys"], len(want))
	}
	// The ledger has the needs_attention record: how many, never which.
	aside := ledgerRecord(t, e, r.ID, evidence.OutcomeNeedsAttention, append(slices.Clone(want), refused))
	if aside.UnresolvedObjects != len(want) || aside.SetAsideAt == nil || !aside.SetAsideAt.Equal(*got.SetAsideAt) || aside.Deleted != evidence.Counts(ava.Counts) {
		t.Errorf("needs_attention record: got %+v, want %d unresolved, set aside at %v", aside, len(want), got.SetAsideAt)
	}

	// A day on, support has fixed the pointers and the lock is gone: the
	// sweep completes the request, and a second sweep sends nothing more.
	for _, name := range names {
		if name == "refused" {
			continue
		}
		putDoc(name, folder+"uploads/held-"+name+".pdf")
	}
	partial.Refuse = nil
	dayAgo, err := json.Marshal(time.Now().Add(-25 * time.Hour).UTC())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &e.st.Table, Key: requestKey,
		UpdateExpression:          aws.String("SET setAsideAt = :t"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": &ddbtypes.AttributeValueMemberS{Value: strings.Trim(string(dayAgo), `"`)}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.Handle(ctx, json.RawMessage(`{"sweep":true}`)); err != nil {
			t.Fatalf("sweep: %v", err)
		}
	}
	done, err := e.store.GetRequest(ctx, r.ID)
	if err != nil || done.Status != erasure.StatusCompleted || len(done.UnresolvedObjects) != 0 || len(done.Owed) != 0 {
		t.Fatalf("after the fix: got %+v, %v; want completed, nothing unresolved or owed", done, err)
	}
	if want := ava.Counts.Add(erasure.Counts{Documents: len(held)}); done.Deleted != want {
		t.Errorf("deleted: got %+v, want %+v", done.Deleted, want)
	}
	if fin := ledgerRecord(t, e, r.ID, evidence.OutcomeCompleted, want); fin.Deleted != evidence.Counts(done.Deleted) || fin.UnresolvedObjects != 0 ||
		!fin.CompletedAt.Equal(*done.CompletedAt) || fin.Invocations != done.Invocations {
		t.Errorf("completed record: got %+v, want the receipt of %+v", fin, done)
	}
	if l := emulatortest.Ledger(t, e.st); len(l) != 2 {
		t.Errorf("ledger: got %v, want the needs_attention and the completed records, one version each", ledgerKeys(l))
	}
	snap = emulatortest.TakeSnapshot(t, e.st)
	for _, k := range held {
		if _, ok := snap[k]; ok {
			t.Errorf("held document %v: still there after the fix", k)
		}
	}
	if current(refused) {
		t.Errorf("refused object: still current after the lock went")
	}
	var receipts int
	for _, m := range emulatortest.SentEmails(t, e.st.Sender) {
		if slices.Contains(m.Destinations, ava.Email) && strings.Contains(m.RawData, "was deleted") {
			receipts++
		}
	}
	if receipts != 1 {
		t.Errorf("receipts to the client: got %d, want 1", receipts)
	}
}

// ledgerRecord reads the one version of the request's record of outcome,
// verifies it with the stack's key and checks it names none of keys (nor
// their SkippedKey forms).
func ledgerRecord(t *testing.T, e *env, id string, o evidence.Outcome, keys []string) evidence.Record {
	t.Helper()
	vs := emulatortest.Ledger(t, e.st)[evidence.Key(id, o)]
	if len(vs) != 1 {
		t.Fatalf("ledger: got %d versions of the %s record, want 1", len(vs), o)
	}
	c, err := evidence.DecodeCertificate(vs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := emulatortest.TrustedKey(t, e.st)
	rec, err := evidence.Verify(c, trusted)
	if err != nil {
		t.Fatalf("%s record: %v", o, err)
	}
	for _, k := range keys {
		if k != "" && (bytes.Contains(c.Record, []byte(k)) || bytes.Contains(c.Record, []byte(erasure.SkippedKey(k)))) {
			t.Errorf("%s record: holds the object key %q", o, k)
		}
	}
	return rec
}
