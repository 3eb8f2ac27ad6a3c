// Package emulatortest connects integration tests to the local AWS emulator
// (moto in server mode) that `make test` starts: it provisions a fresh,
// uniquely named copy of the stack's resources per test, reads back what
// the emulator recorded (sent email), and injects faults at the HTTP layer
// so the SDK's real retry paths run.
//
// The emulator's URL comes from RTBF_EMULATOR_URL. The integration tests
// carry the build tag "integration"; under it a missing emulator fails the
// test rather than skipping it.
//
// With RTBF_MODEL set (infra/model's parameters, e.g. "testing"), the
// calls of the code under test (through Faults, Partial, or a function's
// own wiring with Through) go through the AWS behaviour model: latency,
// throttling, transaction conflicts, 5xx answers and lagging index reads,
// as AWS may answer. What the tests themselves do (provisioning, seeding,
// checking) goes through its observer: at once and unlimited, seen by the
// indexes at once.
package emulatortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/wellness-rtbf/rtbf/infra/model"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// Region is the region every test uses.
const Region = "us-east-1"

// URL returns the emulator's endpoint, failing the test when none is set.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("RTBF_EMULATOR_URL")
	if u == "" {
		t.Fatal("RTBF_EMULATOR_URL is not set: run the integration tests with `make test`, which starts the emulator")
	}
	return strings.TrimRight(u, "/")
}

var (
	modelOnce sync.Once
	theModel  *model.Model
)

// Model is the AWS behaviour model the code under test goes through, one
// per test process, when RTBF_MODEL names its parameters; nil otherwise.
func Model() *model.Model {
	modelOnce.Do(func() {
		spec := os.Getenv("RTBF_MODEL")
		if spec == "" {
			return
		}
		p, err := model.Parse(spec, model.Defaults())
		if err != nil {
			panic("RTBF_MODEL: " + err.Error())
		}
		theModel = model.New(p, http.DefaultTransport)
	})
	return theModel
}

// codeTransport is what the calls of the code under test go through: the
// model when it is on.
func codeTransport() http.RoundTripper {
	if m := Model(); m != nil {
		return m
	}
	return http.DefaultTransport
}

