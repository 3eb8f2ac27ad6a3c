package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// requestItem is a deletion request. Times that conditions compare (the
// email claim, the purge lease) are Unix milliseconds; the rest are RFC 3339.
type requestItem struct {
	PK           string         `dynamodbav:"pk"`
	SK           string         `dynamodbav:"sk"`
	PendingPK    string         `dynamodbav:"pendingPk,omitempty"`
	PendingSK    string         `dynamodbav:"pendingSk,omitempty"`
	PracticePK   string         `dynamodbav:"practicePk"`
	PracticeSK   string         `dynamodbav:"practiceSk"`
	ID           string         `dynamodbav:"requestId"`
	PracticeID   string         `dynamodbav:"practiceId"`
	ClientID     string         `dynamodbav:"clientId"`
	RequestedBy  string         `dynamodbav:"requestedBy"`
	Status       erasure.Status `dynamodbav:"status"`
	RequestedAt  time.Time      `dynamodbav:"requestedAt"`
	PurgeAt      time.Time      `dynamodbav:"purgeAt"`
	WillDelete   erasure.Counts `dynamodbav:"willDelete"`
	ScheduleName string         `dynamodbav:"scheduleName"`

	NotifiedAt     *time.Time `dynamodbav:"notifiedAt,omitempty"`
	EmailClaimedMs int64      `dynamodbav:"emailClaimedMs,omitempty"`
	EmailsSent     []string   `dynamodbav:"emailsSent,stringset,omitempty"`
	PurgeStartedAt *time.Time `dynamodbav:"purgeStartedAt,omitempty"`
	CompletedAt    *time.Time `dynamodbav:"completedAt,omitempty"`
	CancelledAt    *time.Time `dynamodbav:"cancelledAt,omitempty"`
	LeaseUntilMs   int64      `dynamodbav:"leaseUntilMs,omitempty"`
	Invocations    int        `dynamodbav:"invocations"`
	PurgePhase     string     `dynamodbav:"purgePhase,omitempty"`
	PurgeCursor    string     `dynamodbav:"purgeCursor,omitempty"`
	// SkippedObjectKeys is the set of object keys the purge left outside
	// the client's folder.
	SkippedObjectKeys []string `dynamodbav:"skippedObjectKeys,stringset,omitempty"`

	DeletedJournalEntries int `dynamodbav:"deletedJournalEntries"`
	DeletedDocuments      int `dynamodbav:"deletedDocuments"`
	DeletedChatSessions   int `dynamodbav:"deletedChatSessions"`
	DeletedChatMessages   int `dynamodbav:"deletedChatMessages"`
}

func (it requestItem) request() erasure.Request {
	r := erasure.Request{
		ID: it.ID, PracticeID: it.PracticeID, ClientID: it.ClientID, RequestedBy: it.RequestedBy,
		Status: it.Status, RequestedAt: it.RequestedAt.UTC(), PurgeAt: it.PurgeAt.UTC(),
		WillDelete: it.WillDelete, ScheduleName: it.ScheduleName,
		NotifiedAt: it.NotifiedAt, EmailsSent: it.EmailsSent, PurgeStartedAt: it.PurgeStartedAt, CompletedAt: it.CompletedAt, CancelledAt: it.CancelledAt,
		Invocations: it.Invocations, PurgePhase: it.PurgePhase, PurgeCursor: it.PurgeCursor, SkippedObjects: it.SkippedObjectKeys,
		Deleted: erasure.Counts{
			JournalEntries: it.DeletedJournalEntries, Documents: it.DeletedDocuments,
			ChatSessions: it.DeletedChatSessions, ChatMessages: it.DeletedChatMessages,
		},
	}
	if it.EmailClaimedMs != 0 {
		t := time.UnixMilli(it.EmailClaimedMs).UTC()
		r.EmailClaimedAt = &t
	}
	return r
}

type activeItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	RequestID string `dynamodbav:"requestId"`
}

func pendingSK(purgeAt time.Time, id string) string {
	return purgeAt.UTC().Format(timeKeyLayout) + "#" + id
}

func (s *Store) PortalClosed(ctx context.Context, practiceID, clientID string) (bool, error) {
	var it activeItem
	err := s.get(ctx, ClientPK(practiceID, clientID), skPortalClosed, &it)
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) ActiveRequest(ctx context.Context, practiceID, clientID string) (erasure.Request, error) {
	var a activeItem
	if err := s.get(ctx, ClientPK(practiceID, clientID), skActive, &a); err != nil {
		return erasure.Request{}, err
	}
	return s.GetRequest(ctx, a.RequestID)
}

