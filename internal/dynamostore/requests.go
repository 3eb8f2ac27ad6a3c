package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// requestItem is a deletion request. Times that conditions compare (the
// delivery claim, the purge lease) are Unix milliseconds; the rest are RFC
// 3339.
type requestItem struct {
	PK           string         `dynamodbav:"pk"`
	SK           string         `dynamodbav:"sk"`
	PendingPK    string         `dynamodbav:"pendingPk,omitempty"`
	PendingSK    string         `dynamodbav:"pendingSk,omitempty"`
	PracticePK   string         `dynamodbav:"practicePk,omitempty"`
	PracticeSK   string         `dynamodbav:"practiceSk,omitempty"`
	ID           string         `dynamodbav:"requestId"`
	PracticeID   string         `dynamodbav:"practiceId"`
	ClientID     string         `dynamodbav:"clientId"`
	RequestedBy  string         `dynamodbav:"requestedBy"`
	Status       erasure.Status `dynamodbav:"status"`
	RequestedAt  time.Time      `dynamodbav:"requestedAt"`
	PurgeAt      time.Time      `dynamodbav:"purgeAt"`
	WillDelete   erasure.Counts `dynamodbav:"willDelete"`
	ScheduleName string         `dynamodbav:"scheduleName"`

	// Owed is the set of deliveries owed; Delivered maps each one made to
	// when (a map from the start, so one can be set in it);
	// DeliveryClaimMs is set while one invocation makes them.
	Owed            []string             `dynamodbav:"owed,stringset,omitempty"`
	Delivered       map[string]time.Time `dynamodbav:"delivered"`
	DeliveryClaimMs int64                `dynamodbav:"deliveryClaimMs,omitempty"`

	PurgeStartedAt *time.Time `dynamodbav:"purgeStartedAt,omitempty"`
	CompletedAt    *time.Time `dynamodbav:"completedAt,omitempty"`
	CancelledAt    *time.Time `dynamodbav:"cancelledAt,omitempty"`
	SetAsideAt     *time.Time `dynamodbav:"setAsideAt,omitempty"`
	LeaseUntilMs   int64      `dynamodbav:"leaseUntilMs,omitempty"`
	Invocations    int        `dynamodbav:"invocations"`
	PurgePhase     string     `dynamodbav:"purgePhase,omitempty"`
	PurgeCursor    string     `dynamodbav:"purgeCursor,omitempty"`
	// SkippedObjectKeys is the set of object keys the purge left outside
	// the client's folder; UnresolvedObjectKeys those S3 refused for good
	// or no object can have.
	SkippedObjectKeys    []string `dynamodbav:"skippedObjectKeys,stringset,omitempty"`
	UnresolvedObjectKeys []string `dynamodbav:"unresolvedObjectKeys,stringset,omitempty"`

	DeletedJournalEntries int `dynamodbav:"deletedJournalEntries"`
	DeletedDocuments      int `dynamodbav:"deletedDocuments"`
	DeletedChatSessions   int `dynamodbav:"deletedChatSessions"`
	DeletedChatMessages   int `dynamodbav:"deletedChatMessages"`
	DeletedObjects        int `dynamodbav:"deletedObjects"`
}

func (it requestItem) request() erasure.Request {
	return erasure.Request{
		ID: it.ID, PracticeID: it.PracticeID, ClientID: it.ClientID, RequestedBy: it.RequestedBy,
		Status: it.Status, RequestedAt: it.RequestedAt.UTC(), PurgeAt: it.PurgeAt.UTC(),
		WillDelete: it.WillDelete, ScheduleName: it.ScheduleName,
		Owed: it.Owed, Delivered: it.Delivered,
		PurgeStartedAt: it.PurgeStartedAt, CompletedAt: it.CompletedAt, CancelledAt: it.CancelledAt, SetAsideAt: it.SetAsideAt,
		Invocations: it.Invocations, PurgePhase: it.PurgePhase, PurgeCursor: it.PurgeCursor,
		SkippedObjects: it.SkippedObjectKeys, UnresolvedObjects: it.UnresolvedObjectKeys, DeletedObjects: it.DeletedObjects,
		Deleted: erasure.Counts{
			JournalEntries: it.DeletedJournalEntries, Documents: it.DeletedDocuments,
			ChatSessions: it.DeletedChatSessions, ChatMessages: it.DeletedChatMessages,
		},
	}
}

type activeItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	RequestID string `dynamodbav:"requestId"`
}

func pendingSK(purgeAt time.Time, id string) string {
	return purgeAt.UTC().Format(timeKeyLayout) + "#" + id
}

// lifecycle is what a write needs to make ev happen to a request: the
// condition, built from erasure.Lifecycle's rows for ev (each row's from
// status, and its guard), and the row's new status and owed deliveries.
// Every status change this adapter makes goes through it, so its
// conditions are the lifecycle table's; the store contract's lifecycle
// test holds them to it.
type lifecycle struct {
	cond   string
	names  map[string]string
	values map[string]ddbtypes.AttributeValue
	to     erasure.Status
	owes   []string
}

func transition(ev erasure.Event, now time.Time) lifecycle {
	l := lifecycle{
		names:  map[string]string{"#status": "status"},
		values: map[string]ddbtypes.AttributeValue{},
	}
	var alts []string
	for i, t := range erasure.Lifecycle {
		if t.Event != ev {
			continue
		}
		from := fmt.Sprintf(":from%d", i)
		l.values[from] = str(string(t.From))
		alt := "#status = " + from
		if t.Guard == erasure.NoLiveLease {
			alt += " AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs <= :nowMs)"
			l.values[":nowMs"] = num(now.UnixMilli())
		}
		alts = append(alts, "("+alt+")")
		l.to, l.owes = t.To, t.Owes
	}
	if len(alts) == 0 {
		panic("dynamostore: no lifecycle row for event " + string(ev))
	}
	l.cond = strings.Join(alts, " OR ")
	if l.to != "" {
		l.values[":to"] = str(string(l.to))
	}
	if len(l.owes) > 0 {
		l.values[":owes"] = &ddbtypes.AttributeValueMemberSS{Value: l.owes}
	}
	return l
}

// set is the update clause that moves the request to the row's status
// (and adds what it owes), before the caller's own SET and REMOVE parts.
func (l lifecycle) update(set, remove string) string {
	u := "SET #status = :to"
	if set != "" {
		u += ", " + set
	}
	if remove != "" {
		u += " REMOVE " + remove
	}
	if len(l.owes) > 0 {
		u += " ADD owed :owes"
	}
	return u
}

// with adds the caller's values to the row's.
func (l lifecycle) with(values map[string]ddbtypes.AttributeValue) map[string]ddbtypes.AttributeValue {
	out := make(map[string]ddbtypes.AttributeValue, len(l.values)+len(values))
	for k, v := range l.values {
		out[k] = v
	}
	for k, v := range values {
		out[k] = v
	}
	return out
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
	return s.pointed(ctx, practiceID, clientID, skActive)
}

func (s *Store) LastCancelled(ctx context.Context, practiceID, clientID string) (erasure.Request, error) {
	return s.pointed(ctx, practiceID, clientID, skCancelled)
}

