package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/infra/model"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
)

// Options are what one run does.
type Options struct {
	Shape Shape
	// Other is the size of the other client, whose content must stay.
	Other Shape
	// RTT is the round trip the second count of the client's content adds
	// to each call.
	RTT time.Duration
	// Model are the parameters of the AWS behaviour model the purge and
	// the baseline run through.
	Model model.Params
	// Raw runs the purge and the baseline on the emulator itself too.
	Raw bool
	// Naive runs the baseline through the model, on NaiveShare of the
	// client's content (its time then scaled up by 1/NaiveShare: the
	// baseline is one call after another, each costing the same).
	Naive      bool
	NaiveShare float64
	// Invocation is a Lambda invocation's length and Margin what the
	// purge keeps free before its end, in modelled time.
	Invocation, Margin time.Duration
}

// Result is what one run measured.
type Result struct {
	Items, Objects            int
	WriteCalls, S3DeleteCalls int
	PurgeSeconds              float64
	NaiveItems, NaiveObjects  int
	NaiveSeconds              float64
	NaiveReadSeconds          float64
	PeakRSSMB                 float64
	// ScopeSeconds is how long counting what the purge will delete took:
	// the part of accepting a deletion request that grows with the
	// client's content. (Accepting also makes one TransactWriteItems, which
	// moto slows down by copying every item of the table.)
	ScopeSeconds float64
	// ScopeCalls is how many calls the count made; ScopeRTTSeconds is how
	// long it took with RTT added to each call. One call after another, it
	// would take at least ScopeSeconds + ScopeCalls*RTT.
	ScopeCalls      int
	ScopeRTTSeconds float64

	Model ModelResult
}

// ModelResult is the purge and the baseline through the model, in
// modelled seconds.
type ModelResult struct {
	Items, Objects int
	Seconds        float64
	// Bound is what the model's own limits allow at best; Partition is
	// the partition that sets it.
	Bound                   float64
	Partition               string
	Throttled               int
	Invocations, Failed     int
	WriteCalls              int
	PeakRSSMB               float64
	NaiveSeconds            float64
	NaiveItems, NaiveObjcts int
	Calls                   map[string]int
}

const (
	practiceID = "prac-bench"
	clientID   = "cl-big"   // purged on the emulator itself
	modelID    = "cl-model" // purged through the model
	otherID    = "cl-other"
	memberID   = "pr-member"
	ownerID    = "pr-owner"
)

func run(ctx context.Context, endpoint string, o Options) (Result, error) {
	srv, err := model.Serve(endpoint, o.Model)
	if err != nil {
		return Result{}, err
	}
	defer srv.Close()
	// Everything but the purge and the baseline goes through the model's
	// observer: at once, unlimited, the model learning the items' sizes.
	prefix := "rtbf-bench-" + fmt.Sprint(time.Now().UnixNano()%1e9)
	st, err := localstack.New(ctx, srv.ObserverURL, prefix)
	if err != nil {
		return Result{}, err
	}
	if err := st.Provision(ctx); err != nil {
		return Result{}, err
	}
	store := dynamostore.New(st.DynamoDB, st.Table)
	seeder := &seeder{st: st, store: store}

	start := time.Now()
	if err := seeder.directory(ctx); err != nil {
		return Result{}, err
	}
	log.Printf("seeding %+v for %s, which must stay", o.Other, otherID)
	if _, err := seeder.client(ctx, otherID, o.Other, "other"); err != nil {
		return Result{}, err
	}
	if err := store.PutSetting(ctx, erasure.Setting{PracticeID: practiceID, Enabled: true}); err != nil {
		return Result{}, err
	}
	log.Printf("seeded in %s", time.Since(start).Round(time.Millisecond))
	var res Result
	if o.Raw {
		if err := runRaw(ctx, st, store, seeder, endpoint, o, &res); err != nil {
			return Result{}, err
		}
	}
	if err := runModel(ctx, st, store, seeder, srv, o, &res.Model); err != nil {
		return Result{}, err
	}
	return res, nil
}

