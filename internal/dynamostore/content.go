package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ContentItem holds the attributes of client content that the purge reads.
// The platform's writers set authorRole ("client" or "practitioner") and
// authorId (the client id or practitioner id) on every journal entry,
// document and chat message; documents list their S3 objects in objectKeys.
type ContentItem struct {
	PK         string   `dynamodbav:"pk"`
	SK         string   `dynamodbav:"sk"`
	AuthorRole string   `dynamodbav:"authorRole,omitempty"`
	AuthorID   string   `dynamodbav:"authorId,omitempty"`
	ObjectKeys []string `dynamodbav:"objectKeys,omitempty"`
	SessionID  string   `dynamodbav:"sessionId,omitempty"`
	ClientIDs  []string `dynamodbav:"clientIds,omitempty"`
}

func (c ContentItem) key() erasure.ItemKey { return erasure.ItemKey{PK: c.PK, SK: c.SK} }
func (c ContentItem) author() erasure.Author {
	return erasure.Author{Role: c.AuthorRole, ID: c.AuthorID}
}

// authoredQuery reads the items under pk with the prefix that the client
// created: the filter saves returning the rest; the domain checks again.
func authoredQuery(pk, prefix, clientID string, extra ...string) *dynamodb.QueryInput {
	in := prefixQuery(pk, prefix)
	in.FilterExpression = aws.String("authorRole = :client AND authorId = :cid")
	in.ExpressionAttributeValues[":client"] = str(identity.RoleClient)
	in.ExpressionAttributeValues[":cid"] = str(clientID)
	in.ProjectionExpression = aws.String("#pk, #sk, authorRole, authorId")
	for _, a := range extra {
		*in.ProjectionExpression += ", " + a
	}
	return in
}

func decodeAll(items []map[string]ddbtypes.AttributeValue) ([]ContentItem, error) {
	out := make([]ContentItem, len(items))
	if err := unmarshalItems(items, &out); err != nil {
		return nil, fmt.Errorf("decode content: %w", err)
	}
	return out, nil
}

func (s *Store) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]erasure.JournalEntry) error) error {
	return s.query(ctx, authoredQuery(ClientPK(practiceID, clientID), prefixJournal, clientID), func(items []map[string]ddbtypes.AttributeValue) error {
		cs, err := decodeAll(items)
		if err != nil {
			return err
		}
		page := make([]erasure.JournalEntry, len(cs))
		for i, c := range cs {
			page[i] = erasure.JournalEntry{Key: c.key(), Author: c.author()}
		}
		return fn(page)
	})
}

func (s *Store) Documents(ctx context.Context, practiceID, clientID string, fn func([]erasure.Document) error) error {
	return s.query(ctx, authoredQuery(ClientPK(practiceID, clientID), prefixDocument, clientID, "objectKeys"), func(items []map[string]ddbtypes.AttributeValue) error {
		cs, err := decodeAll(items)
		if err != nil {
			return err
		}
		page := make([]erasure.Document, len(cs))
		for i, c := range cs {
			page[i] = erasure.Document{Key: c.key(), Author: c.author(), ObjectKeys: c.ObjectKeys}
		}
		return fn(page)
	})
}

func (s *Store) ChatRefs(ctx context.Context, practiceID, clientID, after string, fn func([]erasure.ChatRef) error) error {
	in := prefixQuery(ClientPK(practiceID, clientID), prefixChatRef)
	if after != "" {
		// The start key need not exist: the query resumes after it.
		in.ExclusiveStartKey = key(ClientPK(practiceID, clientID), after)
	}
	in.ProjectionExpression = aws.String("#pk, #sk, sessionId")
	return s.query(ctx, in, func(items []map[string]ddbtypes.AttributeValue) error {
		cs, err := decodeAll(items)
		if err != nil {
			return err
		}
		page := make([]erasure.ChatRef, len(cs))
		for i, c := range cs {
			page[i] = erasure.ChatRef{Key: c.key(), SessionID: c.SessionID}
		}
		return fn(page)
	})
}

