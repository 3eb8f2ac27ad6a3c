package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/infra/model"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// Shape is how much content a seeded client created.
type Shape struct {
	Journal, Documents, Sessions, Messages int
}

// seeded is what one client created: the keys and objects a purge of that
// client deletes, and their counts; and, per partition, the write units
// deleting them costs and the bytes the purge's queries read there.
type seeded struct {
	keys    []erasure.ItemKey
	objects []string
	counts  erasure.Counts
	load    map[string]*load
}

// load is what a purge asks of one partition: the write units of the
// items it deletes there, and what it reads there first (the bytes its
// queries read, before their filters; the items it reads one by one, in
// read units).
type load struct {
	wcu       float64
	readBytes int
	rcu       float64
}

func (s *seeded) at(pk string) *load {
	if s.load == nil {
		s.load = map[string]*load{}
	}
	l := s.load[pk]
	if l == nil {
		l = &load{}
		s.load[pk] = l
	}
	return l
}

// size is an item's size as DynamoDB counts it.
func size(it any) (int, error) {
	av, err := dynamostore.MarshalItem(it)
	if err != nil {
		return 0, err
	}
	return model.ItemSize(av), nil
}

// bound is what the model's limits allow at best: the largest, over
// partitions, of the partition's write units at its write rate plus the
// reads it must make first at its read rate (in modelled seconds).
func (s seeded) bound(p model.Params) (seconds float64, partition string) {
	for pk, l := range s.load {
		rcu := math.Ceil(float64(l.readBytes)/4096) + l.rcu
		t := 0.0
		if p.WCU > 0 {
			t += l.wcu / p.WCU
		}
		if p.RCU > 0 {
			t += rcu / p.RCU
		}
		if t > seconds {
			seconds, partition = t, pk
		}
	}
	return seconds, partition
}

func (s seeded) items() int { return len(s.keys) }

type seeder struct {
	st    *localstack.Stack
	store *dynamostore.Store
}

const seedConcurrency = 8

var seedTime = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func (s *seeder) directory(ctx context.Context) error {
	items := []any{
		dynamostore.PracticeItem{PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PracticeSK, Name: "Bench Practice", OwnerID: ownerID},
		dynamostore.PractitionerItem{PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PractitionerSK(ownerID), ID: ownerID, Name: "Owner", Email: "owner@bench.example.com", TeamRole: "owner"},
		dynamostore.PractitionerItem{PK: dynamostore.PracticePK(practiceID), SK: dynamostore.PractitionerSK(memberID), ID: memberID, Name: "Member", Email: "member@bench.example.com", TeamRole: "member"},
	}
	for _, c := range []string{clientID, otherID, modelID} {
		items = append(items, dynamostore.ClientItem{PK: dynamostore.ClientPK(practiceID, c), SK: dynamostore.ProfileSK, ID: c, FirstName: "Client", LastName: c, PractitionerIDs: []string{memberID}, PortalUserID: c + "-sub"})
	}
	return s.write(ctx, items)
}

var body = strings.Repeat("A private line of the client's journal. ", 6)

