package dynamostore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestConflictsAreRetried(t *testing.T) {
	cancelled := func(codes ...string) error {
		var rs []ddbtypes.CancellationReason
		for _, c := range codes {
			rs = append(rs, ddbtypes.CancellationReason{Code: aws.String(c)})
		}
		return fmt.Errorf("op: %w", &ddbtypes.TransactionCanceledException{CancellationReasons: rs})
	}
	r := conflictRetryer{retry.NewStandard()}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&ddbtypes.TransactionConflictException{}, true},
		{cancelled("None", "TransactionConflict"), true},
		{cancelled("ThrottlingError", "None"), true},
		{cancelled("None", "TransactionConflict", "ConditionalCheckFailed"), false}, // an answer
		{cancelled("ConditionalCheckFailed"), false},
		{cancelled("None", "None"), false},
		{&ddbtypes.ProvisionedThroughputExceededException{}, true}, // the SDK's own
		{&ddbtypes.ConditionalCheckFailedException{}, false},
	} {
		if got := r.IsErrorRetryable(c.err); got != c.want {
			t.Errorf("%v: retryable %v, want %v", c.err, got, c.want)
		}
	}
}

// TestConflictBudget sends the SDK through a server that answers with
// conflicts, throttles or faults, and counts the attempts it makes: a
// conflict gets its own budget of short waits, anything else keeps the
// SDK's three attempts.
func TestConflictBudget(t *testing.T) {
	conflict := `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict"}]}`
	onItem := `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}`
	fault := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
	for _, c := range []struct {
		name       string
		answers    []string // one per attempt, then success
		status     int
		wantCalls  int
		wantErr    bool
		maxElapsed time.Duration
	}{
		{"conflicts then success", repeat(conflict, 8), 400, 9, false, 5 * time.Second},
		{"conflict on the item then success", repeat(onItem, 5), 400, 6, false, 5 * time.Second},
		{"conflicts outlasting the budget", repeat(conflict, 20), 400, conflictAttempts, true, 15 * time.Second},
		{"faults keep the SDK's attempts", repeat(fault, 5), 500, 3, true, 10 * time.Second},
		{"conflicts then faults: the faults keep their own budget", append(repeat(conflict, 4), repeat(fault, 5)...), 0, 4 + 3, true, 10 * time.Second},
		{"conflicts then a fault then success", append(repeat(conflict, 4), fault), 0, 6, false, 10 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				if n <= len(c.answers) {
					status := c.status
					if status == 0 { // by the answer
						status = 400
						if strings.Contains(c.answers[n-1], "InternalServerError") {
							status = 500
						}
					}
					w.WriteHeader(status)
					_, _ = io.WriteString(w, c.answers[n-1])
					return
				}
				_, _ = io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			db := dynamodb.New(dynamodb.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
				Retryer:     retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 50 * time.Millisecond }),
			})
			start := time.Now()
			_, err := retryingConflicts(db).TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{
				TransactItems: []ddbtypes.TransactWriteItem{{Delete: &ddbtypes.Delete{TableName: aws.String("t"), Key: key("p", "s")}}},
			})
			if got := int(calls.Load()); got != c.wantCalls {
				t.Errorf("got %d attempts, want %d", got, c.wantCalls)
			}
			if (err != nil) != c.wantErr {
				t.Errorf("got error %v, want error %v", err, c.wantErr)
			}
			if err != nil && !unavailable(err) {
				t.Errorf("after the retries: %v is not unavailable", err)
			}
			if d := time.Since(start); d > c.maxElapsed {
				t.Errorf("took %v, want at most %v", d, c.maxElapsed)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestForBatch: a batch client rides out a long run of throttling (more
// than the retry quota of the SDK's standard retryer would allow across
// calls: 500 tokens at 5 a throttled retry), one call at most
// batchAttempts times, and keeps the conflict budget.
func TestForBatch(t *testing.T) {
	defer func(d time.Duration) { batchMaxBackoff = d }(batchMaxBackoff)
	batchMaxBackoff = time.Millisecond
	throttle := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Throughput exceeds the current capacity of one of your table's partitions."}`
	var calls atomic.Int32
	fail := atomic.Int32{} // the next fail answers are throttles
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if fail.Add(-1) >= 0 {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, throttle)
			return
		}
		_, _ = io.WriteString(w, `{"Items":[],"Count":0}`)
	}))
	defer srv.Close()
	db := ForBatch(dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
	}))
	store := New(db, "t")
	query := func() error {
		_, err := store.db.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String("t"),
			KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": str("p")}})
		return err
	}
	for i := range 30 { // 30 calls, 270 throttled retries
		fail.Store(int32(batchAttempts - 1))
		calls.Store(0)
		if err := query(); err != nil {
			t.Fatalf("call %d, throttled %d times: %v", i, batchAttempts-1, err)
		}
		if got := calls.Load(); got != int32(batchAttempts) {
			t.Fatalf("call %d: %d attempts, want %d", i, got, batchAttempts)
		}
	}
	fail.Store(int32(batchAttempts))
	calls.Store(0)
	if err := query(); err == nil || !unavailable(err) {
		t.Errorf("throttled every attempt: got %v, want unavailable", err)
	}
	if got := calls.Load(); got != int32(batchAttempts) {
		t.Errorf("throttled every attempt: %d attempts, want %d", got, batchAttempts)
	}
}
