package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func TestBucket(t *testing.T) {
	b := newBucket(100, 1, 0) // 100 a second, holds 100
	if !b.take(100, 0) || b.take(1, 0) {
		t.Fatal("a full bucket of 100 gives 100 tokens, then none")
	}
	if b.take(20, 100*time.Millisecond) {
		t.Fatal("after 100 ms at 100/s it holds 10, not 20")
	}
	if !b.take(10, 100*time.Millisecond) {
		t.Fatal("after 100 ms at 100/s it gives 10")
	}
	b.refill(10 * time.Second)
	if b.tokens != 100 {
		t.Fatalf("idle, it fills to its capacity only: got %v", b.tokens)
	}
	// A read charged after the fact may leave it in debt; it is closed
	// until the debt is paid.
	b.charge(150, 10*time.Second)
	if b.open(10*time.Second) || b.open(10*time.Second+400*time.Millisecond) || !b.open(10*time.Second+600*time.Millisecond) {
		t.Fatal("a bucket 50 in debt at 100/s opens after half a second")
	}
	// A request larger than the bucket passes when it is full.
	big := newBucket(10, 1, 0)
	if !big.take(25, 0) || big.take(25, time.Second) || !big.take(25, 5*time.Second) {
		t.Fatal("a request above the capacity passes on a full bucket only")
	}
	if !newBucket(0, 1, 0).take(1e9, 0) {
		t.Fatal("a rate of 0 means no limit")
	}
}

func TestItemSizeAndUnits(t *testing.T) {
	item := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		item string
		size int
	}{
		{`{"pk":{"S":"abc"}}`, 2 + 3},
		{`{"pk":{"S":"é"}}`, 2 + 2}, // UTF-8 bytes
		{`{"n":{"N":"12345"}}`, 1 + 4},
		{`{"n":{"N":"-0.001200"}}`, 1 + 2},
		{`{"b":{"B":"AAECAw=="}}`, 1 + 4},
		{`{"t":{"BOOL":true},"z":{"NULL":true}}`, 1 + 1 + 1 + 1},
		{`{"l":{"L":[{"S":"ab"},{"N":"1"}]}}`, 1 + 3 + (1 + 2) + (1 + 2)},
		{`{"m":{"M":{"k":{"S":"v"}}}}`, 1 + 3 + 1 + 1 + 1},
		{`{"ss":{"SS":["a","bc"]}}`, 2 + 3},
	} {
		if got := itemSize(item(c.item)); got != c.size {
			t.Errorf("size of %s: got %d, want %d", c.item, got, c.size)
		}
	}
	for _, c := range []struct {
		size int
		w    float64
	}{{-1, 1}, {0, 1}, {1, 1}, {1024, 1}, {1025, 2}, {400 * 1024, 400}} {
		if got := WriteUnits(c.size); got != c.w {
			t.Errorf("write units of %d bytes: got %v, want %v", c.size, got, c.w)
		}
	}
	for _, c := range []struct {
		size       int
		consistent bool
		r          float64
	}{{100, true, 1}, {100, false, 0.5}, {4096, true, 1}, {4097, true, 2}, {10 * 1024, false, 1.5}} {
		if got := ReadUnits(c.size, c.consistent); got != c.r {
			t.Errorf("read units of %d bytes (consistent %v): got %v, want %v", c.size, c.consistent, got, c.r)
		}
	}
	av := map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "abc"},
		"l":  &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: "ab"}, &ddbtypes.AttributeValueMemberN{Value: "1"}}},
	}
	if got, want := ItemSize(av), itemSize(item(`{"pk":{"S":"abc"},"l":{"L":[{"S":"ab"},{"N":"1"}]}}`)); got != want {
		t.Errorf("ItemSize: got %d, want %d as from JSON", got, want)
	}
}

func TestDrawIsLogNormalWithItsMedianAndTail(t *testing.T) {
	d := Dist{P50: 4 * time.Millisecond, P99: 20 * time.Millisecond}
	rng := rand.New(rand.NewPCG(7, 0))
	xs := make([]time.Duration, 100000)
	for i := range xs {
		xs[i] = draw(rng, d)
	}
	slices.Sort(xs)
	p50, p99 := xs[len(xs)/2], xs[len(xs)*99/100]
	if math.Abs(float64(p50-d.P50))/float64(d.P50) > 0.03 || math.Abs(float64(p99-d.P99))/float64(d.P99) > 0.05 {
		t.Fatalf("got median %v and p99 %v, want about %v and %v", p50, p99, d.P50, d.P99)
	}
	a, b := rand.New(rand.NewPCG(3, 0)), rand.New(rand.NewPCG(3, 0))
	for range 100 {
		if draw(a, d) != draw(b, d) {
			t.Fatal("the same seed draws differently")
		}
	}
}