func (s *Store) GetRequest(ctx context.Context, id string) (erasure.Request, error) {
	var it requestItem
	if err := s.get(ctx, RequestPK(id), skRequest, &it); err != nil {
		return erasure.Request{}, err
	}
	return it.request(), nil
}

func (s *Store) CreateRequest(ctx context.Context, r erasure.Request) error {
	item, err := MarshalItem(requestItem{
		PK: RequestPK(r.ID), SK: skRequest,
		PendingPK: pendingValue, PendingSK: pendingSK(r.PurgeAt, r.ID),
		PracticePK: PracticeRequestsPK(r.PracticeID), PracticeSK: pendingSK(r.RequestedAt, r.ID),
		ID: r.ID, PracticeID: r.PracticeID, ClientID: r.ClientID, RequestedBy: r.RequestedBy,
		Status: r.Status, RequestedAt: r.RequestedAt, PurgeAt: r.PurgeAt,
		WillDelete: r.WillDelete, ScheduleName: r.ScheduleName,
	})
	if err != nil {
		return err
	}
	active, err := MarshalItem(activeItem{PK: ClientPK(r.PracticeID, r.ClientID), SK: skActive, RequestID: r.ID})
	if err != nil {
		return err
	}
	notExists := aws.String("attribute_not_exists(pk)")
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: &s.table, Item: active, ConditionExpression: notExists}},
			{ConditionCheck: &ddbtypes.ConditionCheck{TableName: &s.table, Key: key(ClientPK(r.PracticeID, r.ClientID), skPortalClosed), ConditionExpression: notExists}},
			{Put: &ddbtypes.Put{TableName: &s.table, Item: item, ConditionExpression: notExists}},
		},
	})
	return translate("create request", err)
}

func (s *Store) DeleteAcceptingRequest(ctx context.Context, r erasure.Request) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Delete: &ddbtypes.Delete{
				TableName: &s.table, Key: key(RequestPK(r.ID), skRequest),
				ConditionExpression:       aws.String("#status = :accepting"),
				ExpressionAttributeNames:  map[string]string{"#status": "status"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":accepting": str(string(erasure.StatusAccepting))},
			}},
			{Delete: &ddbtypes.Delete{
				TableName: &s.table, Key: key(ClientPK(r.PracticeID, r.ClientID), skActive),
				ConditionExpression:       aws.String("requestId = :id"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": str(r.ID)},
			}},
		},
	})
	return translate("delete accepting request", err)
}

// update runs a conditional UpdateItem on the request and returns its new
// image.
func (s *Store) update(ctx context.Context, op, id string, in *dynamodb.UpdateItemInput) (erasure.Request, error) {
	in.TableName = &s.table
	in.Key = key(RequestPK(id), skRequest)
	in.ReturnValues = ddbtypes.ReturnValueAllNew
	res, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		return erasure.Request{}, translate(op, err)
	}
	var it requestItem
	if err := unmarshalItem(res.Attributes, &it); err != nil {
		return erasure.Request{}, fmt.Errorf("decode request: %w", err)
	}
	return it.request(), nil
}

func (s *Store) MarkScheduled(ctx context.Context, id string) error {
	_, err := s.update(ctx, "mark scheduled", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("SET #status = :scheduled"),
		ConditionExpression:       aws.String("#status = :accepting"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":scheduled": str(string(erasure.StatusScheduled)), ":accepting": str(string(erasure.StatusAccepting))},
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		// Already past accepting, or gone.
		_, gerr := s.GetRequest(ctx, id)
		return gerr
	}
	return err
}

func (s *Store) ClaimEmail(ctx context.Context, id string, now, staleBefore time.Time) (erasure.Request, error) {
	return s.update(ctx, "claim email", id, &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("SET emailClaimedMs = :now"),
		ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(notifiedAt) AND (attribute_not_exists(emailClaimedMs) OR emailClaimedMs < :stale)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":now": num(now.UnixMilli()), ":stale": num(staleBefore.UnixMilli()),
		},
	})
}

