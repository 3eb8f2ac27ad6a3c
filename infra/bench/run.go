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

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
)

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
}

const (
	practiceID = "prac-bench"
	clientID   = "cl-big"
	otherID    = "cl-other"
	memberID   = "pr-member"
	ownerID    = "pr-owner"
)

func run(ctx context.Context, endpoint string, shape Shape, rtt time.Duration) (Result, error) {
	st, err := localstack.New(ctx, endpoint, "rtbf-bench-"+fmt.Sprint(time.Now().UnixNano()%1e9))
	if err != nil {
		return Result{}, err
	}
	if err := st.Provision(ctx); err != nil {
		return Result{}, err
	}
	store := dynamostore.New(st.DynamoDB, st.Table)
	seeder := &seeder{st: st, store: store}

	log.Printf("seeding %+v for %s, and as much again that must stay", shape, clientID)
	start := time.Now()
	if err := seeder.directory(ctx); err != nil {
		return Result{}, err
	}
	gone, err := seeder.client(ctx, clientID, shape, "gone")
	if err != nil {
		return Result{}, err
	}
	// What must stay: another client of the same size, and the
	// practitioner's notes and shared documents in this client's file.
	if _, err := seeder.client(ctx, otherID, shape, "other"); err != nil {
		return Result{}, err
	}
	if err := seeder.practitionerContent(ctx, clientID, shape); err != nil {
		return Result{}, err
	}
	log.Printf("seeded in %s", time.Since(start).Round(time.Millisecond))

	accept := erasure.NewClientRequests(store, store, store, store, store,
		oneshot.New(st.Scheduler, oneshot.Config{Group: st.ScheduleGroup, TargetARN: localstack.FunctionARN("rtbf-bench-purge"), RoleARN: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN}),
		discardMailer{}, 0,
		// The request is made a purge delay ago, so that its purge is due
		// now: the purge never starts before its date.
		erasure.Options{Now: func() time.Time { return time.Now().Add(-erasure.DefaultPurgeDelay) }, Log: slog.New(slog.DiscardHandler)})
	if err := store.PutSetting(ctx, erasure.Setting{PracticeID: practiceID, Enabled: true}); err != nil {
		return Result{}, err
	}
	actor, err := identity.NewActor(clientID+"-sub", identity.RoleClient, practiceID, clientID, "")
	if err != nil {
		return Result{}, err
	}
	scopeStart := time.Now()
	if _, err := erasure.Scope(ctx, store, practiceID, clientID); err != nil {
		return Result{}, fmt.Errorf("scope: %w", err)
	}
	scopeSeconds := time.Since(scopeStart).Seconds()
	scopeCalls, scopeRTTSeconds, err := scopeWithRTT(ctx, endpoint, st.Table, rtt)
	if err != nil {
		return Result{}, err
	}
	req, _, err := accept.RequestDeletion(ctx, actor)
	if err != nil {
		return Result{}, fmt.Errorf("request deletion: %w", err)
	}
	if req.WillDelete != gone.counts {
		return Result{}, fmt.Errorf("the request counts %+v, the seed made %+v", req.WillDelete, gone.counts)
	}

	before, err := snapshot(ctx, st)
	if err != nil {
		return Result{}, err
	}
	objectsBefore, err := objects(ctx, st)
	if err != nil {
		return Result{}, err
	}

	proxy, err := startProxy(endpoint)
	if err != nil {
		return Result{}, err
	}
	defer proxy.Close()
	log.Printf("purging %d items and %d objects in a child process", gone.items(), len(gone.objects))
	purgeSeconds, rss, err := runPurgeChild(ctx, st, proxy.URL, req.ID)
	if err != nil {
		return Result{}, err
	}
	calls := proxy.Counts()
	if err := checkExact(ctx, st, before, objectsBefore, gone); err != nil {
		return Result{}, fmt.Errorf("purge: %w", err)
	}
	done, err := store.GetRequest(ctx, req.ID)
	if err != nil {
		return Result{}, err
	}
	if done.Status != erasure.StatusCompleted || done.Deleted != gone.counts {
		return Result{}, fmt.Errorf("purge receipt: status %s deleted %+v, want completed %+v", done.Status, done.Deleted, gone.counts)
	}
	res := Result{
		Items: gone.items(), Objects: len(gone.objects),
		WriteCalls:    calls["BatchWriteItem"] + calls["DeleteItem"] + calls["PutItem"] + calls["UpdateItem"] + calls["TransactWriteItems"],
		S3DeleteCalls: calls["DeleteObjects"] + calls["DeleteObject"],
		PurgeSeconds:  purgeSeconds,
		PeakRSSMB:     rss,
		ScopeSeconds:  scopeSeconds,
		ScopeCalls:    scopeCalls, ScopeRTTSeconds: scopeRTTSeconds,
	}
	log.Printf("purge calls: %v", calls)
	log.Printf("purge time in calls (summed over concurrent calls): %v", proxy.Spent())

	// The same data again, for the baseline.
	log.Printf("seeding the same data again for the naive baseline")
	again, err := seeder.client(ctx, clientID, shape, "gone")
	if err != nil {
		return Result{}, err
	}
	start = time.Now()
	n, o, reading, err := naive(ctx, st, store)
	if err != nil {
		return Result{}, fmt.Errorf("naive: %w", err)
	}
	res.NaiveSeconds = time.Since(start).Seconds()
	res.NaiveItems, res.NaiveObjects = n, o
	res.NaiveReadSeconds = reading.Seconds()
	if n != again.items() || o != len(again.objects) {
		return Result{}, fmt.Errorf("naive deleted %d items and %d objects, want %d and %d", n, o, again.items(), len(again.objects))
	}
	return res, nil
}

type discardMailer struct{}

func (discardMailer) Send(context.Context, erasure.Email) error { return nil }

type discardLedger struct{}

func (discardLedger) Record(context.Context, evidence.Record) error { return nil }

// runPurgeChild runs the purge in a fresh process pointed at the counting
// proxy, and returns its wall time and peak resident memory.
func runPurgeChild(ctx context.Context, st *localstack.Stack, endpoint, requestID string) (float64, float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, self, childCommand, "-request", requestID)
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL="+endpoint, "AWS_REGION="+localstack.Region,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_CA_BUNDLE=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"TABLE_NAME="+st.Table, "DOCUMENTS_BUCKET="+st.Bucket, "S3_USE_PATH_STYLE=true",
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("purge child: %w", err)
	}
	var r childResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return 0, 0, fmt.Errorf("purge child said %q: %w", out.String(), err)
	}
	if r.Status != erasure.StatusCompleted {
		return 0, 0, fmt.Errorf("purge child ended with the request %s, want completed", r.Status)
	}
	return r.Seconds, float64(r.PeakKiB) / 1024, nil
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