// accept makes the client's deletion request, a purge delay ago, so that
// its purge is due now (the purge never starts before its date).
func accept(ctx context.Context, st *localstack.Stack, store *dynamostore.Store, client string) (erasure.Request, error) {
	svc := erasure.NewClientRequests(store, store, store, store, store,
		oneshot.New(st.Scheduler, oneshot.Config{Group: st.ScheduleGroup, TargetARN: localstack.FunctionARN("rtbf-bench-purge"), RoleARN: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN}),
		discardMailer{}, 0,
		erasure.Options{Now: func() time.Time { return time.Now().Add(-erasure.DefaultPurgeDelay) }, Log: slog.New(slog.DiscardHandler)})
	actor, err := identity.NewActor(client+"-sub", identity.RoleClient, practiceID, client, "")
	if err != nil {
		return erasure.Request{}, err
	}
	req, _, err := svc.RequestDeletion(ctx, actor)
	if err != nil {
		return erasure.Request{}, fmt.Errorf("request deletion: %w", err)
	}
	return req, nil
}

// runRaw is the purge and the baseline on the emulator itself, the purge
// behind a proxy that counts its calls.
func runRaw(ctx context.Context, st *localstack.Stack, store *dynamostore.Store, seeder *seeder, endpoint string, o Options, res *Result) error {
	shape := o.Shape
	log.Printf("seeding %+v for %s (purged on the emulator itself)", shape, clientID)
	var gone seeded
	var err error
	if gone, err = seeder.client(ctx, clientID, shape, "gone"); err != nil {
		return err
	}
	if err := seeder.practitionerContent(ctx, clientID, shape, &gone); err != nil {
		return err
	}
	scopeStart := time.Now()
	if _, err := erasure.Scope(ctx, store, practiceID, clientID); err != nil {
		return fmt.Errorf("scope: %w", err)
	}
	scopeSeconds := time.Since(scopeStart).Seconds()
	scopeCalls, scopeRTTSeconds, err := scopeWithRTT(ctx, endpoint, st.Table, o.RTT)
	if err != nil {
		return err
	}
	req, err := accept(ctx, st, store, clientID)
	if err != nil {
		return err
	}
	if req.WillDelete != gone.counts {
		return fmt.Errorf("the request counts %+v, the seed made %+v", req.WillDelete, gone.counts)
	}
	before, err := takeBefore(ctx, st, false, clientID)
	if err != nil {
		return err
	}
	proxy, err := startProxy(endpoint)
	if err != nil {
		return err
	}
	defer proxy.Close()
	log.Printf("purging %d items and %d objects in a child process, on the emulator", gone.items(), len(gone.objects))
	child, err := runPurgeChild(ctx, st, proxy.URL, req.ID, 15*time.Minute, time.Minute)
	if err != nil {
		return err
	}
	if child.Status != erasure.StatusCompleted {
		return fmt.Errorf("purge child ended with the request %s, want completed", child.Status)
	}
	calls := proxy.Counts()
	if err := checkDone(ctx, st, store, req.ID, before, gone); err != nil {
		return err
	}
	*res = Result{
		Items: gone.items(), Objects: len(gone.objects),
		WriteCalls:    calls["BatchWriteItem"] + calls["DeleteItem"] + calls["PutItem"] + calls["UpdateItem"] + calls["TransactWriteItems"],
		S3DeleteCalls: calls["DeleteObjects"] + calls["DeleteObject"],
		PurgeSeconds:  child.Seconds,
		PeakRSSMB:     float64(child.PeakKiB) / 1024,
		ScopeSeconds:  scopeSeconds,
		ScopeCalls:    scopeCalls, ScopeRTTSeconds: scopeRTTSeconds,
	}
	log.Printf("purge calls: %v", calls)
	log.Printf("purge time in calls (summed over concurrent calls): %v", proxy.Spent())

	// The same data again, for the baseline.
	log.Printf("seeding the same data again for the naive baseline")
	again, err := seeder.client(ctx, clientID, shape, "gone")
	if err != nil {
		return err
	}
	start := time.Now()
	n, ob, reading, err := naive(ctx, st, store, clientID)
	if err != nil {
		return fmt.Errorf("naive: %w", err)
	}
	res.NaiveSeconds = time.Since(start).Seconds()
	res.NaiveItems, res.NaiveObjects = n, ob
	res.NaiveReadSeconds = reading.Seconds()
	if n != again.items() || ob != len(again.objects) {
		return fmt.Errorf("naive deleted %d items and %d objects, want %d and %d", n, ob, again.items(), len(again.objects))
	}
	return nil
}

