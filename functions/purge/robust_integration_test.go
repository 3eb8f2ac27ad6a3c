//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
)

// grow adds to a seeded client file enough for several batches of each
// kind: n journal entries and n documents (two objects each) by the client,
// one in five as many by the member, and n more messages in the client's
// direct chat.
func grow(t *testing.T, e *env, f *emulatortest.ClientFile, n int) {
	t.Helper()
	ctx := context.Background()
	id := f.ClientID
	pk := dynamostore.ClientPK(e.practice.ID, id)
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	client := erasure.Author{Role: identity.RoleClient, ID: id}
	member := erasure.Author{Role: identity.RolePractitioner, ID: e.practice.MemberID}
	put := func(pk, sk, typ string, a erasure.Author, objects ...string) erasure.ItemKey {
		t.Helper()
		r := dynamostore.Record{PK: pk, SK: sk, Type: typ, AuthorRole: a.Role, AuthorID: a.ID, CreatedAt: at,
			Body: "private " + typ + " text", ObjectKeys: objects}
		if err := e.store.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		for _, o := range objects {
			if _, err := e.st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &e.st.Bucket, Key: aws.String(o), Body: strings.NewReader("content of " + o)}); err != nil {
				t.Fatal(err)
			}
		}
		return erasure.ItemKey{PK: pk, SK: sk}
	}
	for i := range n {
		f.Gone = append(f.Gone, put(pk, dynamostore.JournalSK(fmt.Sprintf("%s-bulk-j%03d", id, i)), "journal_entry", client))
		f.Counts.JournalEntries++
		if i%5 == 0 {
			put(pk, dynamostore.JournalSK(fmt.Sprintf("%s-bulk-jp%03d", id, i)), "journal_entry", member)
		}
	}
	for i := range n {
		objs := []string{
			fmt.Sprintf("practices/%s/clients/%s/uploads/bulk-d%03d.pdf", e.practice.ID, id, i),
			fmt.Sprintf("practices/%s/clients/%s/uploads/bulk-d%03d-preview.png", e.practice.ID, id, i),
		}
		f.Gone = append(f.Gone, put(pk, dynamostore.DocumentSK(fmt.Sprintf("%s-bulk-d%03d", id, i)), "document", client, objs...))
		f.GoneObjects = append(f.GoneObjects, objs...)
		f.Counts.Documents++
		if i%5 == 0 {
			put(pk, dynamostore.DocumentSK(fmt.Sprintf("%s-bulk-shared%03d", id, i)), "document", member,
				fmt.Sprintf("practices/%s/clients/%s/shared/bulk-%03d.pdf", e.practice.ID, id, i))
		}
	}
	// More conversations of the client's own, with no messages yet: the
	// sessions of a page of chat links are read with one BatchGetItem, which
	// then has keys to come back unprocessed.
	for i := range max(n/10, 3) {
		sid := fmt.Sprintf("%s-bulk-s%02d", id, i)
		err := e.store.PutChat(ctx, e.practice.ID, dynamostore.ChatSessionItem{SessionID: sid, ClientIDs: []string{id},
			PractitionerIDs: []string{e.practice.MemberID}, CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		f.Gone = append(f.Gone, erasure.ItemKey{PK: dynamostore.ChatPK(e.practice.ID, sid), SK: dynamostore.SessionSK},
			erasure.ItemKey{PK: pk, SK: dynamostore.ChatRefSK(sid)})
		f.Counts.ChatSessions++
	}
	// The direct chat goes whole, whoever wrote what.
	chat := dynamostore.ChatPK(e.practice.ID, id+"-direct")
	for i := range n {
		a := client
		if i%2 == 1 {
			a = member
		}
		f.Gone = append(f.Gone, put(chat, dynamostore.MessageSK(at.Add(time.Duration(i)*time.Second), fmt.Sprintf("bulk-m%03d", i)), "chat_message", a))
		f.Counts.ChatMessages++
	}
}

// checkExact compares the table and the bucket with their state before the
// purge: exactly gone and goneObjects removed, everything else unchanged.
func checkExact(t *testing.T, e *env, before emulatortest.Snapshot, objectsBefore map[string]string, f emulatortest.ClientFile) {
	t.Helper()
	want := maps.Clone(before)
	for _, k := range f.Gone {
		if _, ok := want[k]; !ok {
			t.Fatalf("seeded item %v missing before the purge", k)
		}
		delete(want, k)
	}
	after := platformItems(emulatortest.TakeSnapshot(t, e.st))
	for k := range after {
		if _, ok := want[k]; !ok {
			t.Errorf("item %v should be gone, still there", k)
		}
	}
	for k, v := range want {
		got, ok := after[k]
		if !ok {
			t.Errorf("item %v is outside the purge's scope but was deleted", k)
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("item %v changed: got %v, want %v", k, got, v)
		}
	}
	wantObjects := maps.Clone(objectsBefore)
	for _, o := range f.GoneObjects {
		if _, ok := wantObjects[o]; !ok {
			t.Fatalf("seeded object %s missing before the purge", o)
		}
		delete(wantObjects, o)
	}
	if got := emulatortest.Objects(t, e.st); !maps.Equal(got, wantObjects) {
		t.Errorf("objects after the purge: got %v, want %v", keys(got), keys(wantObjects))
	}
}

func TestPurge_RobustPartialBatches(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// The purge function as deployed, with every batch call coming back
	// partly done: unprocessed items and keys from DynamoDB, per-key errors
	// from S3.
	partial := emulatortest.NewPartial(3)
	h, err := build(ctx, slog.New(slog.DiscardHandler), emulatortest.Through(partial))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	e.h = h

	ava := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "cl-ben")
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	grow(t, e, &ava, 50)
	r, input := e.request(t, "cl-ava")
	if r.WillDelete != ava.Counts {
		t.Fatalf("got willDelete %+v, want %+v", r.WillDelete, ava.Counts)
	}
	before := platformItems(emulatortest.TakeSnapshot(t, e.st))
	objectsBefore := emulatortest.Objects(t, e.st)

	res, err := e.h.Handle(ctx, input)
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if res.Status != erasure.StatusCompleted || res.Deleted == nil || *res.Deleted != ava.Counts {
		var d erasure.Counts
		if res.Deleted != nil {
			d = *res.Deleted
		}
		t.Fatalf("got status %q, deleted %+v, want completed, %+v", res.Status, d, ava.Counts)
	}
	checkExact(t, e, before, objectsBefore, ava)
	done, err := e.store.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != erasure.StatusCompleted || done.Deleted != ava.Counts || done.Invocations != 1 {
		t.Errorf("got request %s, deleted %+v in %d invocations, want completed, %+v in 1",
			done.Status, done.Deleted, done.Invocations, ava.Counts)
	}

	st := partial.Stats()
	t.Logf("injected: %+v", st)
	if st.PartialBatchWrites == 0 || st.UnprocessedItems == 0 {
		t.Errorf("BatchWriteItem: got %d partial answers (%d unprocessed items) of %d, want some", st.PartialBatchWrites, st.UnprocessedItems, st.BatchWrites)
	}
	if st.PartialBatchGets == 0 || st.UnprocessedKeys == 0 {
		t.Errorf("BatchGetItem: got %d partial answers (%d unprocessed keys) of %d, want some", st.PartialBatchGets, st.UnprocessedKeys, st.BatchGets)
	}
	if st.PartialDeleteObjects == 0 || st.KeyErrors == 0 {
		t.Errorf("DeleteObjects: got %d partial answers (%d key errors) of %d, want some", st.PartialDeleteObjects, st.KeyErrors, st.DeleteObjects)
	}
}

