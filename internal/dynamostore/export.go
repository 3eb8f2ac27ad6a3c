package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Exports implements the export ports on the table: the export records
// (EXPORT#<id> / EXPORT) and the readers of a client's file, which read it
// with Query on its partitions, a page of at most PageSize items at a time.
type Exports struct {
	db    *dynamodb.Client
	table string
	// PageSize bounds the items of one Query page (default 100): a page
	// is all an export holds of the file at a time.
	PageSize int32
}

var (
	_ export.Access  = (*Exports)(nil)
	_ erasure.Roster = (*Exports)(nil)
	_ export.Records = (*Exports)(nil)
	_ export.Content = (*Exports)(nil)
)

// NewExports returns the export adapter on the named table.
func NewExports(db *dynamodb.Client, table string) *Exports {
	return &Exports{db: retryingConflicts(db), table: table, PageSize: 100}
}

const skExport = "EXPORT"

// ExportPK is the partition of one export record.
func ExportPK(exportID string) string { return "EXPORT#" + exportID }

// ExportSK is the export record's fixed sort key.
const ExportSK = skExport

func (x *Exports) store() *Store { return &Store{db: x.db, table: x.table} }

// Sort keys of the export's own items in other partitions: the client's
// active-export pointer (in the client's partition) and a practitioner's
// export quota (in the practitioner's partition, beside their
// notifications).
const (
	skActiveExport = "EXPORT#ACTIVE"
	skExportQuota  = "EXPORT#QUOTA"

	ActiveExportSK = skActiveExport
	ExportQuotaSK  = skExportQuota
)

// activeExportItem points at the client's latest export.
type activeExportItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	ExportID string `dynamodbav:"exportId"`
}

// exportQuotaItem is a practitioner's latest export times (RFC 3339, oldest
// first) and the version a conditional write compares.
type exportQuotaItem struct {
	PK      string   `dynamodbav:"pk"`
	SK      string   `dynamodbav:"sk"`
	Times   []string `dynamodbav:"requestedAt"`
	Version int64    `dynamodbav:"version"`
}

// Member checks a practitioner against the practice's records, as the
// erasure store does.
func (x *Exports) Member(ctx context.Context, practiceID, sub string) (erasure.Member, error) {
	return x.store().Member(ctx, practiceID, sub)
}

// ExportAccess reads the practitioner item, the client's profile, the
// client's active-export pointer and the practitioner's quota with one
// BatchGetItem.
func (x *Exports) ExportAccess(ctx context.Context, practiceID, sub, clientID string) (export.Gate, error) {
	member := key(PracticePK(practiceID), PractitionerSK(sub))
	profile := key(ClientPK(practiceID, clientID), skProfile)
	active := key(ClientPK(practiceID, clientID), skActiveExport)
	quota := key(PractitionerPK(practiceID, sub), skExportQuota)
	var g export.Gate
	err := batchGetNamed(ctx, x.db, x.table, "read export access", []map[string]ddbtypes.AttributeValue{member, profile, active, quota},
		"#pk, #sk, #practitionerId, #exportId, #requestedAt, #version",
		map[string]string{"#practitionerId": "practitionerId", "#exportId": "exportId", "#requestedAt": "requestedAt", "#version": "version"},
		func(item map[string]ddbtypes.AttributeValue) error {
			pk, _ := item[attrPK].(*ddbtypes.AttributeValueMemberS)
			sk, _ := item[attrSK].(*ddbtypes.AttributeValueMemberS)
			if pk == nil || sk == nil {
				return fmt.Errorf("read export access: an item without its keys")
			}
			switch {
			case pk.Value == PracticePK(practiceID):
				g.Member = practitionerNamed(item, sub)
			case sk.Value == skProfile:
				g.ClientExists = true
			case sk.Value == skActiveExport:
				var it activeExportItem
				if err := unmarshalItem(item, &it); err != nil {
					return fmt.Errorf("decode active export: %w", err)
				}
				g.Active = it.ExportID
			case sk.Value == skExportQuota:
				var it exportQuotaItem
				if err := unmarshalItem(item, &it); err != nil {
					return fmt.Errorf("decode export quota: %w", err)
				}
				g.Quota.Version = it.Version
				for _, v := range it.Times {
					t, err := time.Parse(time.RFC3339Nano, v)
					if err != nil {
						return fmt.Errorf("decode export quota: %w", err)
					}
					g.Quota.Times = append(g.Quota.Times, t.UTC())
				}
			}
			return nil
		})
	if err != nil {
		return export.Gate{}, err
	}
	return g, nil
}