// maxFailed bounds the failed invocations runModel retries, as Lambda's
// retries and the sweep would.
const maxFailed = 5

// runModel is the purge and the baseline through the model: the purge in
// as many invocations (child processes, each with an invocation's
// deadline) as it takes, each continuing where the last stopped, as the
// continuation schedule would start it.
func runModel(ctx context.Context, st *localstack.Stack, store *dynamostore.Store, seeder *seeder, srv *model.Server, o Options, res *ModelResult) error {
	shape := o.Shape
	p := o.Model
	log.Printf("seeding %+v for %s (purged through the model)", shape, modelID)
	gone, err := seeder.client(ctx, modelID, shape, "gone")
	if err != nil {
		return err
	}
	if err := seeder.practitionerContent(ctx, modelID, shape, &gone); err != nil {
		return err
	}
	req, err := accept(ctx, st, store, modelID)
	if err != nil {
		return err
	}
	if req.WillDelete != gone.counts {
		return fmt.Errorf("the request counts %+v, the seed made %+v", req.WillDelete, gone.counts)
	}
	// A table of a client ten times the default is too large for the
	// emulator to scan twice in reasonable time: the check is then lighter.
	before, err := takeBefore(ctx, st, shape.Journal > 50000, modelID)
	if err != nil {
		return err
	}
	res.Items, res.Objects = gone.items(), len(gone.objects)
	res.Bound, res.Partition = gone.bound(p)
	wall := func(d time.Duration) time.Duration { return time.Duration(float64(d) * p.TimeScale) }
	log.Printf("purging %d items and %d objects through the model (%s), invocations of %s (%s of wall time); the bound is %.1f s, set by %s",
		res.Items, res.Objects, p, o.Invocation, wall(o.Invocation), res.Bound, res.Partition)
	srv.Model.ResetStats()
	wallSeconds := 0.0
	for {
		began := time.Now()
		child, err := runPurgeChild(ctx, st, srv.URL, req.ID, wall(o.Invocation), wall(o.Margin))
		res.Invocations++
		if err != nil {
			// Its time counts: the purge waited for it (Lambda's wait
			// before its retry does not).
			wallSeconds += time.Since(began).Seconds()
			res.Failed++
			log.Printf("invocation %d failed: %v", res.Invocations, err)
			if res.Failed > maxFailed {
				return fmt.Errorf("the purge failed %d times", res.Failed)
			}
			continue
		}
		wallSeconds += child.Seconds
		res.PeakRSSMB = max(res.PeakRSSMB, float64(child.PeakKiB)/1024)
		log.Printf("invocation %d: %s after %.1f s (modelled)", res.Invocations, child.Status, child.Seconds/p.TimeScale)
		if child.Status == erasure.StatusCompleted {
			break
		}
		if child.Status != erasure.StatusPurging {
			return fmt.Errorf("purge child ended with the request %s, want completed or purging", child.Status)
		}
	}
	stats := srv.Model.Stats()
	res.Seconds = wallSeconds / p.TimeScale
	res.Throttled = stats.Throttled
	res.Calls = stats.Calls
	for _, op := range []string{"BatchWriteItem", "DeleteItem", "PutItem", "UpdateItem", "TransactWriteItems"} {
		res.WriteCalls += stats.Calls["dynamodb."+op]
	}
	log.Printf("purge calls through the model: %v; throttled %d (%d keys held back), conflicts %d", stats.Calls, stats.Throttled, stats.Unprocessed, stats.Conflicts)
	// Where the time went: when each large partition was written, and the
	// chats' together.
	var small [2]time.Duration
	smallUnits := 0.0
	for part, w := range stats.Writing {
		if span := (w[1] - w[0]).Seconds(); stats.WriteUnits[part] >= p.WCU*10 && span > 0 {
			log.Printf("partition %s took %.0f write units from %.1f s to %.1f s: %.0f a second, %.0f%% of its rate",
				part, stats.WriteUnits[part], w[0].Seconds(), w[1].Seconds(), stats.WriteUnits[part]/span, 100*stats.WriteUnits[part]/span/p.WCU)
			continue
		}
		if !strings.Contains(part, "#CHAT#") {
			continue
		}
		if smallUnits == 0 || w[0] < small[0] {
			small[0] = w[0]
		}
		small[1] = max(small[1], w[1])
		smallUnits += stats.WriteUnits[part]
	}
	log.Printf("the chats' partitions took %.0f write units from %.1f s to %.1f s", smallUnits, small[0].Seconds(), small[1].Seconds())
	if err := checkDone(ctx, st, store, req.ID, before, gone); err != nil {
		return err
	}
	if !o.Naive {
		return nil
	}
	share := o.NaiveShare
	if share <= 0 || share > 1 {
		share = 1
	}
	sample := Shape{Journal: int(float64(shape.Journal) * share), Documents: int(float64(shape.Documents) * share),
		Sessions: int(float64(shape.Sessions) * share), Messages: shape.Messages}
	log.Printf("seeding %+v again for the naive baseline through the model", sample)
	again, err := seeder.client(ctx, modelID, sample, "again")
	if err != nil {
		return err
	}
	mst, err := localstack.New(ctx, srv.URL, st.Table)
	if err != nil {
		return err
	}
	mst.Table, mst.Bucket = st.Table, st.Bucket
	start := time.Now()
	n, ob, _, err := naive(ctx, mst, dynamostore.New(mst.DynamoDB, mst.Table), modelID)
	if err != nil {
		return fmt.Errorf("naive through the model: %w", err)
	}
	res.NaiveSeconds = time.Since(start).Seconds() / p.TimeScale / share
	res.NaiveItems, res.NaiveObjcts = n, ob
	if n != again.items() || ob != len(again.objects) {
		return fmt.Errorf("naive through the model deleted %d items and %d objects, want %d and %d", n, ob, again.items(), len(again.objects))
	}
	return nil
}