// spender makes the purge's time budget run out on the first page an
// invocation reads that holds something to delete: it sleeps past the
// budget before handing the page over. The Service checks the time after
// each page, so each invocation deletes that page and hands over.
type spender struct {
	*dynamostore.Store
	gone  map[erasure.ItemKey]bool
	sleep time.Duration
	mu    sync.Mutex
	spent bool
}

func (s *spender) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spent = false
}

func spend[T any](s *spender, key func(T) erasure.ItemKey, fn func([]T) error) func([]T) error {
	return func(page []T) error {
		for _, v := range page {
			if s.gone[key(v)] {
				s.mu.Lock()
				first := !s.spent
				s.spent = true
				s.mu.Unlock()
				if first {
					time.Sleep(s.sleep)
				}
				break
			}
		}
		return fn(page)
	}
}

func (s *spender) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	return s.Store.JournalEntries(ctx, practiceID, clientID, spend(s, func(e erasure.JournalEntry) erasure.ItemKey { return e.Key }, fn))
}

func (s *spender) Documents(ctx context.Context, practiceID, clientID string, fn func([]erasure.Document) error) error {
	return s.Store.Documents(ctx, practiceID, clientID, spend(s, func(d erasure.Document) erasure.ItemKey { return d.Key }, fn))
}

func (s *spender) ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]erasure.ChatMessage) error) error {
	return s.Store.ChatMessages(ctx, practiceID, sessionID, spend(s, func(m erasure.ChatMessage) erasure.ItemKey { return m.Key }, fn))
}