// exportItem is an export record. The lease is Unix milliseconds, which a
// condition compares; the other times are RFC 3339.
type exportItem struct {
	PK            string        `dynamodbav:"pk"`
	SK            string        `dynamodbav:"sk"`
	ID            string        `dynamodbav:"exportId"`
	PracticeID    string        `dynamodbav:"practiceId"`
	ClientID      string        `dynamodbav:"clientId"`
	RequestedBy   string        `dynamodbav:"requestedBy"`
	Status        export.Status `dynamodbav:"status"`
	RequestedAt   time.Time     `dynamodbav:"requestedAt"`
	ScheduleName  string        `dynamodbav:"scheduleName"`
	Attempts      int           `dynamodbav:"attempts"`
	StartedAt     *time.Time    `dynamodbav:"startedAt,omitempty"`
	CompletedAt   *time.Time    `dynamodbav:"completedAt,omitempty"`
	LeaseUntilMs  int64         `dynamodbav:"leaseUntilMs,omitempty"`
	Counts        export.Counts `dynamodbav:"counts"`
	SizeBytes     int64         `dynamodbav:"sizeBytes"`
	ObjectKey     string        `dynamodbav:"objectKey,omitempty"`
	FailureReason string        `dynamodbav:"failureReason,omitempty"`
}

func (it exportItem) export() export.Export {
	e := export.Export{
		ID: it.ID, PracticeID: it.PracticeID, ClientID: it.ClientID, RequestedBy: it.RequestedBy,
		Status: it.Status, RequestedAt: it.RequestedAt.UTC(), ScheduleName: it.ScheduleName,
		Attempts: it.Attempts, Counts: it.Counts, SizeBytes: it.SizeBytes, ObjectKey: it.ObjectKey,
		FailureReason: it.FailureReason,
	}
	if it.StartedAt != nil {
		t := it.StartedAt.UTC()
		e.StartedAt = &t
	}
	if it.CompletedAt != nil {
		t := it.CompletedAt.UTC()
		e.CompletedAt = &t
	}
	return e
}

func decodeExport(item map[string]ddbtypes.AttributeValue) (export.Export, error) {
	var it exportItem
	if err := unmarshalItem(item, &it); err != nil {
		return export.Export{}, fmt.Errorf("decode export: %w", err)
	}
	return it.export(), nil
}

// CreateExport writes the export record, the client's active-export
// pointer and the practitioner's quota in one TransactWriteItems, each
// conditional.
func (x *Exports) CreateExport(ctx context.Context, e export.Export, slot export.Slot) error {
	record, err := MarshalItem(exportItem{
		PK: ExportPK(e.ID), SK: skExport, ID: e.ID, PracticeID: e.PracticeID, ClientID: e.ClientID,
		RequestedBy: e.RequestedBy, Status: e.Status, RequestedAt: e.RequestedAt.UTC(), ScheduleName: e.ScheduleName,
	})
	if err != nil {
		return err
	}
	active, err := MarshalItem(activeExportItem{PK: ClientPK(e.PracticeID, e.ClientID), SK: skActiveExport, ExportID: e.ID})
	if err != nil {
		return err
	}
	quota, err := quotaItem(e, slot.Quota)
	if err != nil {
		return err
	}
	// Each pointer is either absent or still what was read.
	activeCond, activeValues := aws.String("attribute_not_exists(pk)"), map[string]ddbtypes.AttributeValue(nil)
	if slot.Active != "" {
		activeCond, activeValues = aws.String("exportId = :prev"), map[string]ddbtypes.AttributeValue{":prev": str(slot.Active)}
	}
	quotaCond, quotaValues := aws.String("attribute_not_exists(pk)"), map[string]ddbtypes.AttributeValue(nil)
	if prev := slot.Quota.Version - 1; prev > 0 {
		quotaCond, quotaValues = aws.String("#version = :prev"), map[string]ddbtypes.AttributeValue{":prev": num(prev)}
	}
	var quotaNames map[string]string
	if quotaValues != nil {
		quotaNames = map[string]string{"#version": "version"}
	}
	_, err = x.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: &x.table, Item: record, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Put: &ddbtypes.Put{TableName: &x.table, Item: active, ConditionExpression: activeCond, ExpressionAttributeValues: activeValues}},
			{Put: &ddbtypes.Put{TableName: &x.table, Item: quota, ConditionExpression: quotaCond,
				ExpressionAttributeNames: quotaNames, ExpressionAttributeValues: quotaValues}},
		},
	})
	return translate("create export", err)
}