// before is what the table and the bucket held before a purge: every item
// (exact), or, light, the number of items of the purged client's
// partition and of the other client's.
type before struct {
	items   map[erasure.ItemKey]map[string]ddbtypes.AttributeValue
	counts  map[string]int
	objects map[string]string
}

func takeBefore(ctx context.Context, st *localstack.Stack, light bool, client string) (before, error) {
	var b before
	var err error
	if light {
		b.counts = map[string]int{}
		for _, pk := range []string{dynamostore.ClientPK(practiceID, client), dynamostore.ClientPK(practiceID, otherID)} {
			if b.counts[pk], err = countPartition(ctx, st, pk); err != nil {
				return before{}, err
			}
		}
	} else if b.items, err = snapshot(ctx, st); err != nil {
		return before{}, err
	}
	b.objects, err = objects(ctx, st)
	return b, err
}

// countPartition counts a partition's items.
func countPartition(ctx context.Context, st *localstack.Stack, pk string) (int, error) {
	n := 0
	p := dynamodb.NewQueryPaginator(st.DynamoDB, &dynamodb.QueryInput{
		TableName: &st.Table, Select: ddbtypes.SelectCount, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: pk}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		n += int(page.Count)
	}
	return n, nil
}

// checkLight checks, for a table too large to scan twice, that every key
// of gone is gone, that the purged client's partition lost exactly those
// of its items and the other client's partition none, and that exactly
// gone's objects went.
func checkLight(ctx context.Context, st *localstack.Stack, store *dynamostore.Store, b before, gone seeded) error {
	for start := 0; start < len(gone.keys); start += 1000 {
		left, err := store.ExistingItems(ctx, gone.keys[start:min(start+1000, len(gone.keys))])
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("item %v should be gone", left[0])
		}
	}
	lost := map[string]int{}
	for _, k := range gone.keys {
		lost[k.PK]++
	}
	for pk, n := range b.counts {
		got, err := countPartition(ctx, st, pk)
		if err != nil {
			return err
		}
		if want := n - lost[pk]; got != want {
			return fmt.Errorf("partition %s holds %d items, want %d", pk, got, want)
		}
	}
	objs, err := objects(ctx, st)
	if err != nil {
		return err
	}
	want := maps.Clone(b.objects)
	for _, o := range gone.objects {
		delete(want, o)
	}
	if !maps.Equal(objs, want) {
		return fmt.Errorf("objects: %d left, want %d", len(objs), len(want))
	}
	return nil
}

