package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Store implements the erasure storage ports on one DynamoDB table.
type Store struct {
	db    *dynamodb.Client
	table string
}

var (
	_ erasure.SettingStore      = (*Store)(nil)
	_ erasure.Directory         = (*Store)(nil)
	_ erasure.Roster            = (*Store)(nil)
	_ erasure.RequestStore      = (*Store)(nil)
	_ erasure.NotificationStore = (*Store)(nil)
	_ erasure.Content           = (*Store)(nil)
	_ erasure.Inbox             = (*Store)(nil)
)

// New returns a Store on the named table.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: retryingConflicts(db), table: table}
}

// retryingConflicts returns a client like db whose retries also cover a
// call DynamoDB refused for a transaction in flight on one of its items:
// a TransactionConflictException, or a TransactionCanceledException whose
// reasons are only conflicts and throttling (the SDK retries neither).
// Such a call had no effect, and a moment later the other transaction is
// done, so it is safe and right to make it again; a condition that failed
// is still an answer.
func retryingConflicts(db *dynamodb.Client) *dynamodb.Client {
	return dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		if r, ok := o.Retryer.(aws.RetryerV2); ok {
			o.Retryer = conflictRetryer{r}
			o.APIOptions = append(slices.Clip(o.APIOptions), countFailures)
		}
	})
}

// ForBatch returns a client like db for a function that works through a
// client's partition for minutes (the purge, the replay): DynamoDB
// throttles a partition's reads past its read rate (and its writes; the
// purge paces those itself), and the SDK's three attempts, after waits of
// up to a few seconds, can fail a query a purge could have waited for,
// turning a throttle into a failed invocation. Its calls are made up to
// batchAttempts times, after the SDK's own backoff (up to batchMaxBackoff),
// and spend no retry quota: the quota guards a fleet against retry storms
// on a failing service, while a purge meets throttling as a matter of
// course and its retries wait, rather than press harder. The function's
// deadline still bounds it.
func ForBatch(db *dynamodb.Client) *dynamodb.Client {
	return dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = batchAttempts
			so.MaxBackoff = batchMaxBackoff
			so.RateLimiter = ratelimit.None
		})
	})
}

// batchAttempts and batchMaxBackoff are ForBatch's budget: a partition's
// bucket refills within a second, so ten attempts, waiting up to 1, 2, 4,
// 8 s and then 10 s each, outlast any throttle of one.
var (
	batchAttempts   = 10
	batchMaxBackoff = 10 * time.Second
)

// failuresKey holds, in a call's context, how many of its attempts failed
// for something other than a conflict.
type failuresKey struct{}

// countFailures gives each call a count of its failed attempts, for
// conflictRetryer to keep other errors to the wrapped retryer's budget.
func countFailures(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CountFailures",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(context.WithValue(ctx, failuresKey{}, new(atomic.Int32)), in)
		}), middleware.Before)
}

// conflictAttempts is how many times a call refused only for conflicting
// transactions is made. DynamoDB's advice for TransactionConflict is to
// retry with backoff; a conflict lasts as long as the other transaction
// (tens of milliseconds), so many short waits converge where the SDK's
// three attempts of up to seconds each do not: twenty concurrent requests
// for one client's account, say, each conflict with whichever is in
// flight until the first commits and the rest meet its condition.
const conflictAttempts = 12

// conflictRetryer is the SDK's retryer with a budget of its own for
// conflicts. The SDK has no per-error attempt budget, so this wrapper
// says it: a conflict is retried up to conflictAttempts times after a
// jittered wait of at most 25 ms doubling per attempt (at most 250 ms),
// spends none of the retry quota (it is no sign of DynamoDB failing);
// every other error keeps the wrapped retryer's attempts, waits and quota.
type conflictRetryer struct{ aws.RetryerV2 }

func (r conflictRetryer) IsErrorRetryable(err error) bool {
	return transient(err) || r.RetryerV2.IsErrorRetryable(err)
}

func (r conflictRetryer) MaxAttempts() int {
	return max(r.RetryerV2.MaxAttempts(), conflictAttempts)
}

func (r conflictRetryer) GetRetryToken(ctx context.Context, err error) (func(error) error, error) {
	if conflicted(err) {
		return func(error) error { return nil }, nil
	}
	if failed, ok := ctx.Value(failuresKey{}).(*atomic.Int32); ok {
		if n, most := int(failed.Add(1)), r.RetryerV2.MaxAttempts(); most > 0 && n >= most {
			return nil, &retry.MaxAttemptsError{Attempt: n, Err: err}
		}
	}
	return r.RetryerV2.GetRetryToken(ctx, err)
}