func quotaItem(e export.Export, q export.Quota) (map[string]ddbtypes.AttributeValue, error) {
	it := exportQuotaItem{PK: PractitionerPK(e.PracticeID, e.RequestedBy), SK: skExportQuota, Version: q.Version}
	for _, t := range q.Times {
		it.Times = append(it.Times, t.UTC().Format(time.RFC3339Nano))
	}
	return MarshalItem(it)
}

// ReleaseSlot puts the pointer and the quota back with two conditional
// writes, each a no-op when its item moved on.
func (x *Exports) ReleaseSlot(ctx context.Context, e export.Export, before, after export.Slot) error {
	ownPointer := map[string]ddbtypes.AttributeValue{":id": str(e.ID)}
	var err error
	if before.Active == "" {
		_, err = x.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &x.table, Key: key(ClientPK(e.PracticeID, e.ClientID), skActiveExport),
			ConditionExpression: aws.String("exportId = :id"), ExpressionAttributeValues: ownPointer})
	} else {
		var item map[string]ddbtypes.AttributeValue
		if item, err = MarshalItem(activeExportItem{PK: ClientPK(e.PracticeID, e.ClientID), SK: skActiveExport, ExportID: before.Active}); err != nil {
			return err
		}
		_, err = x.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &x.table, Item: item,
			ConditionExpression: aws.String("exportId = :id"), ExpressionAttributeValues: ownPointer})
	}
	if err = translate("release active export", err); err != nil && !errors.Is(err, identity.ErrConditionFailed) {
		return err
	}
	ownQuota := map[string]ddbtypes.AttributeValue{":v": num(after.Quota.Version)}
	names := map[string]string{"#version": "version"}
	if before.Quota.Version == 0 {
		_, err = x.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &x.table, Key: key(PractitionerPK(e.PracticeID, e.RequestedBy), skExportQuota),
			ConditionExpression: aws.String("#version = :v"), ExpressionAttributeNames: names, ExpressionAttributeValues: ownQuota})
	} else {
		var item map[string]ddbtypes.AttributeValue
		if item, err = quotaItem(e, before.Quota); err != nil {
			return err
		}
		_, err = x.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &x.table, Item: item,
			ConditionExpression: aws.String("#version = :v"), ExpressionAttributeNames: names, ExpressionAttributeValues: ownQuota})
	}
	if err = translate("release export quota", err); err != nil && !errors.Is(err, identity.ErrConditionFailed) {
		return err
	}
	return nil
}

func (x *Exports) GetExport(ctx context.Context, id string) (export.Export, error) {
	var it exportItem
	if err := x.store().get(ctx, ExportPK(id), skExport, &it); err != nil {
		return export.Export{}, err
	}
	return it.export(), nil
}

func (x *Exports) DeletePendingExport(ctx context.Context, id string) error {
	_, err := x.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &x.table, Key: key(ExportPK(id), skExport),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #status = :pending"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pending": str(string(export.StatusPending))},
	})
	return translate("delete pending export", err)
}

// StartExport takes the export with one conditional update: pending, or
// running under an expired lease.
func (x *Exports) StartExport(ctx context.Context, id string, now, leaseUntil time.Time) (export.Export, error) {
	res, err := x.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &x.table, Key: key(ExportPK(id), skExport),
		UpdateExpression: aws.String("SET #status = :running, leaseUntilMs = :lease, startedAt = if_not_exists(startedAt, :now) ADD attempts :one"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (#status = :pending OR " +
			"(#status = :running AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs <= :nowMs)))"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":running": str(string(export.StatusRunning)),
			":pending": str(string(export.StatusPending)),
			":lease":   num(leaseUntil.UnixMilli()),
			":nowMs":   num(now.UnixMilli()),
			":now":     str(now.UTC().Format(time.RFC3339Nano)),
			":one":     num(1),
		},
		ReturnValues: ddbtypes.ReturnValueAllNew,
	})
	if err = translate("start export", err); isCondition(err) {
		// Done, or leased: unless there is no such export at all.
		if _, gerr := x.GetExport(ctx, id); errors.Is(gerr, identity.ErrNotFound) {
			return export.Export{}, fmt.Errorf("start export: %w", identity.ErrNotFound)
		}
		return export.Export{}, err
	}
	if err != nil {
		return export.Export{}, err
	}
	return decodeExport(res.Attributes)
}

