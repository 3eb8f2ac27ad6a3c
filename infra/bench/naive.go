package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// naive is the baseline: the same queries as the purge, then one DeleteItem
// per item and one DeleteObject per object, one after another, for the
// client's content.
func naive(ctx context.Context, st *localstack.Stack, store *dynamostore.Store, clientID string) (items, objects int, reading time.Duration, err error) {
	del := func(k erasure.ItemKey) error {
		_, err := st.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.Table, Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: k.PK}, "sk": &ddbtypes.AttributeValueMemberS{Value: k.SK},
		}})
		items++
		return err
	}
	mine := func(a erasure.Author) bool { return a.Role == identity.RoleClient && a.ID == clientID }
	var keys []erasure.ItemKey
	collect := func(k erasure.ItemKey) { keys = append(keys, k) }
	start := time.Now()
	if err := store.JournalEntries(ctx, practiceID, clientID, func(page []erasure.JournalEntry) error {
		for _, e := range page {
			if mine(e.Author) {
				collect(e.Key)
			}
		}
		return nil
	}); err != nil {
		return 0, 0, 0, err
	}
	var objs []string
	if err := store.Documents(ctx, practiceID, clientID, func(page []erasure.Document) error {
		for _, d := range page {
			if mine(d.Author) {
				objs = append(objs, d.ObjectKeys...)
				collect(d.Key)
			}
		}
		return nil
	}); err != nil {
		return 0, 0, 0, err
	}
	var refs []erasure.ChatRef
	if err := store.ChatRefs(ctx, practiceID, clientID, "", func(page []erasure.ChatRef) error {
		refs = append(refs, page...)
		return nil
	}); err != nil {
		return 0, 0, 0, err
	}
	ids := make([]string, len(refs))
	for i, ref := range refs {
		ids[i] = ref.SessionID
	}
	sessions, err := store.ChatSessions(ctx, practiceID, ids)
	if err != nil {
		return 0, 0, 0, err
	}
	reading = time.Since(start)
	for _, o := range objs {
		if _, err := st.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &st.Bucket, Key: aws.String(o)}); err != nil {
			return 0, 0, 0, fmt.Errorf("delete object: %w", err)
		}
		objects++
	}
	for _, k := range keys {
		if err := del(k); err != nil {
			return 0, 0, 0, err
		}
	}
	for _, ref := range refs {
		sess, ok := sessions[ref.SessionID]
		if !ok {
			return 0, 0, 0, fmt.Errorf("chat session %s is missing", ref.SessionID)
		}
		whole := len(sess.ClientIDs) == 1 && sess.ClientIDs[0] == clientID
		var msgs []erasure.ItemKey
		readStart := time.Now()
		if err := store.ChatMessages(ctx, practiceID, ref.SessionID, func(page []erasure.ChatMessage) error {
			for _, m := range page {
				if whole || mine(m.Author) {
					msgs = append(msgs, m.Key)
				}
			}
			return nil
		}); err != nil {
			return 0, 0, 0, err
		}
		reading += time.Since(readStart)
		for _, k := range msgs {
			if err := del(k); err != nil {
				return 0, 0, 0, err
			}
		}
		if whole {
			if err := del(sess.Key); err != nil {
				return 0, 0, 0, err
			}
			if err := del(ref.Key); err != nil {
				return 0, 0, 0, err
			}
		}
	}
	return items, objects, reading, nil
}