func (r conflictRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if conflicted(err) {
		ceiling := min(25*time.Millisecond<<min(attempt, 10), 250*time.Millisecond)
		return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond, nil
	}
	// attempt counts the conflicts too: the wait is never longer than the
	// wrapped retryer's last.
	return r.RetryerV2.RetryDelay(min(attempt, max(r.RetryerV2.MaxAttempts()-1, 1)), err)
}

// transient reports whether DynamoDB refused a call, with no effect, for
// another transaction in flight or for its rate.
func transient(err error) bool { return cancelledOnly(err, cancelledTransient) }

// conflicted reports whether DynamoDB refused a call, with no effect, only
// for another transaction in flight on one of its items.
func conflicted(err error) bool { return cancelledOnly(err, cancelledConflict) }

// The cancellation reasons of a transaction refused, with no effect, for a
// conflict, and for a conflict or its rate.
var (
	cancelledConflict  = map[string]bool{"TransactionConflict": true}
	cancelledTransient = map[string]bool{"TransactionConflict": true, "ThrottlingError": true, "ProvisionedThroughputExceeded": true}
)

// cancelledOnly reports whether err is a TransactionConflictException, or
// a cancelled transaction whose reasons are all in codes (or none).
func cancelledOnly(err error, codes map[string]bool) bool {
	var conflict *ddbtypes.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	var tce *ddbtypes.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	found := false
	for _, reason := range tce.CancellationReasons {
		switch c := aws.ToString(reason.Code); {
		case c == "" || c == "None":
		case codes[c]:
			found = true
		default:
			return false
		}
	}
	return found
}

func key(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		attrPK: &ddbtypes.AttributeValueMemberS{Value: pk},
		attrSK: &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func num(v int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(v)}
}

// translate maps SDK errors onto the erasure sentinels: a lost condition
// is identity.ErrConditionFailed, and throttling or a failure on
// DynamoDB's side wraps identity.ErrUnavailable (with the SDK's error, for
// the log). Every call of the table goes through it.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s: %w", op, identity.ErrConditionFailed)
	}
	var tce *ddbtypes.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return fmt.Errorf("%s: %w", op, identity.ErrConditionFailed)
			}
		}
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, identity.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// throttleCodes are DynamoDB's error codes for a call refused for its
// rate; cancelledThrottled the cancellation reasons of a transaction
// refused so.
var (
	throttleCodes      = map[string]bool{"ProvisionedThroughputExceededException": true, "ThrottlingException": true, "RequestLimitExceeded": true}
	cancelledThrottled = map[string]bool{"ProvisionedThroughputExceeded": true, "ThrottlingError": true}
)

// unavailable reports whether err (what the SDK returned once its retries
// were spent) is DynamoDB throttling the call, the SDK's retry quota
// running out (which throttling spends), transactions in flight on its
// items, or a failure on DynamoDB's side
// (a server fault, a 5xx): nothing the request did wrong, and the same
// call may well succeed a little later.
func unavailable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && (throttleCodes[api.ErrorCode()] || api.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && (status.HTTPStatusCode() >= 500 || status.HTTPStatusCode() == 429) {
		return true
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true
	}
	if transient(err) {
		return true // conflicts or throttling outlasted every retry
	}
	var tce *ddbtypes.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if cancelledThrottled[aws.ToString(r.Code)] {
				return true
			}
		}
	}
	return false
}

func (s *Store) get(ctx context.Context, pk, sk string, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return translate("get item", err)
	}
	if res.Item == nil {
		return identity.ErrNotFound
	}
	if err := unmarshalItem(res.Item, out); err != nil {
		return fmt.Errorf("decode item: %w", err)
	}
	return nil
}

// query calls fn with each page of items under pk whose sort key starts
// with prefix. filter and projection are optional. The next page is read
// while fn works on the last, so that a caller which takes its time over
// a page (the purge, pacing its deletes) does not wait for the read too.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, fn func([]map[string]ddbtypes.AttributeValue) error) error {
	in.TableName = &s.table
	p := dynamodb.NewQueryPaginator(s.db, in)
	type result struct {
		page *dynamodb.QueryOutput
		err  error
	}
	fetch := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			page, err := p.NextPage(ctx)
			ch <- result{page, err}
		}()
		return ch
	}
	if !p.HasMorePages() {
		return nil
	}
	next := fetch()
	for {
		r := <-next
		if r.err != nil {
			return translate("query", r.err)
		}
		more := p.HasMorePages()
		if more {
			next = fetch()
		}
		if len(r.page.Items) > 0 {
			if err := fn(r.page.Items); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

func prefixQuery(pk, prefix string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK,
		},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": str(pk), ":prefix": str(prefix),
		},
		ConsistentRead: aws.Bool(true),
	}
}

