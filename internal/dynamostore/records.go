package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// The writers below put records that other services of the platform own,
// in the layout they share with this service. The local stack seeds its
// demo practice with them and tests seed their fixtures; the service itself
// never calls them.

// Put writes one item as it is.
func (s *Store) Put(ctx context.Context, item any) error {
	av, err := MarshalItem(item)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: av})
	return translate("put", err)
}

// Record is a generic content record: a journal entry, document, chat
// message, note, appointment or invoice.
type Record struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Type       string    `dynamodbav:"type"`
	AuthorRole string    `dynamodbav:"authorRole,omitempty"`
	AuthorID   string    `dynamodbav:"authorId,omitempty"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	Title      string    `dynamodbav:"title,omitempty"`
	Body       string    `dynamodbav:"body,omitempty"`
	FileName   string    `dynamodbav:"fileName,omitempty"`
	ObjectKeys []string  `dynamodbav:"objectKeys,omitempty"`
}

// ChatSessionItem is a secure-messenger session; ChatRefItem links each
// client taking part to it.
type ChatSessionItem struct {
	PK              string    `dynamodbav:"pk"`
	SK              string    `dynamodbav:"sk"`
	Type            string    `dynamodbav:"type"`
	SessionID       string    `dynamodbav:"sessionId"`
	Title           string    `dynamodbav:"title,omitempty"`
	ClientIDs       []string  `dynamodbav:"clientIds"`
	PractitionerIDs []string  `dynamodbav:"practitionerIds"`
	CreatedAt       time.Time `dynamodbav:"createdAt"`
}

type ChatRefItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	SessionID string `dynamodbav:"sessionId"`
}

// PutChat writes a session and one reference per client taking part.
func (s *Store) PutChat(ctx context.Context, practiceID string, c ChatSessionItem) error {
	c.PK, c.SK, c.Type = ChatPK(practiceID, c.SessionID), skSession, "chat_session"
	if err := s.Put(ctx, c); err != nil {
		return err
	}
	for _, cid := range c.ClientIDs {
		ref := ChatRefItem{PK: ClientPK(practiceID, cid), SK: ChatRefSK(c.SessionID), Type: "chat_ref", SessionID: c.SessionID}
		if err := s.Put(ctx, ref); err != nil {
			return err
		}
	}
	return nil
}

// ListNotifications reads a practitioner's notifications from the inbox
// index, newest first. The page token is the query's last evaluated key,
// encoded; a token for another inbox, or none of ours, is refused.
func (s *Store) ListNotifications(ctx context.Context, practiceID, practitionerID string, limit int, token string) ([]erasure.Notification, string, error) {
	pk := PractitionerPK(practiceID, practitionerID)
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(InboxIndex),
		KeyConditionExpression:    aws.String("inboxPk = :p"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": str(pk)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if token != "" {
		start, err := decodePageToken(token, tokenKeys, "inboxPk", pk)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", translate("list notifications", err)
	}
	out := make([]erasure.Notification, 0, len(res.Items))
	for _, item := range res.Items {
		n, err := decodeNotification(item)
		if err != nil {
			return nil, "", err
		}
		out = append(out, n)
	}
	next := ""
	if len(res.LastEvaluatedKey) > 0 {
		if next, err = encodePageToken(res.LastEvaluatedKey, tokenKeys); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// tokenKeys are the attributes of an inbox page's last evaluated key.
var tokenKeys = []string{attrPK, attrSK, "inboxPk", "inboxSk"}

// encodePageToken turns a query's last evaluated key (of the attributes
// keys) into an opaque page token.
func encodePageToken(key map[string]ddbtypes.AttributeValue, keys []string) (string, error) {
	m := map[string]string{}
	for _, k := range keys {
		v, ok := key[k].(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("page key lacks %s", k)
		}
		m[k] = v.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodePageToken reads a token encodePageToken made, refusing one whose
// index partition (indexPK) is not want: a token opens only the list that
// gave it.
func decodePageToken(token string, keys []string, indexPK, want string) (map[string]ddbtypes.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) > 2048 {
		return nil, identity.ErrBadToken
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != len(keys) || m[indexPK] != want {
		return nil, identity.ErrBadToken
	}
	key := map[string]ddbtypes.AttributeValue{}
	for _, k := range keys {
		if m[k] == "" {
			return nil, identity.ErrBadToken
		}
		key[k] = str(m[k])
	}
	return key, nil
}

// MarkRead sets the notification's read flag.
func (s *Store) MarkRead(ctx context.Context, practiceID, practitionerID, id string) (erasure.Notification, error) {
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(PractitionerPK(practiceID, practitionerID), prefixNotification+id),
		UpdateExpression:         aws.String("SET #read = :t"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#read": "read"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":t": &ddbtypes.AttributeValueMemberBOOL{Value: true},
		},
		ReturnValues: ddbtypes.ReturnValueAllNew,
	})
	if err = translate("mark read", err); errors.Is(err, identity.ErrConditionFailed) {
		return erasure.Notification{}, identity.ErrNotFound
	}
	if err != nil {
		return erasure.Notification{}, err
	}
	return decodeNotification(res.Attributes)
}

func decodeNotification(item map[string]ddbtypes.AttributeValue) (erasure.Notification, error) {
	var it notificationItem
	if err := unmarshalItem(item, &it); err != nil {
		return erasure.Notification{}, fmt.Errorf("decode notification: %w", err)
	}
	return erasure.Notification{
		PractitionerID: it.PractitionerID, PracticeID: it.PracticeID, ID: it.ID, Kind: it.Kind,
		RequestID: it.RequestID, ClientID: it.ClientID, ClientName: it.ClientName,
		CreatedAt: it.CreatedAt, PurgeAt: it.PurgeAt, Counts: it.Counts, Message: it.Message, Read: it.Read,
	}, nil
}

// Notifications returns all of a practitioner's notifications, newest first
// (from the inbox index, so a write may take a moment to show).
func (s *Store) Notifications(ctx context.Context, practiceID, practitionerID string) ([]erasure.Notification, error) {
	var out []erasure.Notification
	token := ""
	for {
		page, next, err := s.ListNotifications(ctx, practiceID, practitionerID, 100, token)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}