// Config returns an SDK configuration for the emulator. transport, when not
// nil, wraps the HTTP transport (to inject faults); when nil, the calls
// are the test's own, which pass the model's observer when it is on.
func Config(t testing.TB, transport http.RoundTripper) aws.Config {
	t.Helper()
	if m := Model(); m != nil && transport == nil {
		transport = m.Observer()
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		awsconfig.WithBaseEndpoint(URL(t)),
	}
	if transport != nil {
		opts = append(opts, awsconfig.WithHTTPClient(&http.Client{Transport: transport}), awsconfig.WithCustomCABundle(nil))
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// SetEnv points the standard SDK environment of the process at the
// emulator, for code that loads its own configuration (the functions'
// wiring).
func SetEnv(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", URL(t))
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("S3_USE_PATH_STYLE", "true")
	// A custom CA bundle makes the SDK refuse a caller's HTTP client (the
	// fault injector); the emulator speaks plain HTTP and needs none.
	t.Setenv("AWS_CA_BUNDLE", "")
}

// SetFunctionEnv sets, besides SetEnv's, every variable template.yaml
// gives any of its functions, naming st's resources, so a test builds a
// function with its own wiring (build) as Lambda would.
func SetFunctionEnv(t *testing.T, st *Stack) {
	SetEnv(t)
	fns, err := localstack.Functions()
	if err != nil {
		t.Fatal(err)
	}
	// The functions a function's environment names (as a schedule's
	// target).
	arns := map[string]string{"PurgeFunction": st.PurgeARN, "ExportWorkerFunction": st.ExportWorkerARN}
	res := localstack.Resources{
		Table: st.Table, DocumentsBucket: st.Bucket, ExportsBucket: st.ExportsBucket, ScheduleGroup: st.ScheduleGroup,
		Sender: st.Sender, SchedulerRole: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN,
		EvidenceBucket: st.EvidenceBucket, CertificateKey: st.CertificateKey,
		FunctionARN: func(logical string) (string, error) {
			if arn, ok := arns[logical]; ok {
				return arn, nil
			}
			return "", fmt.Errorf("emulatortest.Stack has no ARN for %s", logical)
		},
		Params: map[string]string{"PurgeDelayDays": "30"},
	}
	set := map[string]string{}
	for _, f := range fns {
		env, err := f.Environ(res)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			if prev, ok := set[k]; ok && prev != v {
				t.Fatalf("%s: %s is %q, another function's is %q: one process cannot hold both", f.LogicalID, k, v, prev)
			}
			set[k] = v
			t.Setenv(k, v)
		}
	}
}

// Through is the build option that sends a function's AWS calls through
// rt (a fault injector) on their way to the emulator.
func Through(rt http.RoundTripper) func(*aws.Config) {
	return func(c *aws.Config) { c.HTTPClient = &http.Client{Transport: rt} }
}

// Stack names one test's copy of the resources template.yaml declares.
type Stack struct {
	Table         string
	Bucket        string
	ExportsBucket string
	// EvidenceBucket is the evidence ledger (Object Lock in compliance
	// mode, as the template's); CertificateKey the id of the KMS key
	// that signs its certificates.
	EvidenceBucket string
	CertificateKey string
	ScheduleGroup  string
	Sender         string
	PurgeARN       string
	// ExportWorkerARN is the export schedules' target.
	ExportWorkerARN string
	SchedulerRole   string
	DeadLetterARN   string

	DynamoDB  *dynamodb.Client
	S3        *s3.Client
	KMS       *kms.Client
	Scheduler *scheduler.Client
	SES       *sesv2.Client
}

// Suffix returns a short random suffix for unique names.
func Suffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Provision creates a fresh table, documents, exports and evidence
// buckets, certificate signing key, schedule group and verified sender in
// the emulator, shaped as template.yaml declares them.
func Provision(t testing.TB) *Stack {
	t.Helper()
	ctx := context.Background()
	cfg := Config(t, nil)
	sfx := Suffix()
	st := &Stack{
		Table:           "rtbf-" + sfx,
		Bucket:          "rtbf-documents-" + sfx,
		ExportsBucket:   "rtbf-exports-" + sfx,
		EvidenceBucket:  "rtbf-evidence-" + sfx,
		ScheduleGroup:   "rtbf-purge-" + sfx,
		Sender:          "no-reply-" + sfx + "@rtbf.example.com",
		PurgeARN:        "arn:aws:lambda:us-east-1:123456789012:function:rtbf-purge-" + sfx,
		ExportWorkerARN: "arn:aws:lambda:us-east-1:123456789012:function:rtbf-export-worker-" + sfx,
		SchedulerRole:   "arn:aws:iam::123456789012:role/rtbf-scheduler-" + sfx,
		DeadLetterARN:   "arn:aws:sqs:us-east-1:123456789012:rtbf-schedule-dlq-" + sfx,
		DynamoDB:        dynamodb.NewFromConfig(cfg),
		S3:              s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		KMS:             kms.NewFromConfig(cfg),
		Scheduler:       scheduler.NewFromConfig(cfg),
		SES:             sesv2.NewFromConfig(cfg),
	}
	if err := localstack.PrepareEmulator(ctx, URL(t)); err != nil {
		t.Fatal(err)
	}
	// The names are fresh: "exists" can only be the SDK retrying a create
	// whose first answer was lost.
	if err := localstack.CreateTable(ctx, st.DynamoDB, st.Table); err != nil && !localstack.AlreadyExists(err) {
		t.Fatalf("create table: %v", err)
	}
	if err := localstack.CreateBucket(ctx, st.S3, st.Bucket); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if err := localstack.CreateExportsBucket(ctx, st.S3, st.ExportsBucket); err != nil {
		t.Fatalf("create exports bucket: %v", err)
	}
	if err := localstack.CreateEvidenceBucket(ctx, st.S3, st.EvidenceBucket, nil); err != nil {
		t.Fatalf("create evidence bucket: %v", err)
	}
	key, err := localstack.CreateSigningKey(ctx, st.KMS, "alias/rtbf-certificates-"+sfx)
	if err != nil {
		t.Fatalf("create signing key: %v", err)
	}
	st.CertificateKey = key
	if _, err := st.Scheduler.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: &st.ScheduleGroup}); err != nil {
		t.Fatalf("create schedule group: %v", err)
	}
	if _, err := st.SES.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: &st.Sender}); err != nil {
		t.Fatalf("create email identity: %v", err)
	}
	return st
}