func (x *Exports) ReleaseExport(ctx context.Context, id string, leaseUntil time.Time) error {
	_, err := x.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &x.table, Key: key(ExportPK(id), skExport),
		UpdateExpression:          aws.String("REMOVE leaseUntilMs"),
		ConditionExpression:       aws.String("#status = :running AND leaseUntilMs = :lease"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":running": str(string(export.StatusRunning)), ":lease": num(leaseUntil.UnixMilli())},
	})
	if err = translate("release export", err); isCondition(err) {
		return nil // not that lease any more: nothing to give back
	}
	return err
}

func (x *Exports) CompleteExport(ctx context.Context, id string, r export.Result) (export.Export, error) {
	counts, err := marshalValue(r.Counts)
	if err != nil {
		return export.Export{}, err
	}
	res, err := x.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &x.table, Key: key(ExportPK(id), skExport),
		UpdateExpression:         aws.String("SET #status = :ready, completedAt = :at, objectKey = :key, sizeBytes = :size, #counts = :counts REMOVE leaseUntilMs"),
		ConditionExpression:      aws.String("#status = :running"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#counts": "counts"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":ready": str(string(export.StatusReady)), ":running": str(string(export.StatusRunning)),
			":at": str(r.At.UTC().Format(time.RFC3339Nano)), ":key": str(r.ObjectKey),
			":size": num(r.SizeBytes), ":counts": counts,
		},
		ReturnValues: ddbtypes.ReturnValueAllNew,
	})
	if err != nil {
		return export.Export{}, translate("complete export", err)
	}
	return decodeExport(res.Attributes)
}

func (x *Exports) FailExport(ctx context.Context, id string, at time.Time, reason string) error {
	_, err := x.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &x.table, Key: key(ExportPK(id), skExport),
		UpdateExpression:         aws.String("SET #status = :failed, completedAt = :at, failureReason = :reason REMOVE leaseUntilMs"),
		ConditionExpression:      aws.String("#status IN (:pending, :running)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":failed": str(string(export.StatusFailed)), ":pending": str(string(export.StatusPending)),
			":running": str(string(export.StatusRunning)), ":at": str(at.UTC().Format(time.RFC3339Nano)),
			":reason": str(reason),
		},
	})
	return translate("fail export", err)
}

// ---- the client's file ----

// exportContent holds the attributes of the client's file that an export
// reads (dynamostore.Record and ChatSessionItem write them).
type exportContent struct {
	PK              string    `dynamodbav:"pk"`
	SK              string    `dynamodbav:"sk"`
	AuthorRole      string    `dynamodbav:"authorRole"`
	AuthorID        string    `dynamodbav:"authorId"`
	CreatedAt       time.Time `dynamodbav:"createdAt"`
	Title           string    `dynamodbav:"title"`
	Body            string    `dynamodbav:"body"`
	FileName        string    `dynamodbav:"fileName"`
	ObjectKeys      []string  `dynamodbav:"objectKeys"`
	SessionID       string    `dynamodbav:"sessionId"`
	ClientIDs       []string  `dynamodbav:"clientIds"`
	PractitionerIDs []string  `dynamodbav:"practitionerIds"`
}

func (c exportContent) author() export.Author {
	return export.Author{Role: c.AuthorRole, ID: c.AuthorID}
}

// contentQuery reads the items under pk whose sort key starts with prefix,
// the named attributes only, a page of at most PageSize items at a time.
func (x *Exports) contentQuery(ctx context.Context, pk, prefix string, attrs []string, fn func([]exportContent) error) error {
	in := prefixQuery(pk, prefix)
	proj := []string{"#pk", "#sk"}
	for i, a := range attrs {
		n := "#a" + strconv.Itoa(i)
		in.ExpressionAttributeNames[n] = a
		proj = append(proj, n)
	}
	in.ProjectionExpression = aws.String(strings.Join(proj, ", "))
	if x.PageSize > 0 {
		in.Limit = aws.Int32(x.PageSize)
	}
	return x.store().query(ctx, in, func(items []map[string]ddbtypes.AttributeValue) error {
		page := make([]exportContent, len(items))
		if err := unmarshalItems(items, &page); err != nil {
			return fmt.Errorf("decode content: %w", err)
		}
		return fn(page)
	})
}