func TestPurge_RobustAcrossInvocations(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ava := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "cl-ben")
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	r, input := e.request(t, "cl-ava")
	if r.WillDelete != ava.Counts {
		t.Fatalf("got willDelete %+v, want %+v", r.WillDelete, ava.Counts)
	}
	before := platformItems(emulatortest.TakeSnapshot(t, e.st))
	objectsBefore := emulatortest.Objects(t, e.st)

	// The purge service on the real adapters, with a time budget that each
	// invocation spends on its first page of work. (build() reads no
	// budget: its invocations run to the Lambda deadline.)
	const budget = 500 * time.Millisecond
	gone := map[erasure.ItemKey]bool{}
	for _, k := range ava.Gone {
		gone[k] = true
	}
	content := &spender{Store: e.store, gone: gone, sleep: budget + 50*time.Millisecond}
	log := slog.New(slog.DiscardHandler)
	svc := erasure.NewPurger(e.store, e.store, e.store, content,
		s3objects.New(e.st.S3, e.st.Bucket),
		oneshot.New(e.st.Scheduler, oneshot.Config{
			Group: e.st.ScheduleGroup, TargetARN: e.st.PurgeARN, RoleARN: e.st.SchedulerRole, DeadLetterARN: e.st.DeadLetterARN,
		}),
		mailerFunc(func(context.Context, erasure.Email) error { return nil }),
		ledger.New(e.st.S3, e.st.KMS, e.st.EvidenceBucket, e.st.CertificateKey),
		erasure.PurgeConfig{Budget: budget},
		erasure.Options{Log: log})
	h := &Handler{svc: svc, log: log}

	prefix := erasure.ScheduleName(r.ID) + "-"
	event := input
	calls := 0
	for {
		calls++
		if calls > 20 {
			t.Fatalf("not completed after %d invocations", calls-1)
		}
		content.reset()
		start := time.Now().UTC()
		res, err := h.Handle(ctx, event)
		if err != nil {
			t.Fatalf("invocation %d: %v", calls, err)
		}
		if res.Status == erasure.StatusCompleted {
			break
		}
		if res.Status != erasure.StatusPurging {
			t.Fatalf("invocation %d: got %+v, want purging or completed", calls, res)
		}

		// Its continuation, read back from the emulator (which never
		// fires it): one more schedule, named after the invocation.
		list, err := e.st.Scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: &e.st.ScheduleGroup, NamePrefix: &prefix})
		if err != nil {
			t.Fatalf("list schedules: %v", err)
		}
		var names []string
		for _, s := range list.Schedules {
			if n := aws.ToString(s.Name); strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		name := prefix + strconv.Itoa(calls)
		if len(names) != calls {
			t.Fatalf("invocation %d: got continuations %v, want %d, the last %s", calls, names, calls, name)
		}
		s, err := e.st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{GroupName: &e.st.ScheduleGroup, Name: &name})
		if err != nil {
			t.Fatalf("invocation %d: get schedule %s: %v", calls, name, err)
		}
		at, err := time.Parse("at(2006-01-02T15:04:05)", aws.ToString(s.ScheduleExpression))
		if err != nil {
			t.Fatalf("invocation %d: schedule expression %q: %v", calls, aws.ToString(s.ScheduleExpression), err)
		}
		if lo, hi := start.Add(time.Minute).Truncate(time.Second), time.Now().UTC().Add(time.Minute); at.Before(lo) || at.After(hi) {
			t.Errorf("invocation %d: got continuation at %v, want a minute out, in [%v, %v]", calls, at, lo, hi)
		}
		if tz := aws.ToString(s.ScheduleExpressionTimezone); tz != "UTC" {
			t.Errorf("invocation %d: got time zone %q, want UTC", calls, tz)
		}
		if s.ActionAfterCompletion != schedtypes.ActionAfterCompletionDelete {
			t.Errorf("invocation %d: got action after completion %q, want %q", calls, s.ActionAfterCompletion, schedtypes.ActionAfterCompletionDelete)
		}
		if s.Target == nil || aws.ToString(s.Target.Arn) != e.st.PurgeARN {
			t.Fatalf("invocation %d: got target %+v, want the purge function %s", calls, s.Target, e.st.PurgeARN)
		}
		var in map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(s.Target.Input)), &in); err != nil || !reflect.DeepEqual(in, map[string]any{"requestId": r.ID}) {
			t.Fatalf("invocation %d: got input %s (%v), want {\"requestId\":%q}", calls, aws.ToString(s.Target.Input), err, r.ID)
		}
		// Scheduler delivers it.
		event = json.RawMessage(aws.ToString(s.Target.Input))
	}

	t.Logf("completed in %d invocations", calls)
	if calls < 2 {
		t.Errorf("invocations: got %d, want more than 1", calls)
	}
	done, err := e.store.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != erasure.StatusCompleted || done.Deleted != ava.Counts || done.Invocations != calls {
		t.Errorf("got request %s, deleted %+v in %d invocations, want completed, %+v in %d",
			done.Status, done.Deleted, done.Invocations, ava.Counts, calls)
	}
	checkExact(t, e, before, objectsBefore, ava)
}