// SentEmail is a raw message the emulator recorded as sent.
type SentEmail struct {
	ID           string   `json:"id"`
	Source       string   `json:"source"`
	Destinations []string `json:"destinations"`
	RawData      string   `json:"raw_data"`
}

// SentEmails returns the raw messages sent from sender.
func SentEmails(t testing.TB, sender string) []SentEmail {
	t.Helper()
	resp, err := http.Get(URL(t) + localstack.SentEmailPath)
	if err != nil {
		t.Fatalf("read emulator state: %v", err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			RawMessage []SentEmail `json:"RawMessage"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("decode emulator state: %v", err)
	}
	var out []SentEmail
	for _, m := range data.SES.RawMessage {
		if strings.Contains(m.Source, sender) {
			// moto lists the envelope recipients and again those of the
			// To header: keep each once, sorted.
			slices.Sort(m.Destinations)
			m.Destinations = slices.Compact(m.Destinations)
			out = append(out, m)
		}
	}
	return out
}

// Faults is an http.RoundTripper that fails chosen requests before they
// reach the emulator, the way a throttled or failing AWS endpoint would.
type Faults struct {
	mu    sync.Mutex
	rules []*rule
	next  http.RoundTripper
}

type rule struct {
	match  func(*http.Request) bool
	left   int
	status int
	header http.Header
	body   string
}

// NewFaults wraps http.DefaultTransport (the model, when it is on).
func NewFaults() *Faults { return &Faults{next: codeTransport()} }

// Fail answers the next n requests that match with status (e.g. 503, which
// the SDK retries).
func (f *Faults) Fail(n, status int, match func(*http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{match: match, left: n, status: status})
}

// Answer answers the next n requests that match with status, header and
// body: an AWS error response (e.g. DynamoDB's throttling, whose code is
// the body's __type, or SES's MessageRejected, whose code is the
// X-Amzn-ErrorType header).
func (f *Faults) Answer(n, status int, header http.Header, body string, match func(*http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{match: match, left: n, status: status, header: header, body: body})
}

// DynamoDBError is the header and body of DynamoDB's answer with an error
// code (its JSON protocol names it in __type).
func DynamoDBError(code, message string) (http.Header, string) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": message})
	return http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, string(b)
}

// Clear drops every rule.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// CallHolding matches the DynamoDB calls of the operation (e.g.
// "TransactWriteItems") whose body holds s. It reads the body to know, and
// puts it back for the emulator.
func CallHolding(operation, s string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+operation) || r.Body == nil {
			return false
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		return err == nil && bytes.Contains(b, []byte(s))
	}
}

// Path matches requests whose URL path contains s.
func Path(s string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.Contains(r.URL.Path, s) }
}

// DynamoDB matches the requests to DynamoDB (every operation: they are
// told apart by their X-Amz-Target header, e.g. DynamoDB_20120810.GetItem).
func DynamoDB() func(*http.Request) bool {
	return func(r *http.Request) bool {
		return strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	}
}

func (f *Faults) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	for _, ru := range f.rules {
		if ru.left > 0 && ru.match(r) {
			ru.left--
			f.mu.Unlock()
			if r.Body != nil {
				r.Body.Close()
			}
			header := http.Header{"Content-Type": {"application/json"}}
			for k, v := range ru.header {
				header[http.CanonicalHeaderKey(k)] = v
			}
			var body io.ReadCloser = http.NoBody
			if ru.body != "" {
				body = io.NopCloser(strings.NewReader(ru.body))
			}
			return &http.Response{
				StatusCode:    ru.status,
				Status:        fmt.Sprintf("%d %s", ru.status, http.StatusText(ru.status)),
				Header:        header,
				Body:          body,
				ContentLength: int64(len(ru.body)),
				Request:       r,
				Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			}, nil
		}
	}
	f.mu.Unlock()
	return f.next.RoundTrip(r)
}

// Eventually polls cond until it holds or the time runs out.
func Eventually(t testing.TB, d time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// ParseEmail reads a raw message as the service sends it (multipart/
// alternative) and returns its text part, HTML part and decoded subject.
func ParseEmail(t testing.TB, raw string) (text, html, subject string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parse email: %v", err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("got content type %q (%v), want multipart/alternative", mt, err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		b, _ := io.ReadAll(p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	if text == "" || html == "" {
		t.Fatalf("got text %d bytes, html %d bytes, want both parts", len(text), len(html))
	}
	return text, html, subject
}
