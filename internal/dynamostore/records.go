package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// The writers below put records that other services of the platform own,
// in the layout they share with this service. The local stack seeds its
// demo practice with them and tests seed their fixtures; the service itself
// never calls them.

// Put writes one item as it is.
func (s *Store) Put(ctx context.Context, item any) error {
	av, err := attributevalue.MarshalMap(item)
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

// Notifications returns a practitioner's notifications, newest first (from
// the inbox index, so a write may take a moment to show).
func (s *Store) Notifications(ctx context.Context, practiceID, practitionerID string) ([]erasure.Notification, error) {
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(InboxIndex),
		KeyConditionExpression:    aws.String("inboxPk = :p"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": str(PractitionerPK(practiceID, practitionerID))},
		ScanIndexForward:          aws.Bool(false),
	}
	var out []erasure.Notification
	err := s.query(ctx, in, func(items []map[string]ddbtypes.AttributeValue) error {
		for _, item := range items {
			var it notificationItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return fmt.Errorf("decode notification: %w", err)
			}
			out = append(out, erasure.Notification{
				PractitionerID: it.PractitionerID, PracticeID: it.PracticeID, ID: it.ID, Kind: it.Kind,
				RequestID: it.RequestID, ClientID: it.ClientID, ClientName: it.ClientName,
				CreatedAt: it.CreatedAt, PurgeAt: it.PurgeAt, Counts: it.Counts, Message: it.Message,
			})
		}
		return nil
	})
	return out, err
}