// checkDone checks that the purge deleted exactly gone and that the
// receipt counts it.
func checkDone(ctx context.Context, st *localstack.Stack, store *dynamostore.Store, id string, b before, gone seeded) error {
	check := func() error { return checkExact(ctx, st, b.items, b.objects, gone) }
	if b.items == nil {
		check = func() error { return checkLight(ctx, st, store, b, gone) }
	}
	if err := check(); err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	done, err := store.GetRequest(ctx, id)
	if err != nil {
		return err
	}
	if done.Status != erasure.StatusCompleted || done.Deleted != gone.counts {
		return fmt.Errorf("purge receipt: status %s deleted %+v, want completed %+v", done.Status, done.Deleted, gone.counts)
	}
	return nil
}

type discardMailer struct{}

func (discardMailer) Send(context.Context, erasure.Email) error { return nil }

type discardLedger struct{}

func (discardLedger) Record(context.Context, evidence.Record) error { return nil }

// runPurgeChild runs one invocation of the purge in a fresh process
// pointed at endpoint, with the invocation's deadline and margin (wall
// time), and returns what it reports: the request's status, its time and
// its peak resident memory. An error is a failed invocation.
func runPurgeChild(ctx context.Context, st *localstack.Stack, endpoint, requestID string, deadline, margin time.Duration) (childResult, error) {
	self, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, childCommand, "-request", requestID, "-deadline", deadline.String(), "-margin", margin.String())
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL="+endpoint, "AWS_REGION="+localstack.Region,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_CA_BUNDLE=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"TABLE_NAME="+st.Table, "DOCUMENTS_BUCKET="+st.Bucket, "S3_USE_PATH_STYLE=true",
		"SCHEDULE_GROUP="+st.ScheduleGroup, "PURGE_FUNCTION_ARN="+localstack.FunctionARN("rtbf-bench-purge"),
		"SCHEDULER_ROLE_ARN="+st.SchedulerRole, "DEAD_LETTER_ARN="+st.DeadLetterARN,
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return childResult{}, fmt.Errorf("purge child: %w", err)
	}
	var r childResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return childResult{}, fmt.Errorf("purge child said %q: %w", out.String(), err)
	}
	return r, nil
}

// proxy forwards to the emulator and counts the calls by operation.
type proxy struct {
	URL string
	// delay is added to every call, before it is passed on: a network's
	// round trip, which the emulator on this machine does not have.
	delay  time.Duration
	srv    *http.Server
	mu     sync.Mutex
	counts map[string]int
	spent  map[string]time.Duration
}