// ---- settings ----

type settingItem struct {
	PK        string     `dynamodbav:"pk"`
	SK        string     `dynamodbav:"sk"`
	Enabled   bool       `dynamodbav:"enabled"`
	UpdatedAt *time.Time `dynamodbav:"updatedAt,omitempty"`
	UpdatedBy string     `dynamodbav:"updatedBy,omitempty"`
}

func (s *Store) GetSetting(ctx context.Context, practiceID string) (erasure.Setting, error) {
	// The setting's attributes only: the settings function's IAM policy
	// lets it read no others, and a read without a projection asks for all.
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            &s.table,
		Key:                  key(PracticePK(practiceID), skSetting),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("#pk, #sk, #enabled, #updatedAt, #updatedBy"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK, "#enabled": "enabled", "#updatedAt": "updatedAt", "#updatedBy": "updatedBy",
		},
	})
	if err != nil {
		return erasure.Setting{}, translate("get setting", err)
	}
	if res.Item == nil {
		return erasure.Setting{PracticeID: practiceID}, nil
	}
	var it settingItem
	if err := unmarshalItem(res.Item, &it); err != nil {
		return erasure.Setting{}, fmt.Errorf("decode setting: %w", err)
	}
	return erasure.Setting{PracticeID: practiceID, Enabled: it.Enabled, UpdatedAt: it.UpdatedAt, UpdatedBy: it.UpdatedBy}, nil
}

// settingProjection reads, of the practice's partition, only what the
// setting and a membership check need (the settings function's role may
// read nothing else).
const settingProjection = "#pk, #sk, #enabled, #updatedAt, #updatedBy, #ownerId, #practitionerId"

var settingNames = map[string]string{
	"#enabled": "enabled", "#updatedAt": "updatedAt", "#updatedBy": "updatedBy", "#ownerId": "ownerId",
	"#practitionerId": "practitionerId",
}

// GetSettingAs reads the setting, the practice record and the caller's
// practitioner item with one BatchGetItem.
func (s *Store) GetSettingAs(ctx context.Context, practiceID, sub string) (erasure.Setting, erasure.Member, error) {
	st := erasure.Setting{PracticeID: practiceID}
	m, found, err := s.member(ctx, practiceID, sub, func(item map[string]ddbtypes.AttributeValue) error {
		var it settingItem
		if err := unmarshalItem(item, &it); err != nil {
			return fmt.Errorf("decode setting: %w", err)
		}
		st.Enabled, st.UpdatedAt, st.UpdatedBy = it.Enabled, it.UpdatedAt, it.UpdatedBy
		return nil
	}, key(PracticePK(practiceID), skSetting))
	if err != nil {
		return erasure.Setting{}, erasure.Member{}, err
	}
	if !found {
		return erasure.Setting{}, erasure.Member{}, identity.ErrNotFound
	}
	return st, m, nil
}

// Member reads the practice record and the practitioner item of sub with
// one BatchGetItem.
func (s *Store) Member(ctx context.Context, practiceID, sub string) (erasure.Member, error) {
	m, found, err := s.member(ctx, practiceID, sub, nil)
	if err != nil {
		return erasure.Member{}, err
	}
	if !found {
		return erasure.Member{}, identity.ErrNotFound
	}
	return m, nil
}

// member reads, in one BatchGetItem, the practice record, sub's
// practitioner item and the extra keys of the practice's partition (each
// handed to other). found is whether the practitioner item exists.
func (s *Store) member(ctx context.Context, practiceID, sub string, other func(map[string]ddbtypes.AttributeValue) error, extra ...map[string]ddbtypes.AttributeValue) (erasure.Member, bool, error) {
	pk := PracticePK(practiceID)
	keys := append([]map[string]ddbtypes.AttributeValue{key(pk, skPractice), key(pk, PractitionerSK(sub))}, extra...)
	var (
		m     = erasure.Member{Practitioner: erasure.Practitioner{ID: sub}}
		found bool
		owner string
	)
	err := batchGetNamed(ctx, s.db, s.table, "read membership", keys, settingProjection, settingNames, func(item map[string]ddbtypes.AttributeValue) error {
		sk, _ := item[attrSK].(*ddbtypes.AttributeValueMemberS)
		switch {
		case sk == nil:
			return fmt.Errorf("read membership: an item without a sort key")
		case sk.Value == skPractice:
			var it PracticeItem
			if err := unmarshalItem(item, &it); err != nil {
				return fmt.Errorf("decode practice: %w", err)
			}
			owner = it.OwnerID
		case sk.Value == PractitionerSK(sub):
			// The item must name the practitioner too: an item with the
			// right key alone (which a function allowed to write the
			// practice's setting could make) is nobody's.
			found = practitionerNamed(item, sub)
		case other != nil:
			return other(item)
		}
		return nil
	})
	if err != nil {
		return erasure.Member{}, false, err
	}
	m.Owner = owner != "" && owner == sub
	return m, found, nil
}