func (s *Store) ReleaseEmailClaim(ctx context.Context, id string) error {
	_, err := s.update(ctx, "release email claim", id, &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("REMOVE emailClaimedMs"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	return err
}

// MarkEmailSent adds kind to the request's set of sent emails.
func (s *Store) MarkEmailSent(ctx context.Context, id, kind string) error {
	_, err := s.update(ctx, "mark email sent", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("ADD emailsSent :k"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":k": &ddbtypes.AttributeValueMemberSS{Value: []string{kind}}},
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		return fmt.Errorf("mark email sent: %w", identity.ErrNotFound)
	}
	return err
}

func (s *Store) MarkNotified(ctx context.Context, id string, at time.Time) error {
	v, err := marshalValue(at)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, "mark notified", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("SET notifiedAt = :at REMOVE emailClaimedMs"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":at": v},
	})
	return err
}

// CancelRequest marks the request cancelled and frees the client's
// deletion pointer in one transaction. Its condition is what makes a cancel
// racing a purge start end one way: the purge's StartPurge needs a pending
// status, this needs one not yet purging.
func (s *Store) CancelRequest(ctx context.Context, r erasure.Request, at time.Time) error {
	v, err := marshalValue(at)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Update: &ddbtypes.Update{
				TableName: &s.table, Key: key(RequestPK(r.ID), skRequest),
				UpdateExpression:         aws.String("SET #status = :cancelled, cancelledAt = :at REMOVE pendingPk, pendingSk"),
				ConditionExpression:      aws.String("#status IN (:accepting, :scheduled) AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs <= :nowMs)"),
				ExpressionAttributeNames: map[string]string{"#status": "status"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
					":cancelled": str(string(erasure.StatusCancelled)), ":at": v, ":nowMs": num(at.UnixMilli()),
					":accepting": str(string(erasure.StatusAccepting)), ":scheduled": str(string(erasure.StatusScheduled)),
				},
			}},
			{Delete: &ddbtypes.Delete{
				TableName: &s.table, Key: key(ClientPK(r.PracticeID, r.ClientID), skActive),
				ConditionExpression:       aws.String("attribute_not_exists(pk) OR requestId = :id"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": str(r.ID)},
			}},
		},
	})
	return translate("cancel request", err)
}

func (s *Store) StartPurge(ctx context.Context, id string, now, leaseUntil time.Time) (erasure.Request, error) {
	at, err := marshalValue(now)
	if err != nil {
		return erasure.Request{}, err
	}
	return s.update(ctx, "start purge", id, &dynamodb.UpdateItemInput{
		UpdateExpression: aws.String("SET #status = :purging, purgeStartedAt = if_not_exists(purgeStartedAt, :now), leaseUntilMs = :lease ADD invocations :one"),
		ConditionExpression: aws.String("#status IN (:accepting, :scheduled, :purging) AND " +
			"(attribute_not_exists(leaseUntilMs) OR leaseUntilMs <= :nowMs)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":purging":   str(string(erasure.StatusPurging)),
			":accepting": str(string(erasure.StatusAccepting)),
			":scheduled": str(string(erasure.StatusScheduled)),
			":now":       at,
			":nowMs":     num(now.UnixMilli()),
			":lease":     num(leaseUntil.UnixMilli()),
			":one":       num(1),
		},
	})
}

func (s *Store) ReleasePurge(ctx context.Context, id string, leaseUntil time.Time) error {
	_, err := s.update(ctx, "release purge", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("REMOVE leaseUntilMs"),
		ConditionExpression:       aws.String("leaseUntilMs = :lease"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":lease": num(leaseUntil.UnixMilli())},
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		return nil // another lease, or none: not ours to release
	}
	return err
}

func (s *Store) Checkpoint(ctx context.Context, id, phase, cursor string, c erasure.Counts) error {
	_, err := s.update(ctx, "checkpoint", id, &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("SET purgePhase = :phase, purgeCursor = :cursor ADD deletedJournalEntries :j, deletedDocuments :d, deletedChatSessions :s, deletedChatMessages :m"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":phase": str(phase), ":cursor": str(cursor),
			":j": num(int64(c.JournalEntries)), ":d": num(int64(c.Documents)),
			":s": num(int64(c.ChatSessions)), ":m": num(int64(c.ChatMessages)),
		},
	})
	return err
}