// pointed reads the request a pointer item in the client's partition names.
func (s *Store) pointed(ctx context.Context, practiceID, clientID, sk string) (erasure.Request, error) {
	var a activeItem
	if err := s.get(ctx, ClientPK(practiceID, clientID), sk, &a); err != nil {
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

// CreateRequest writes the request accepting: in the sweep's index, not
// yet in the practice's (MarkScheduled puts it there).
func (s *Store) CreateRequest(ctx context.Context, r erasure.Request) error {
	item, err := MarshalItem(requestItem{
		PK: RequestPK(r.ID), SK: skRequest,
		PendingPK: pendingValue, PendingSK: pendingSK(r.PurgeAt, r.ID),
		ID: r.ID, PracticeID: r.PracticeID, ClientID: r.ClientID, RequestedBy: r.RequestedBy,
		Status: erasure.StatusAccepting, RequestedAt: r.RequestedAt, PurgeAt: r.PurgeAt,
		WillDelete: r.WillDelete, ScheduleName: r.ScheduleName,
		Delivered: map[string]time.Time{},
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
	l := transition(erasure.EventRollBack, time.Now())
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Delete: &ddbtypes.Delete{
				TableName: &s.table, Key: key(RequestPK(r.ID), skRequest),
				ConditionExpression: &l.cond, ExpressionAttributeNames: l.names, ExpressionAttributeValues: l.values,
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

// transit runs the update that makes ev happen, with the caller's SET and
// REMOVE parts and values.
func (s *Store) transit(ctx context.Context, op, id string, ev erasure.Event, now time.Time, set, remove string, values map[string]ddbtypes.AttributeValue) (erasure.Request, error) {
	l := transition(ev, now)
	return s.update(ctx, op, id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String(l.update(set, remove)),
		ConditionExpression:       &l.cond,
		ExpressionAttributeNames:  l.names,
		ExpressionAttributeValues: l.with(values),
	})
}

// MarkScheduled puts the request in the practice's index as it leaves
// accepting.
func (s *Store) MarkScheduled(ctx context.Context, r erasure.Request) error {
	_, err := s.transit(ctx, "mark scheduled", r.ID, erasure.EventScheduled, time.Now(),
		"practicePk = :ppk, practiceSk = :psk", "", map[string]ddbtypes.AttributeValue{
			":ppk": str(PracticeRequestsPK(r.PracticeID)), ":psk": str(pendingSK(r.RequestedAt, r.ID)),
		})
	if errors.Is(err, identity.ErrConditionFailed) {
		// Already past accepting, or gone.
		_, gerr := s.GetRequest(ctx, r.ID)
		return gerr
	}
	return err
}

func (s *Store) ClaimDeliveries(ctx context.Context, id string, now, staleBefore time.Time) (erasure.Request, error) {
	return s.update(ctx, "claim deliveries", id, &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("SET deliveryClaimMs = :now"),
		ConditionExpression: aws.String("attribute_exists(owed) AND (attribute_not_exists(deliveryClaimMs) OR deliveryClaimMs < :stale)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":now": num(now.UnixMilli()), ":stale": num(staleBefore.UnixMilli()),
		},
	})
}

// MarkDelivered moves kind from the owed set to the delivered map. DELETE
// of the set's last member removes the attribute, so "owes nothing" is
// attribute_not_exists(owed).
func (s *Store) MarkDelivered(ctx context.Context, id, kind string, at time.Time) error {
	v, err := marshalValue(at)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, "mark delivered", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("DELETE owed :k SET delivered.#k = :at"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#k": kind},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":k": &ddbtypes.AttributeValueMemberSS{Value: []string{kind}}, ":at": v},
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		return fmt.Errorf("mark delivered: %w", identity.ErrNotFound)
	}
	return err
}

// ReleaseDeliveries drops the claim, then takes a finished request that
// owes nothing off the sweep's index: two writes, as DynamoDB cannot make
// a REMOVE depend on a condition of its own; a failure between them leaves
// the request in the index, where the sweep finds it and releases again.
func (s *Store) ReleaseDeliveries(ctx context.Context, id string) error {
	_, err := s.update(ctx, "release deliveries", id, &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("REMOVE deliveryClaimMs"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if err != nil {
		return err
	}
	var finished []string
	values := map[string]ddbtypes.AttributeValue{}
	for i, st := range erasure.Statuses {
		if st.Finished() {
			k := fmt.Sprintf(":f%d", i)
			finished = append(finished, k)
			values[k] = str(string(st))
		}
	}
	_, err = s.update(ctx, "leave the sweep's index", id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("REMOVE pendingPk, pendingSk"),
		ConditionExpression:       aws.String("attribute_exists(pendingPk) AND attribute_not_exists(owed) AND #status IN (" + strings.Join(finished, ", ") + ")"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: values,
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		return nil // owes more, not finished, or out already
	}
	return err
}

// CancelRequest marks the request cancelled, frees the client's deletion
// pointer and makes the request their last cancelled one, in one
// transaction. Its condition is what makes a cancel racing a purge start
// end one way: the purge's StartPurge needs no live lease and takes one,
// this needs none.
func (s *Store) CancelRequest(ctx context.Context, r erasure.Request, at time.Time) error {
	v, err := marshalValue(at)
	if err != nil {
		return err
	}
	l := transition(erasure.EventCancel, at)
	last, err := MarshalItem(activeItem{PK: ClientPK(r.PracticeID, r.ClientID), SK: skCancelled, RequestID: r.ID})
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Update: &ddbtypes.Update{
				TableName: &s.table, Key: key(RequestPK(r.ID), skRequest),
				UpdateExpression:          aws.String(l.update("cancelledAt = :at", "")),
				ConditionExpression:       &l.cond,
				ExpressionAttributeNames:  l.names,
				ExpressionAttributeValues: l.with(map[string]ddbtypes.AttributeValue{":at": v}),
			}},
			{Delete: &ddbtypes.Delete{
				TableName: &s.table, Key: key(ClientPK(r.PracticeID, r.ClientID), skActive),
				ConditionExpression:       aws.String("attribute_not_exists(pk) OR requestId = :id"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": str(r.ID)},
			}},
			{Put: &ddbtypes.Put{TableName: &s.table, Item: last}},
		},
	})
	return translate("cancel request", err)
}

func (s *Store) StartPurge(ctx context.Context, id string, now, leaseUntil time.Time, retry bool) (erasure.Request, error) {
	at, err := marshalValue(now)
	if err != nil {
		return erasure.Request{}, err
	}
	ev, remove := erasure.EventStartPurge, ""
	if retry {
		ev, remove = erasure.EventRetry, "unresolvedObjectKeys"
	}
	l := transition(ev, now)
	return s.update(ctx, "start purge", id, &dynamodb.UpdateItemInput{
		UpdateExpression:         aws.String(l.update("purgeStartedAt = if_not_exists(purgeStartedAt, :now), leaseUntilMs = :lease", remove) + " ADD invocations :one"),
		ConditionExpression:      &l.cond,
		ExpressionAttributeNames: l.names,
		ExpressionAttributeValues: l.with(map[string]ddbtypes.AttributeValue{
			":now": at, ":nowMs": num(now.UnixMilli()), ":lease": num(leaseUntil.UnixMilli()), ":one": num(1),
		}),
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

func (s *Store) Checkpoint(ctx context.Context, id, phase, cursor string, c erasure.Counts, objects int) error {
	_, err := s.update(ctx, "checkpoint", id, &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("SET purgePhase = :phase, purgeCursor = :cursor ADD deletedJournalEntries :j, deletedDocuments :d, deletedChatSessions :s, deletedChatMessages :m, deletedObjects :o"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":phase": str(phase), ":cursor": str(cursor),
			":j": num(int64(c.JournalEntries)), ":d": num(int64(c.Documents)),
			":s": num(int64(c.ChatSessions)), ":m": num(int64(c.ChatMessages)), ":o": num(int64(objects)),
		},
	})
	return err
}

// RecordSkippedObjects adds keys to the request's string set
// skippedObjectKeys: ADD of a set is a union, so recording a key again
// changes nothing. DynamoDB refuses a set with a value twice, and an empty
// one, so the keys are made distinct and none is no write.
func (s *Store) RecordSkippedObjects(ctx context.Context, id string, keys []string) error {
	return s.addKeys(ctx, "record skipped objects", id, "skippedObjectKeys", keys)
}

// RecordUnresolvedObjects adds keys to the set unresolvedObjectKeys, as
// RecordSkippedObjects does to its set.
func (s *Store) RecordUnresolvedObjects(ctx context.Context, id string, keys []string) error {
	return s.addKeys(ctx, "record unresolved objects", id, "unresolvedObjectKeys", keys)
}

func (s *Store) addKeys(ctx context.Context, op, id, attr string, keys []string) error {
	set := slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(set) == 0 {
		return nil
	}
	_, err := s.update(ctx, op, id, &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String("ADD #keys :k"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#keys": attr},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":k": &ddbtypes.AttributeValueMemberSS{Value: set}},
	})
	if errors.Is(err, identity.ErrConditionFailed) {
		return fmt.Errorf("%s: %w", op, identity.ErrNotFound)
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
// the pointer gone and makes the second. The request stays in the sweep's
// index until what completion owes is delivered.
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
	return s.transit(ctx, "complete purge", id, erasure.EventComplete, at,
		"completedAt = :at, backupsClearAt = :clear", "leaseUntilMs", map[string]ddbtypes.AttributeValue{":at": v, ":clear": clear})
}

// SetAside ends a purge with objects left for support: the portal stays
// closed and the client's pointer stays, until a retry completes it.
func (s *Store) SetAside(ctx context.Context, id string, at time.Time) (erasure.Request, error) {
	v, err := marshalValue(at)
	if err != nil {
		return erasure.Request{}, err
	}
	return s.transit(ctx, "set aside", id, erasure.EventSetAside, at, "setAsideAt = :at", "leaseUntilMs", map[string]ddbtypes.AttributeValue{":at": v})
}

// OutstandingRequests reads the sweep's index: sparse, it holds a request
// from its creation until it is finished and owes nothing.
func (s *Store) OutstandingRequests(ctx context.Context, fn func([]erasure.Request) error) error {
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