func TestParse(t *testing.T) {
	p, err := Parse("wcu=200,rcu=600,timescale=0.2,gsilag=1s,errors=0.01,latency.s3.DeleteObjects=100ms/1s,seed=9,conflicts=false", Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if p.WCU != 200 || p.RCU != 600 || p.TimeScale != 0.2 || p.GSILag != time.Second || p.Errors != 0.01 || p.Seed != 9 || p.Conflicts ||
		p.Latency["s3.DeleteObjects"] != (Dist{100 * time.Millisecond, time.Second}) || p.Latency["dynamodb"] != Defaults().Latency["dynamodb"] {
		t.Fatalf("got %+v", p)
	}
	back, err := Parse(p.String(), Params{})
	if err != nil || back.String() != p.String() {
		t.Fatalf("String does not parse back: %v\n%s\n%s", err, p, back)
	}
	if q, err := Parse("testing", Defaults()); err != nil || q.String() != Testing().String() {
		t.Fatalf("testing: got %v %v", q, err)
	}
	for _, bad := range []string{"wcu", "wcu=-1", "nope=1", "timescale=0", "errors=2", "latency.s3=1s", "latency.s3=2s/1s", "gsilag=soon"} {
		if _, err := Parse(bad, Defaults()); err == nil {
			t.Errorf("Parse(%q): got no error", bad)
		}
	}
}

// fake is a minimal emulator: a table "t" (pk, sk; index "byOwner" on
// owner) whose items all weigh about 300 bytes, and an S3 that deletes
// anything. It counts what reaches it.
type fake struct {
	mu    sync.Mutex
	calls map[string]int
	// queryItems is how many items a Query returns, of itemBytes each.
	queryItems, itemBytes int
}

func (f *fake) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndexByte(target, '.')+1:]
	if target == "" {
		op = "s3 " + r.Method
	}
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()
	var out any = map[string]any{}
	var in map[string]json.RawMessage
	json.Unmarshal(body, &in)
	pad := strings.Repeat("x", max(f.itemBytes, 1))
	item := func(i int) map[string]any {
		return map[string]any{"pk": map[string]string{"S": "p"}, "sk": map[string]string{"S": fmt.Sprint(i)}, "body": map[string]string{"S": pad}}
	}
	switch op {
	case "DescribeTable":
		out = map[string]any{"Table": map[string]any{
			"TableName":            "t",
			"KeySchema":            []map[string]string{{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}},
			"AttributeDefinitions": []map[string]string{{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}},
		}}
	case "BatchGetItem":
		var req map[string]struct{ Keys []map[string]any }
		json.Unmarshal(in["RequestItems"], &req)
		var items []map[string]any
		for _, k := range req["t"].Keys {
			it := item(0)
			it["sk"] = k["sk"]
			items = append(items, it)
		}
		out = map[string]any{"Responses": map[string]any{"t": items}, "UnprocessedKeys": map[string]any{}}
	case "BatchWriteItem":
		out = map[string]any{"UnprocessedItems": map[string]any{}}
	case "Query":
		var items []map[string]any
		for i := range f.queryItems {
			items = append(items, item(i))
		}
		out = map[string]any{"Items": items, "Count": len(items), "ScannedCount": len(items)}
	case "s3 POST":
		out = nil
	}
	if out == nil {
		b := []byte(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>`)
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
	}
	b, _ := json.Marshal(out)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

func newFake() *fake { return &fake{calls: map[string]int{}, itemBytes: 300} }

// quick are parameters with no latency, so that the tests run at once,
// and time all but stopped, so that no bucket refills while they run.
func quick() Params {
	p := Defaults()
	p.Latency = nil
	p.TimeScale = 1e6
	return p
}

func clients(m *Model, attempts int) (*dynamodb.Client, *s3.Client) {
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      aws.AnonymousCredentials{},
		BaseEndpoint:     aws.String("http://emulator.invalid"),
		HTTPClient:       &http.Client{Transport: m},
		RetryMaxAttempts: attempts,
	}
	return dynamodb.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func deletes(from, n int) []ddbtypes.WriteRequest {
	var out []ddbtypes.WriteRequest
	for i := from; i < from+n; i++ {
		out = append(out, ddbtypes.WriteRequest{DeleteRequest: &ddbtypes.DeleteRequest{Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "p"}, "sk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint(i)},
		}}})
	}
	return out
}

// The SDK reads the model's throttling of a batch as DynamoDB's:
// UnprocessedItems for what exceeds the partition's write units, a
// ProvisionedThroughputExceededException when nothing could be done.
func TestSDKReadsBatchThrottling(t *testing.T) {
	p := quick()
	p.WCU = 30 // the bucket holds 30 one-unit deletes
	f := newFake()
	m := New(p, f)
	db, _ := clients(m, 1)
	ctx := context.Background()
	res, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"t": deletes(0, 25)}})
	if err != nil || len(res.UnprocessedItems["t"]) != 0 {
		t.Fatalf("first batch: got %v unprocessed, %v; want all done", len(res.UnprocessedItems["t"]), err)
	}
	res, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"t": deletes(25, 25)}})
	if err != nil || len(res.UnprocessedItems["t"]) != 20 {
		t.Fatalf("second batch: got %d unprocessed, %v; want 20 (5 units left)", len(res.UnprocessedItems["t"]), err)
	}
	if k := res.UnprocessedItems["t"][0].DeleteRequest.Key["sk"].(*ddbtypes.AttributeValueMemberS).Value; k != "30" {
		t.Fatalf("first unprocessed key: got %s, want 30 (the requests are taken in order)", k)
	}
	_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"t": deletes(50, 25)}})
	var pte *ddbtypes.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) || len(pte.ThrottlingReasons) != 1 || aws.ToString(pte.ThrottlingReasons[0].Reason) != "TableWriteKeyRangeThroughputExceeded" {
		t.Fatalf("third batch: got %v, want ProvisionedThroughputExceededException with its reason", err)
	}
	s := m.Stats()
	if s.Throttled != 2 || s.Unprocessed != 45 || s.WriteUnits[`t {"S":"p"}`] != 30 {
		t.Fatalf("stats: %+v", s)
	}
	if f.calls["BatchWriteItem"] != 2 || f.calls["BatchGetItem"] != 3 {
		t.Fatalf("the emulator saw %v: want 2 batch writes (the third throttled whole) and a size read per batch", f.calls)
	}
	// A partition of another key has its own units.
	other := deletes(0, 1)
	other[0].DeleteRequest.Key["pk"] = &ddbtypes.AttributeValueMemberS{Value: "q"}
	if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"t": other}}); err != nil {
		t.Fatalf("another partition: %v", err)
	}
}

// A delete costs the item's size in write units: items of 3 KB cost 3.
func TestDeleteCostsTheItemsSize(t *testing.T) {
	p := quick()
	p.WCU = 30
	f := newFake()
	f.itemBytes = 3000
	m := New(p, f)
	db, _ := clients(m, 1)
	res, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"t": deletes(0, 25)}})
	if err != nil || len(res.UnprocessedItems["t"]) != 15 {
		t.Fatalf("got %d unprocessed, %v; want 15 (10 items of 3 units)", len(res.UnprocessedItems["t"]), err)
	}
}

func TestSDKReadsQueryThrottling(t *testing.T) {
	p := quick()
	p.RCU = 10
	f := newFake()
	f.queryItems, f.itemBytes = 100, 1000 // about 100 KB: 25 units
	m := New(p, f)
	db, _ := clients(m, 1)
	q := &dynamodb.QueryInput{TableName: aws.String("t"), KeyConditionExpression: aws.String("#pk = :p"),
		ExpressionAttributeNames:  map[string]string{"#pk": "pk"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": &ddbtypes.AttributeValueMemberS{Value: "p"}}, ConsistentRead: aws.Bool(true)}
	if _, err := db.Query(context.Background(), q); err != nil {
		t.Fatalf("first query: %v", err)
	}
	_, err := db.Query(context.Background(), q)
	var pte *ddbtypes.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) {
		t.Fatalf("second query: got %v, want it throttled (the first left the partition in debt)", err)
	}
	if got := m.Stats().ReadUnits[`t {"S":"p"}`]; got < 25 || got > 27 {
		t.Fatalf("read units charged: %v, want about 25", got)
	}
}

func TestSDKReadsTransactionConflicts(t *testing.T) {
	f := newFake()
	m := New(quick(), f)
	// The first transaction's answer is held on its way back: it is in
	// flight, and the emulator free for the calls that meet it.
	hold, back := make(chan struct{}), make(chan struct{}, 1)
	var held atomic.Bool
	m.onWayBack = func(op string) {
		if op == "TransactWriteItems" && held.CompareAndSwap(false, true) {
			back <- struct{}{}
			<-hold
		}
	}
	db, _ := clients(m, 1)
	ctx := context.Background()
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "p"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}}
	other := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "p"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "2"}}
	tx := func(keys ...map[string]ddbtypes.AttributeValue) error {
		var items []ddbtypes.TransactWriteItem
		for _, k := range keys {
			items = append(items, ddbtypes.TransactWriteItem{Update: &ddbtypes.Update{TableName: aws.String("t"), Key: k, UpdateExpression: aws.String("SET a = :a"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":a": &ddbtypes.AttributeValueMemberS{Value: "x"}}}})
		}
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	}
	first := make(chan error)
	go func() { first <- tx(key) }()
	select {
	case <-back:
	case <-time.After(10 * time.Second):
		t.Fatal("the first transaction never came back from the emulator")
	}
	err := tx(other, key)
	var tce *ddbtypes.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) != 2 ||
		aws.ToString(tce.CancellationReasons[0].Code) != "None" || aws.ToString(tce.CancellationReasons[1].Code) != "TransactionConflict" {
		t.Fatalf("a second transaction on the item: got %v, want TransactionCanceledException [None, TransactionConflict]", err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: key})
	var conflict *ddbtypes.TransactionConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("a put of the item: got %v, want TransactionConflictException", err)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatalf("the first transaction: %v", err)
	}
	if err := tx(key); err != nil {
		t.Fatalf("a transaction once the first is done: %v", err)
	}
	if m.Stats().Conflicts != 2 {
		t.Fatalf("conflicts: got %d, want 2", m.Stats().Conflicts)
	}
}

func eventually(cond func() bool) bool {
	for range 500 {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func TestSDKRetriesServerErrors(t *testing.T) {
	p := quick()
	p.Errors = 1
	f := newFake()
	m := New(p, f)
	db, _ := clients(m, 1)
	_, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalServerError" {
		t.Fatalf("got %v, want InternalServerError", err)
	}
	if f.calls["DescribeTable"] != 0 {
		t.Fatal("a call answered 5xx reached the emulator")
	}
	// Half the calls fail: the SDK's retries get through.
	p.Errors, p.Seed = 0.5, 11
	m = New(p, f)
	db, _ = clients(m, 10)
	for range 20 {
		if _, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")}); err != nil {
			t.Fatalf("with retries: %v", err)
		}
	}
	if s := m.Stats(); s.Errors == 0 || s.Calls["dynamodb.DescribeTable"] != 20+s.Errors {
		t.Fatalf("stats: %+v", s)
	}
}

func TestSDKReadsS3SlowDown(t *testing.T) {
	p := quick()
	p.S3Write = 1000
	f := newFake()
	m := New(p, f)
	_, s3c := clients(m, 1)
	del := func(prefix string) error {
		var objs []s3types.ObjectIdentifier
		for i := range 1000 {
			objs = append(objs, s3types.ObjectIdentifier{Key: aws.String(fmt.Sprintf("%s/%d.pdf", prefix, i))})
		}
		_, err := s3c.DeleteObjects(context.Background(), &s3.DeleteObjectsInput{Bucket: aws.String("b"), Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		return err
	}
	if err := del("c1/uploads"); err != nil {
		t.Fatalf("first 1000 keys: %v", err)
	}
	var ae smithy.APIError
	if err := del("c1/uploads"); !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
		t.Fatalf("1000 more in the same second: got %v, want SlowDown", err)
	}
	if err := del("c2/uploads"); err != nil {
		t.Fatalf("another prefix has its own rate: %v", err)
	}
}

// Time runs TimeScale times slower: a bucket refills at rate/TimeScale
// per wall second, and latencies last TimeScale times longer.
func TestTimeScale(t *testing.T) {
	p := quick()
	p.TimeScale = 4
	p.Latency = map[string]Dist{"dynamodb": {20 * time.Millisecond, 20 * time.Millisecond}}
	m := New(p, newFake())
	db, _ := clients(m, 1)
	start := time.Now()
	if _, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 80*time.Millisecond {
		t.Fatalf("a 20 ms call at time scale 4 took %v, want at least 80 ms", took)
	}
	time.Sleep(40 * time.Millisecond)
	if now := m.now(); now < 25*time.Millisecond || now > 60*time.Millisecond {
		t.Fatalf("modelled time after about 120 ms of wall time: %v, want about 30 ms", now)
	}
}