// RecordSkippedObjects adds keys to the request's string set
// skippedObjectKeys: ADD of a set is a union, so recording a key again
// changes nothing. DynamoDB refuses a set with a value twice, and an empty
// one, so the keys are made distinct and none is no write.
func (s *Store) RecordSkippedObjects(ctx context.Context, id string, keys []string) error {
	set := slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(set) == 0 {
		return nil
	}
	_, err := s.update(ctx, "record skipped objects", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("ADD skippedObjectKeys :k"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":k": &ddbtypes.AttributeValueMemberSS{Value: set}},
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		return fmt.Errorf("record skipped objects: %w", identity.ErrNotFound)
	}
	return err
}

type closedItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	RequestID string    `dynamodbav:"requestId"`
	ClosedAt  time.Time `dynamodbav:"closedAt"`
}

func (s *Store) ClosePortal(ctx context.Context, practiceID, clientID, requestID string, at time.Time) error {
	item, err := MarshalItem(closedItem{PK: ClientPK(practiceID, clientID), SK: skPortalClosed, RequestID: requestID, ClosedAt: at})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err = translate("close portal", err); errors.Is(err, identity.ErrConditionFailed) {
		return nil // closed already
	}
	return err
}

// CompletePurge frees the client's deletion pointer, then marks the request
// completed. Two writes, not a transaction: a retry after the first finds
// the pointer gone and makes the second.
func (s *Store) CompletePurge(ctx context.Context, id string, at time.Time) (erasure.Request, error) {
	r, err := s.GetRequest(ctx, id)
	if err != nil {
		return erasure.Request{}, err
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(ClientPK(r.PracticeID, r.ClientID), skActive),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR requestId = :id"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": str(id)},
	})
	if err != nil {
		return erasure.Request{}, translate("free deletion pointer", err)
	}
	v, err := marshalValue(at)
	if err != nil {
		return erasure.Request{}, err
	}
	// The receipt on the item says itself when no backup holds the data.
	clear, err := marshalValue(at.Add(erasure.BackupRetention))
	if err != nil {
		return erasure.Request{}, err
	}
	return s.update(ctx, "complete purge", id, &dynamodb.UpdateItemInput{
		UpdateExpression:         aws.String("SET #status = :completed, completedAt = :at, backupsClearAt = :clear REMOVE leaseUntilMs, pendingPk, pendingSk"),
		ConditionExpression:      aws.String("#status = :purging"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":completed": str(string(erasure.StatusCompleted)), ":purging": str(string(erasure.StatusPurging)), ":at": v, ":clear": clear,
		},
	})
}

func (s *Store) PendingRequests(ctx context.Context, fn func([]erasure.Request) error) error {
	return s.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(PendingIndex),
		KeyConditionExpression:    aws.String("pendingPk = :p"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": str(pendingValue)},
	}, func(items []map[string]ddbtypes.AttributeValue) error {
		var rs []erasure.Request
		for _, item := range items {
			var it requestItem
			if err := unmarshalItem(item, &it); err != nil {
				return fmt.Errorf("decode request: %w", err)
			}
			rs = append(rs, it.request())
		}
		return fn(rs)
	})
}

// ListRequests reads a practice's deletion requests from the practice
// index, newest first; status, when set, keeps only those in it (a page may
// then hold fewer than limit).
func (s *Store) ListRequests(ctx context.Context, practiceID string, status erasure.Status, limit int, token string) ([]erasure.Request, string, error) {
	pk := PracticeRequestsPK(practiceID)
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(PracticeIndex),
		KeyConditionExpression:    aws.String("practicePk = :p"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": str(pk)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if status != "" {
		in.FilterExpression = aws.String("#status = :s")
		in.ExpressionAttributeNames = map[string]string{"#status": "status"}
		in.ExpressionAttributeValues[":s"] = str(string(status))
	}
	if token != "" {
		start, err := decodePageToken(token, practiceTokenKeys, "practicePk", pk)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", translate("list requests", err)
	}
	out := make([]erasure.Request, 0, len(res.Items))
	for _, item := range res.Items {
		var it requestItem
		if err := unmarshalItem(item, &it); err != nil {
			return nil, "", fmt.Errorf("decode request: %w", err)
		}
		out = append(out, it.request())
	}
	next := ""
	if len(res.LastEvaluatedKey) > 0 {
		if next, err = encodePageToken(res.LastEvaluatedKey, practiceTokenKeys); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

var practiceTokenKeys = []string{attrPK, attrSK, "practicePk", "practiceSk"}