// client seeds what clientID created; tag keeps two seedings of the same
// client apart in ids.
func (s *seeder) client(ctx context.Context, client string, shape Shape, tag string) (seeded, error) {
	var out seeded
	var items []any
	pk := dynamostore.ClientPK(practiceID, client)
	// gone adds an item the purge deletes, and reads first with a query
	// (read) or by key (one read unit).
	gone := func(it any, pk, sk string, read bool) error {
		n, err := size(it)
		if err != nil {
			return err
		}
		items = append(items, it)
		out.keys = append(out.keys, erasure.ItemKey{PK: pk, SK: sk})
		l := out.at(pk)
		l.wcu += model.WriteUnits(n)
		if read {
			l.readBytes += n
		} else {
			l.rcu += model.ReadUnits(n, true)
		}
		return nil
	}
	for i := range shape.Journal {
		sk := dynamostore.JournalSK(fmt.Sprintf("%s-%s-j%06d", client, tag, i))
		if err := gone(dynamostore.Record{PK: pk, SK: sk, Type: "journal_entry", AuthorRole: identity.RoleClient, AuthorID: client, CreatedAt: seedTime, Title: "Day", Body: body}, pk, sk, true); err != nil {
			return seeded{}, err
		}
		out.counts.JournalEntries++
	}
	for i := range shape.Documents {
		id := fmt.Sprintf("%s-%s-d%05d", client, tag, i)
		obj := fmt.Sprintf("practices/%s/clients/%s/uploads/%s.pdf", practiceID, client, id)
		sk := dynamostore.DocumentSK(id)
		if err := gone(dynamostore.Record{PK: pk, SK: sk, Type: "document", AuthorRole: identity.RoleClient, AuthorID: client, CreatedAt: seedTime, FileName: id + ".pdf", ObjectKeys: []string{obj}}, pk, sk, true); err != nil {
			return seeded{}, err
		}
		out.objects = append(out.objects, obj)
		out.counts.Documents++
	}
	for i := range shape.Sessions {
		sid := fmt.Sprintf("%s-%s-s%04d", client, tag, i)
		cpk := dynamostore.ChatPK(practiceID, sid)
		if err := gone(dynamostore.ChatSessionItem{PK: cpk, SK: dynamostore.SessionSK, Type: "chat_session", SessionID: sid, ClientIDs: []string{client}, PractitionerIDs: []string{memberID}, CreatedAt: seedTime}, cpk, dynamostore.SessionSK, false); err != nil {
			return seeded{}, err
		}
		if err := gone(dynamostore.ChatRefItem{PK: pk, SK: dynamostore.ChatRefSK(sid), Type: "chat_ref", SessionID: sid}, pk, dynamostore.ChatRefSK(sid), true); err != nil {
			return seeded{}, err
		}
		out.counts.ChatSessions++
		for m := range shape.Messages {
			role, id := identity.RoleClient, client
			if m%2 == 1 {
				role, id = identity.RolePractitioner, memberID
			}
			sk := dynamostore.MessageSK(seedTime.Add(time.Duration(m)*time.Minute), fmt.Sprintf("m%03d", m))
			if err := gone(dynamostore.Record{PK: cpk, SK: sk, Type: "chat_message", AuthorRole: role, AuthorID: id, CreatedAt: seedTime, Body: "A message in the secure messenger."}, cpk, sk, true); err != nil {
				return seeded{}, err
			}
			out.counts.ChatMessages++
		}
	}
	if err := s.write(ctx, items); err != nil {
		return seeded{}, err
	}
	return out, s.putObjects(ctx, out.objects)
}

// practitionerContent adds what a practitioner wrote in the client's file:
// journal entries, notes and shared documents. It all stays; the purge
// reads the journal entries and documents (its queries read them before
// their filters drop them), which into adds to the client's partition.
func (s *seeder) practitionerContent(ctx context.Context, client string, shape Shape, into *seeded) error {
	pk := dynamostore.ClientPK(practiceID, client)
	var items []any
	var objs []string
	read := func(it any) {
		if n, err := size(it); err == nil {
			into.at(pk).readBytes += n
		}
	}
	for i := range max(shape.Journal/20, 1) {
		j := dynamostore.Record{PK: pk, SK: dynamostore.JournalSK(fmt.Sprintf("prac-j%05d", i)), Type: "journal_entry", AuthorRole: identity.RolePractitioner, AuthorID: memberID, CreatedAt: seedTime, Body: "A practitioner's comment."}
		read(j)
		items = append(items, j,
			dynamostore.Record{PK: pk, SK: fmt.Sprintf("NOTE#%05d", i), Type: "practitioner_note", AuthorRole: identity.RolePractitioner, AuthorID: memberID, CreatedAt: seedTime, Body: body})
	}
	for i := range max(shape.Documents/10, 1) {
		obj := fmt.Sprintf("practices/%s/clients/%s/shared/plan-%04d.pdf", practiceID, client, i)
		d := dynamostore.Record{PK: pk, SK: dynamostore.DocumentSK(fmt.Sprintf("shared-%04d", i)), Type: "document", AuthorRole: identity.RolePractitioner, AuthorID: memberID, CreatedAt: seedTime, ObjectKeys: []string{obj}}
		read(d)
		items = append(items, d)
		objs = append(objs, obj)
	}
	if err := s.write(ctx, items); err != nil {
		return err
	}
	return s.putObjects(ctx, objs)
}

// write puts items with BatchWriteItem, several batches at once.
func (s *seeder) write(ctx context.Context, items []any) error {
	reqs := make([]ddbtypes.WriteRequest, 0, len(items))
	for _, it := range items {
		av, err := dynamostore.MarshalItem(it)
		if err != nil {
			return err
		}
		reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: av}})
	}
	return parallel(ctx, (len(reqs)+24)/25, func(i int) error {
		pending := map[string][]ddbtypes.WriteRequest{s.st.Table: reqs[i*25 : min(i*25+25, len(reqs))]}
		for len(pending[s.st.Table]) > 0 {
			res, err := s.st.DynamoDB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = res.UnprocessedItems
		}
		return nil
	})
}

func (s *seeder) putObjects(ctx context.Context, keys []string) error {
	return parallel(ctx, len(keys), func(i int) error {
		_, err := s.st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.st.Bucket, Key: aws.String(keys[i]), Body: strings.NewReader("%PDF-1.7 " + keys[i])})
		return err
	})
}

// parallel runs fn(0..n-1) on seedConcurrency workers; the first error wins.
func parallel(ctx context.Context, n int, fn func(int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range seedConcurrency {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