// ChatSessions reads the sessions with BatchGetItem: a purge of a client in
// 200 chats reads their sessions in 2 calls, not 200.
func (s *Store) ChatSessions(ctx context.Context, practiceID string, sessionIDs []string) (map[string]erasure.ChatSession, error) {
	ids := map[string]string{} // partition key -> session id
	keys := make([]map[string]ddbtypes.AttributeValue, 0, len(sessionIDs))
	for _, id := range sessionIDs {
		pk := ChatPK(practiceID, id)
		if _, dup := ids[pk]; dup {
			continue
		}
		ids[pk] = id
		keys = append(keys, key(pk, skSession))
	}
	out := make(map[string]erasure.ChatSession, len(keys))
	err := batchGet(ctx, s.db, s.table, "batch get sessions", keys, "#pk, #sk, clientIds", func(item map[string]ddbtypes.AttributeValue) error {
		var c ContentItem
		if err := unmarshalItem(item, &c); err != nil {
			return fmt.Errorf("decode session: %w", err)
		}
		id, ok := ids[c.PK]
		if !ok || c.SK != skSession {
			return fmt.Errorf("batch get sessions: an item that was not asked for: %s %s", c.PK, c.SK)
		}
		out[id] = erasure.ChatSession{Key: c.key(), ID: id, ClientIDs: c.ClientIDs}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]erasure.ChatMessage) error) error {
	in := prefixQuery(ChatPK(practiceID, sessionID), prefixMessage)
	in.ProjectionExpression = aws.String("#pk, #sk, authorRole, authorId")
	return s.query(ctx, in, func(items []map[string]ddbtypes.AttributeValue) error {
		cs, err := decodeAll(items)
		if err != nil {
			return err
		}
		page := make([]erasure.ChatMessage, len(cs))
		for i, c := range cs {
			page[i] = erasure.ChatMessage{Key: c.key(), Author: c.author()}
		}
		return fn(page)
	})
}

// batchLimit is BatchWriteItem's maximum number of requests.
const batchLimit = 25

// maxBatchAttempts bounds the retries of unprocessed keys of reads; past
// it the call fails and the invocation is retried whole, which is safe.
const maxBatchAttempts = 12

// DeleteItems deletes keys in batches of 25, one BatchWriteItem each.
// What DynamoDB leaves unprocessed, or throttles whole, is returned in an
// *erasure.Throttled at once, not retried here: the purge sends it again
// at the pace the partition takes (internal/erasure's pacer). The SDK
// still retries a 5xx.
func (s *Store) DeleteItems(ctx context.Context, keys []erasure.ItemKey) error {
	var left []erasure.ItemKey
	for start := 0; start < len(keys); start += batchLimit {
		chunk := keys[start:min(start+batchLimit, len(keys))]
		reqs := make([]ddbtypes.WriteRequest, len(chunk))
		for i, k := range chunk {
			reqs[i] = ddbtypes.WriteRequest{DeleteRequest: &ddbtypes.DeleteRequest{Key: key(k.PK, k.SK)}}
		}
		res, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{s.table: reqs}}, throttlingComesBack)
		if isThrottle(err) {
			left = append(left, chunk...)
			continue
		}
		if err != nil {
			return translate("batch delete", err)
		}
		for _, w := range res.UnprocessedItems[s.table] {
			if w.DeleteRequest == nil {
				return fmt.Errorf("batch delete: an unprocessed request that was not sent")
			}
			var c ContentItem
			if err := unmarshalItem(w.DeleteRequest.Key, &c); err != nil {
				return fmt.Errorf("batch delete: decode unprocessed key: %w", err)
			}
			left = append(left, c.key())
		}
	}
	if len(left) > 0 {
		return &erasure.Throttled{Left: left}
	}
	return nil
}

// isThrottle reports whether DynamoDB refused a call for its rate.
func isThrottle(err error) bool {
	var pte *ddbtypes.ProvisionedThroughputExceededException
	var te *ddbtypes.ThrottlingException
	var rle *ddbtypes.RequestLimitExceeded
	return err != nil && (errors.As(err, &pte) || errors.As(err, &te) || errors.As(err, &rle))
}

// throttlingComesBack makes a call's throttling come back to the caller
// at once, where the SDK would try again (its retries of a throttle wait
// about a second); a 5xx is still retried.
func throttlingComesBack(o *dynamodb.Options) {
	if r, ok := o.Retryer.(aws.RetryerV2); ok {
		o.Retryer = throttleNotRetried{r}
	}
}

type throttleNotRetried struct{ aws.RetryerV2 }

func (r throttleNotRetried) IsErrorRetryable(err error) bool {
	return !isThrottle(err) && r.RetryerV2.IsErrorRetryable(err)
}