func (x *Exports) JournalEntries(ctx context.Context, practiceID, clientID string, fn func([]export.JournalEntry) error) error {
	attrs := []string{"authorRole", "authorId", "createdAt", "title", "body"}
	return x.contentQuery(ctx, ClientPK(practiceID, clientID), prefixJournal, attrs, func(cs []exportContent) error {
		page := make([]export.JournalEntry, len(cs))
		for i, c := range cs {
			page[i] = export.JournalEntry{ID: strings.TrimPrefix(c.SK, prefixJournal), Author: c.author(),
				CreatedAt: c.CreatedAt.UTC(), Title: c.Title, Body: c.Body}
		}
		return fn(page)
	})
}

func (x *Exports) Documents(ctx context.Context, practiceID, clientID string, fn func([]export.Document) error) error {
	attrs := []string{"authorRole", "authorId", "createdAt", "title", "fileName", "objectKeys"}
	return x.contentQuery(ctx, ClientPK(practiceID, clientID), prefixDocument, attrs, func(cs []exportContent) error {
		page := make([]export.Document, len(cs))
		for i, c := range cs {
			page[i] = export.Document{ID: strings.TrimPrefix(c.SK, prefixDocument), Author: c.author(),
				CreatedAt: c.CreatedAt.UTC(), Title: c.Title, FileName: c.FileName, ObjectKeys: c.ObjectKeys}
		}
		return fn(page)
	})
}

// ChatSessions reads the client's chat links and, for each page of them,
// their sessions (BatchGetItem); a link whose session is gone is skipped.
func (x *Exports) ChatSessions(ctx context.Context, practiceID, clientID string, fn func([]export.ChatSession) error) error {
	return x.contentQuery(ctx, ClientPK(practiceID, clientID), prefixChatRef, []string{"sessionId"}, func(refs []exportContent) error {
		keys := make([]map[string]ddbtypes.AttributeValue, 0, len(refs))
		order := make([]string, 0, len(refs))
		for _, r := range refs {
			id := r.SessionID
			if id == "" {
				id = strings.TrimPrefix(r.SK, prefixChatRef)
			}
			keys = append(keys, key(ChatPK(practiceID, id), skSession))
			order = append(order, id)
		}
		found, err := x.batchGet(ctx, keys)
		if err != nil {
			return err
		}
		page := make([]export.ChatSession, 0, len(order))
		for _, id := range order {
			c, ok := found[ChatPK(practiceID, id)]
			if !ok {
				continue
			}
			page = append(page, export.ChatSession{ID: id, Title: c.Title, ClientIDs: c.ClientIDs,
				PractitionerIDs: c.PractitionerIDs, CreatedAt: c.CreatedAt.UTC()})
		}
		if len(page) == 0 {
			return nil
		}
		return fn(page)
	})
}

// batchGet reads items by key, consistently; the result is by partition
// key.
func (x *Exports) batchGet(ctx context.Context, keys []map[string]ddbtypes.AttributeValue) (map[string]exportContent, error) {
	out := map[string]exportContent{}
	err := batchGet(ctx, x.db, x.table, "batch get sessions", keys, "", func(item map[string]ddbtypes.AttributeValue) error {
		var c exportContent
		if err := unmarshalItem(item, &c); err != nil {
			return fmt.Errorf("decode session: %w", err)
		}
		out[c.PK] = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (x *Exports) ChatMessages(ctx context.Context, practiceID, sessionID string, fn func([]export.ChatMessage) error) error {
	attrs := []string{"authorRole", "authorId", "createdAt", "body"}
	return x.contentQuery(ctx, ChatPK(practiceID, sessionID), prefixMessage, attrs, func(cs []exportContent) error {
		page := make([]export.ChatMessage, len(cs))
		for i, c := range cs {
			page[i] = export.ChatMessage{ID: messageID(c.SK), Author: c.author(), CreatedAt: c.CreatedAt.UTC(), Body: c.Body}
		}
		return fn(page)
	})
}

// messageID is the id part of a message's sort key, MESSAGE#<time>#<id>.
func messageID(sk string) string {
	rest := strings.TrimPrefix(sk, prefixMessage)
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		return rest[i+1:]
	}
	return rest
}
