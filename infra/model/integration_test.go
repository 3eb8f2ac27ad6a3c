//go:build integration

package model_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wellness-rtbf/rtbf/infra/model"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// The real SDK against the model in front of the emulator: the model's
// answers are ones the SDK takes as DynamoDB's and S3's, and they change
// the emulator's state only as AWS would.

func emulator(t *testing.T) string {
	u := strings.TrimRight(os.Getenv("RTBF_EMULATOR_URL"), "/")
	if u == "" {
		t.Fatal("RTBF_EMULATOR_URL is not set: run under infra/with-emulator.sh")
	}
	return u
}

func clientsThrough(t *testing.T, rt http.RoundTripper, attempts int) (*dynamodb.Client, *s3.Client) {
	cfg, err := localstack.Config(context.Background(), emulator(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPClient = &http.Client{Transport: rt}
	if attempts > 0 {
		cfg.RetryMaxAttempts = attempts
	}
	return dynamodb.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func key(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: sk}}
}

func TestModelInFrontOfTheEmulator(t *testing.T) {
	p := model.Defaults()
	p.Latency = map[string]model.Dist{"dynamodb": {P50: time.Millisecond, P99: 3 * time.Millisecond}}
	// 30 write units a partition, refilled at 3 a second: slow enough that
	// a loaded machine's pause between two calls refills no 2-unit delete.
	p.WCU, p.RCU, p.Burst = 3, 100, 10
	p.GSILag = 500 * time.Millisecond
	m := model.New(p, nil)
	ctx := context.Background()
	seed, _ := clientsThrough(t, m.Observer(), 0)
	db, _ := clientsThrough(t, m, 1)
	table := fmt.Sprintf("model-%d", time.Now().UnixNano())
	if err := localstack.CreateTable(ctx, seed, table); err != nil {
		t.Fatal(err)
	}
	// 100 items of about 1.5 KB, 2 write units each, seeded through the
	// observer: the model learns their sizes.
	body := strings.Repeat("b", 1500)
	var puts []ddbtypes.WriteRequest
	for i := range 100 {
		it := key("P", fmt.Sprintf("%03d", i))
		it["body"] = &ddbtypes.AttributeValueMemberS{Value: body}
		puts = append(puts, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: it}})
	}
	for i := 0; i < len(puts); i += 25 {
		if _, err := seed.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{table: puts[i : i+25]}}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("BatchWriteItem", func(t *testing.T) {
		var dels []ddbtypes.WriteRequest
		for i := range 25 {
			dels = append(dels, ddbtypes.WriteRequest{DeleteRequest: &ddbtypes.DeleteRequest{Key: key("P", fmt.Sprintf("%03d", i))}})
		}
		res, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{table: dels}})
		if err != nil {
			t.Fatal(err)
		}
		left := res.UnprocessedItems[table]
		if n := len(left); n < 8 || n > 10 { // 30 units hold 15 two-unit deletes, and the refill adds little
			t.Fatalf("got %d unprocessed, want about 25 - 30/2", n)
		}
		// Nothing left: the whole call is throttled.
		_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{table: left}})
		var pte *ddbtypes.ProvisionedThroughputExceededException
		if !errors.As(err, &pte) {
			t.Fatalf("got %v, want ProvisionedThroughputExceededException", err)
		}
		// What the model held back is still there; the rest is gone.
		for i, d := range dels {
			got, err := seed.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: d.DeleteRequest.Key, ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if held := i >= len(dels)-len(left); held != (got.Item != nil) {
				t.Fatalf("item %d: held back %v, present %v", i, held, got.Item != nil)
			}
		}
		// Once the partition has refilled the units they need (two each,
		// at p.WCU a second), they go through.
		time.Sleep(time.Duration(float64(2*len(left))/p.WCU*float64(time.Second)) + 200*time.Millisecond)
		res, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{table: left}})
		if err != nil || len(res.UnprocessedItems[table]) != 0 {
			t.Fatalf("after the refill: %v, %d left", err, len(res.UnprocessedItems[table]))
		}
	})

	t.Run("IndexLag", func(t *testing.T) {
		req := key("DELETION#r1", "REQUEST")
		req["pendingPk"] = &ddbtypes.AttributeValueMemberS{Value: "PENDING"}
		req["pendingSk"] = &ddbtypes.AttributeValueMemberS{Value: "2025"}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: req}); err != nil {
			t.Fatal(err)
		}
		pending := func(c *dynamodb.Client) int {
			out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: &table, IndexName: aws.String("pending"),
				KeyConditionExpression:    aws.String("pendingPk = :p"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": &ddbtypes.AttributeValueMemberS{Value: "PENDING"}}})
			if err != nil {
				t.Fatal(err)
			}
			return len(out.Items)
		}
		if n := pending(db); n != 0 {
			t.Fatalf("the index showed a write at once (%d items), want it %v later", n, p.GSILag)
		}
		if got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("DELETION#r1", "REQUEST"), ConsistentRead: aws.Bool(true)}); err != nil || got.Item == nil {
			t.Fatalf("the table itself has the item at once: %v", err)
		}
		time.Sleep(p.GSILag + 100*time.Millisecond)
		if n := pending(db); n != 1 {
			t.Fatalf("after the lag: %d items, want 1", n)
		}
		// A delete takes as long; the observer's writes are seen at once.
		if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key("DELETION#r1", "REQUEST")}); err != nil {
			t.Fatal(err)
		}
		other := key("DELETION#r2", "REQUEST")
		other["pendingPk"], other["pendingSk"] = req["pendingPk"], req["pendingSk"]
		if _, err := seed.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: other}); err != nil {
			t.Fatal(err)
		}
		if n := pending(db); n != 2 {
			t.Fatalf("just after the delete and the observer's put: %d items, want 2", n)
		}
		time.Sleep(p.GSILag + 100*time.Millisecond)
		if n := pending(db); n != 1 {
			t.Fatalf("after the lag: %d items, want 1", n)
		}
	})

	t.Run("TransactionConflict", func(t *testing.T) {
		slow := p
		slow.Latency = map[string]model.Dist{"dynamodb.TransactWriteItems": {P50: 300 * time.Millisecond, P99: 300 * time.Millisecond}}
		slow.WCU, slow.GSILag = 0, 0
		sm := model.New(slow, nil)
		sdb, _ := clientsThrough(t, sm, 1)
		tx := func() error {
			_, err := sdb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{{
				Update: &ddbtypes.Update{TableName: &table, Key: key("P", "099"), UpdateExpression: aws.String("ADD n :one"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": &ddbtypes.AttributeValueMemberN{Value: "1"}}},
			}}})
			return err
		}
		// Two at once on one item: whichever arrives second, while the
		// other is in flight (300 ms), is cancelled; the other goes through.
		done := make(chan error, 2)
		go func() { done <- tx() }()
		time.Sleep(50 * time.Millisecond)
		go func() { done <- tx() }()
		conflicts, ok := 0, 0
		for range 2 {
			err := <-done
			var tce *ddbtypes.TransactionCanceledException
			switch {
			case err == nil:
				ok++
			case errors.As(err, &tce) && aws.ToString(tce.CancellationReasons[0].Code) == "TransactionConflict":
				conflicts++
			default:
				t.Fatalf("got %v, want success or a cancelled transaction for TransactionConflict", err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("got %d through and %d cancelled for TransactionConflict, want one each", ok, conflicts)
		}
		got, err := seed.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("P", "099"), ConsistentRead: aws.Bool(true)})
		if err != nil || got.Item["n"].(*ddbtypes.AttributeValueMemberN).Value != "1" {
			t.Fatalf("the item was updated %v times, want once (%v)", got.Item["n"], err)
		}
	})

	t.Run("S3SlowDown", func(t *testing.T) {
		sp := model.Defaults()
		sp.Latency, sp.S3Write = nil, 100
		sm := model.New(sp, nil)
		_, sc := clientsThrough(t, sm, 1)
		_, direct := clientsThrough(t, http.DefaultTransport, 0)
		bucket := fmt.Sprintf("model-%d", time.Now().UnixNano())
		if _, err := direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
			t.Fatal(err)
		}
		var objs []s3types.ObjectIdentifier
		for i := range 160 {
			k := fmt.Sprintf("c/uploads/%d", i)
			if _, err := direct.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &k, Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
			objs = append(objs, s3types.ObjectIdentifier{Key: aws.String(k)})
		}
		if _, err := sc.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &s3types.Delete{Objects: objs[:80]}}); err != nil {
			t.Fatalf("80 deletes on a prefix of 100 a second: %v", err)
		}
		_, err := sc.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &s3types.Delete{Objects: objs[80:]}})
		if err == nil || !strings.Contains(err.Error(), "SlowDown") {
			t.Fatalf("80 more in the same second: got %v, want SlowDown", err)
		}
		out, err := direct.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
		if err != nil || len(out.Contents) != 80 {
			t.Fatalf("a call answered SlowDown deleted something: %d left, want 80 (%v)", len(out.Contents), err)
		}
	})
}