// scopeWithRTT counts the big client's content again, through a proxy that
// adds rtt to every call, and returns the calls made and the time taken.
func scopeWithRTT(ctx context.Context, endpoint, table string, rtt time.Duration) (int, float64, error) {
	slow, err := startProxy(endpoint)
	if err != nil {
		return 0, 0, err
	}
	defer slow.Close()
	slow.delay = rtt
	cfg, err := localstack.Config(ctx, slow.URL)
	if err != nil {
		return 0, 0, err
	}
	counter := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	start := time.Now()
	if _, err := erasure.Scope(ctx, counter, practiceID, clientID); err != nil {
		return 0, 0, fmt.Errorf("scope with rtt: %w", err)
	}
	took := time.Since(start).Seconds()
	calls := 0
	for _, n := range slow.Counts() {
		calls += n
	}
	return calls, took, nil
}

func startProxy(target string) (*proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{URL: "http://" + ln.Addr().String(), counts: map[string]int{}, spent: map[string]time.Duration{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, start := operation(r), time.Now()
		time.Sleep(p.delay)
		rp.ServeHTTP(w, r)
		p.mu.Lock()
		p.counts[op]++
		p.spent[op] += time.Since(start)
		p.mu.Unlock()
	})}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *proxy) Close() { p.srv.Close() }

// Spent is the time the calls took, by operation, rounded.
func (p *proxy) Spent() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for op, d := range p.spent {
		out[op] = d.Round(time.Millisecond).String()
	}
	return out
}

func (p *proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// operation names an AWS call: DynamoDB's from its target header, S3's from
// its method and path (the client uses path-style addressing).
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndexByte(t, '.')+1:]
	}
	parts := strings.Count(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Query().Has("delete"):
		return "DeleteObjects"
	case r.Method == http.MethodDelete && parts >= 1:
		return "DeleteObject"
	}
	return r.Method + " " + r.URL.Path
}

// snapshot is every item of the table.
func snapshot(ctx context.Context, st *localstack.Stack) (map[erasure.ItemKey]map[string]ddbtypes.AttributeValue, error) {
	out := map[erasure.ItemKey]map[string]ddbtypes.AttributeValue{}
	p := dynamodb.NewScanPaginator(st.DynamoDB, &dynamodb.ScanInput{TableName: &st.Table})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out[erasure.ItemKey{PK: it["pk"].(*ddbtypes.AttributeValueMemberS).Value, SK: it["sk"].(*ddbtypes.AttributeValueMemberS).Value}] = it
		}
	}
	return out, nil
}

func objects(ctx context.Context, st *localstack.Stack) (map[string]string, error) {
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(st.S3, &s3.ListObjectsV2Input{Bucket: &st.Bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
	}
	return out, nil
}

// checkExact checks that the purge deleted exactly gone: every other item
// of the client files is unchanged, and every other object.
func checkExact(ctx context.Context, st *localstack.Stack, before map[erasure.ItemKey]map[string]ddbtypes.AttributeValue, objectsBefore map[string]string, gone seeded) error {
	after, err := snapshot(ctx, st)
	if err != nil {
		return err
	}
	goneKeys := map[erasure.ItemKey]bool{}
	for _, k := range gone.keys {
		goneKeys[k] = true
	}
	own := func(k erasure.ItemKey) bool { // this service's own records
		return strings.HasPrefix(k.PK, "DELETION#") || strings.Contains(k.PK, "#PRACTITIONER#") ||
			k.SK == "DELETION#ACTIVE" || k.SK == "PORTAL#CLOSED"
	}
	for k, v := range before {
		if own(k) {
			continue
		}
		got, ok := after[k]
		switch {
		case goneKeys[k] && ok:
			return fmt.Errorf("item %v should be gone", k)
		case !goneKeys[k] && !ok:
			return fmt.Errorf("item %v is outside the scope but was deleted", k)
		case !goneKeys[k] && !reflect.DeepEqual(got, v):
			return fmt.Errorf("item %v changed", k)
		}
	}
	objs, err := objects(ctx, st)
	if err != nil {
		return err
	}
	want := maps.Clone(objectsBefore)
	for _, o := range gone.objects {
		delete(want, o)
	}
	if !maps.Equal(objs, want) {
		return fmt.Errorf("objects: %d left, want %d", len(objs), len(want))
	}
	return nil
}