// ExistingItems reads keys with BatchGetItem (consistent, keys only) and
// returns those that exist.
func (s *Store) ExistingItems(ctx context.Context, keys []erasure.ItemKey) ([]erasure.ItemKey, error) {
	ks := make([]map[string]ddbtypes.AttributeValue, len(keys))
	for i, k := range keys {
		ks[i] = key(k.PK, k.SK)
	}
	var out []erasure.ItemKey
	err := batchGet(ctx, s.db, s.table, "batch get", ks, "#pk, #sk", func(item map[string]ddbtypes.AttributeValue) error {
		var c ContentItem
		if err := unmarshalItem(item, &c); err != nil {
			return fmt.Errorf("decode key: %w", err)
		}
		out = append(out, c.key())
		return nil
	})
	return out, err
}

// batchGet reads keys with BatchGetItem, 100 a call, consistently, retrying
// unprocessed keys, and calls fn with each item read, in no particular
// order. projection, unless "", is a projection expression on the item's
// attributes, with #pk and #sk for the keys.
func batchGet(ctx context.Context, db *dynamodb.Client, table, op string, keys []map[string]ddbtypes.AttributeValue, projection string, fn func(map[string]ddbtypes.AttributeValue) error) error {
	return batchGetNamed(ctx, db, table, op, keys, projection, nil, fn)
}

// batchGetNamed is batchGet with more attribute name placeholders for the
// projection than #pk and #sk.
func batchGetNamed(ctx context.Context, db *dynamodb.Client, table, op string, keys []map[string]ddbtypes.AttributeValue, projection string, names map[string]string, fn func(map[string]ddbtypes.AttributeValue) error) error {
	for start := 0; start < len(keys); start += 100 {
		ka := ddbtypes.KeysAndAttributes{Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(true)}
		if projection != "" {
			ka.ProjectionExpression = aws.String(projection)
			ka.ExpressionAttributeNames = map[string]string{"#pk": attrPK, "#sk": attrSK}
			for k, v := range names {
				ka.ExpressionAttributeNames[k] = v
			}
		}
		req := map[string]ddbtypes.KeysAndAttributes{table: ka}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if attempt == maxBatchAttempts {
					return fmt.Errorf("%s: keys still unprocessed after %d attempts", op, attempt)
				}
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			res, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return translate(op, err)
			}
			for _, item := range res.Responses[table] {
				if err := fn(item); err != nil {
					return err
				}
			}
			req = res.UnprocessedKeys
		}
	}
	return nil
}

// ---- notifications ----

type notificationItem struct {
	PK             string         `dynamodbav:"pk"`
	SK             string         `dynamodbav:"sk"`
	InboxPK        string         `dynamodbav:"inboxPk"`
	InboxSK        string         `dynamodbav:"inboxSk"`
	ID             string         `dynamodbav:"notificationId"`
	PractitionerID string         `dynamodbav:"practitionerId"`
	PracticeID     string         `dynamodbav:"practiceId"`
	Kind           string         `dynamodbav:"kind"`
	RequestID      string         `dynamodbav:"requestId"`
	ClientID       string         `dynamodbav:"clientId"`
	ClientName     string         `dynamodbav:"clientName"`
	CreatedAt      time.Time      `dynamodbav:"createdAt"`
	PurgeAt        time.Time      `dynamodbav:"purgeAt"`
	Counts         erasure.Counts `dynamodbav:"counts"`
	Message        string         `dynamodbav:"message"`
	Read           bool           `dynamodbav:"read"`
}

// PutNotification writes the notification once: its sort key is its id,
// and a conditional put makes a second write of it a no-op. The inbox index
// orders a practitioner's notifications by time.
func (s *Store) PutNotification(ctx context.Context, n erasure.Notification) error {
	pk := PractitionerPK(n.PracticeID, n.PractitionerID)
	item, err := MarshalItem(notificationItem{
		PK: pk, SK: prefixNotification + n.ID,
		InboxPK: pk, InboxSK: n.CreatedAt.UTC().Format(timeKeyLayout) + "#" + n.ID,
		ID: n.ID, PractitionerID: n.PractitionerID, PracticeID: n.PracticeID, Kind: n.Kind,
		RequestID: n.RequestID, ClientID: n.ClientID, ClientName: n.ClientName,
		CreatedAt: n.CreatedAt, PurgeAt: n.PurgeAt, Counts: n.Counts, Message: n.Message,
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err = translate("put notification", err); err != nil && !isCondition(err) {
		return err
	}
	return nil
}

func isCondition(err error) bool { return err != nil && errors.Is(err, identity.ErrConditionFailed) }