func (s *Store) PutSetting(ctx context.Context, st erasure.Setting) error {
	item, err := MarshalItem(settingItem{
		PK: PracticePK(st.PracticeID), SK: skSetting,
		Enabled: st.Enabled, UpdatedAt: st.UpdatedAt, UpdatedBy: st.UpdatedBy,
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return translate("put setting", err)
}

// ---- directory ----

// PracticeItem is a practice's record, written by the platform.
type PracticeItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Name    string `dynamodbav:"name"`
	OwnerID string `dynamodbav:"ownerId"`
}

// PractitionerItem is a team member's record, written by the platform.
type PractitionerItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	ID       string `dynamodbav:"practitionerId"`
	Name     string `dynamodbav:"name"`
	Email    string `dynamodbav:"email"`
	TeamRole string `dynamodbav:"teamRole"`
}

// ClientItem is a client's profile, written by the platform and never by
// this service.
type ClientItem struct {
	PK              string   `dynamodbav:"pk"`
	SK              string   `dynamodbav:"sk"`
	ID              string   `dynamodbav:"clientId"`
	FirstName       string   `dynamodbav:"firstName"`
	LastName        string   `dynamodbav:"lastName"`
	Email           string   `dynamodbav:"email,omitempty"`
	PractitionerIDs []string `dynamodbav:"practitionerIds"`
	// PortalUserID is the sub of the client's portal user.
	PortalUserID string `dynamodbav:"portalUserId,omitempty"`
}

func (s *Store) GetPractice(ctx context.Context, practiceID string) (erasure.Practice, error) {
	var it PracticeItem
	if err := s.get(ctx, PracticePK(practiceID), skPractice, &it); err != nil {
		return erasure.Practice{}, err
	}
	return erasure.Practice{ID: practiceID, Name: it.Name, OwnerID: it.OwnerID}, nil
}

func (s *Store) GetPractitioners(ctx context.Context, practiceID string, ids []string) ([]erasure.Practitioner, error) {
	keys := make([]map[string]ddbtypes.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(PracticePK(practiceID), PractitionerSK(id))
	}
	var out []erasure.Practitioner
	err := batchGet(ctx, s.db, s.table, "batch get practitioners", keys, "", func(item map[string]ddbtypes.AttributeValue) error {
		var it PractitionerItem
		if err := unmarshalItem(item, &it); err != nil {
			return fmt.Errorf("decode practitioner: %w", err)
		}
		out = append(out, erasure.Practitioner{ID: it.ID, Name: it.Name, Email: it.Email})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) GetClient(ctx context.Context, practiceID, clientID string) (erasure.Client, error) {
	var it ClientItem
	if err := s.get(ctx, ClientPK(practiceID, clientID), skProfile, &it); err != nil {
		return erasure.Client{}, err
	}
	return erasure.Client{
		PracticeID: practiceID, ID: clientID,
		FirstName: it.FirstName, LastName: it.LastName, Email: it.Email, PractitionerIDs: it.PractitionerIDs,
		PortalUserID: it.PortalUserID,
	}, nil
}

// practitionerNamed reports whether a practitioner item names sub as its
// practitionerId.
func practitionerNamed(item map[string]ddbtypes.AttributeValue, sub string) bool {
	id, ok := item["practitionerId"].(*ddbtypes.AttributeValueMemberS)
	return ok && id.Value == sub
}

// backoff sleeps before retry attempt n (1, 2, ...): exponential with full
// jitter, capped at two seconds.
func backoff(ctx context.Context, attempt int) error {
	maxDelay := min(25*time.Millisecond<<min(attempt, 10), 2*time.Second)
	d := time.Duration(rand.Int64N(int64(maxDelay)) + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
