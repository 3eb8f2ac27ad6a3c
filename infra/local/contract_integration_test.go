//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/wellness-rtbf/rtbf/infra/openapi"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
)

// The contract tests stand the local system up (the real function
// binaries behind the local HTTP API and JWT authorizer, on the emulator)
// and hold every answer to infra/openapi.yaml:
//
//   - Roles calls every route as every kind of caller and validates every
//     request and response against the document (status, headers, body),
//     and that x-required-claims says who gets past the role check;
//   - BadInput sends each route malformed, foreign and unauthenticated
//     requests: each must be refused with the documented 4xx JSON error
//     and change nothing in the table, the buckets, the schedules or the
//     sent mail; then, with scheduling broken, the two routes that
//     schedule work must answer 503 with Retry-After and record nothing.

const (
	demoPractice  = "demo-practice"
	otherPractice = "other-practice"
	// otherOnlyClient is a client of the other practice only.
	otherOnlyClient = "cl-olu"
)

// contractSystem is the running system, the document, and the callers.
type contractSystem struct {
	sys    *System
	doc    *openapi3.T
	out    *syncWriter
	claims map[string]map[string]any // caller name -> claims
	tokens map[string]string         // caller name -> signed token
}

// The callers: the demo practice's owner, member and clients (cl-ben, whose
// account stays open, and cl-ava, whose account the setup purges), and the
// other practice's owner and client.
const (
	owner        = "owner"
	member       = "member"
	client       = "client"
	closedClient = "closed-client"
	otherPr      = "other-practitioner"
	otherCl      = "other-client"
)

var callers = []string{owner, member, client, closedClient, otherPr, otherCl}

func startContract(t *testing.T) *contractSystem {
	t.Helper()
	doc, err := openapi.Load()
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := &syncWriter{w: &bytes.Buffer{}}
	logged := logScan.writer(out) // the suite scans every line for personal data
	sys, err := Start(context.Background(), Options{
		Root: root, Addr: "127.0.0.1:0", EmulatorURL: strings.TrimRight(os.Getenv("RTBF_EMULATOR_URL"), "/"),
		Prefix: "rtbf-" + emulatortest.Suffix(), PracticeID: demoPractice, BuildDir: t.TempDir(),
		Audience: "rtbf-test", PurgeDelayDays: 30, TokenTTL: time.Hour,
		Log: slog.New(slog.NewTextHandler(logged, nil)), Output: logged,
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	logScan.seeded(sys.Demo.Personal...)
	t.Cleanup(sys.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", out.String())
		}
	})

	// A second practice, with the same people's ids (ids are only unique
	// within a practice) and a client of its own.
	ctx := context.Background()
	other, err := sys.Stack.Seed(ctx, otherPractice)
	if err != nil {
		t.Fatalf("seed %s: %v", otherPractice, err)
	}
	logScan.seeded(other.Personal...)
	store := dynamostore.New(sys.Stack.DynamoDB, sys.Stack.Table)
	olu := dynamostore.ClientItem{
		PK: dynamostore.ClientPK(otherPractice, otherOnlyClient), SK: "PROFILE", ID: otherOnlyClient,
		FirstName: "Olu", LastName: "Ade", Email: otherOnlyClient + "@clients.example.com", PractitionerIDs: []string{other.MemberID},
		PortalUserID: otherOnlyClient + "-sub",
	}
	if err := store.Put(ctx, olu); err != nil {
		t.Fatal(err)
	}
	logScan.seeded(olu.FirstName, olu.LastName, olu.FirstName+" "+olu.LastName, olu.Email)

	c := &contractSystem{sys: sys, doc: doc, out: out, claims: map[string]map[string]any{
		owner:        sys.Demo.OwnerClaims(),
		member:       sys.Demo.MemberClaims(),
		client:       sys.Demo.ClientClaims("cl-ben"),
		closedClient: sys.Demo.ClientClaims("cl-ava"),
		otherPr:      other.OwnerClaims(),
		otherCl:      other.ClientClaims("cl-ben"),
	}, tokens: map[string]string{}}
	for name, claims := range c.claims {
		c.tokens[name] = c.sign(t, claims)
	}
	return c
}

func (c *contractSystem) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := c.sys.Issuer.Sign(claims, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// with returns the caller's claims changed: a nil value removes a claim.
func (c *contractSystem) with(caller string, change map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range c.claims[caller] {
		out[k] = v
	}
	for k, v := range change {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// request is one HTTP request to the API.
type request struct {
	method string
	path   string // as sent: may hold escapes and a query
	auth   string // the Authorization header; "" for none
	ctype  string // the Content-Type header; "" for none
	body   string
}

func (c *contractSystem) bearer(caller string) string { return "Bearer " + c.tokens[caller] }

// response is what came back, and what the document says of it.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	// op is the operation the request was routed to (nil: no route).
	op *openapi.Operation
	// requestErr is what ValidateRequest said of the request.
	requestErr error
}

func (r *response) code() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.raw))
}

// do sends req and validates it and its response against the document.
// A response that does not match its operation fails the test; so does any
// response that is not one JSON object, or that looks like a stack trace.
func (c *contractSystem) do(t *testing.T, req request) *response {
	t.Helper()
	hreq, err := http.NewRequest(req.method, c.sys.URL+req.path, strings.NewReader(req.body))
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	if req.auth != "" {
		hreq.Header.Set("Authorization", req.auth)
	}
	if req.ctype != "" {
		hreq.Header.Set("Content-Type", req.ctype)
	}
	sent := hreq.Header.Clone()
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	raw, err := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := &response{status: hresp.StatusCode, header: hresp.Header, raw: raw}
	where := req.method + " " + req.path
	if err := json.Unmarshal(raw, &r.body); err != nil || r.body == nil {
		t.Fatalf("%s: got %d with body %q, want one JSON object", where, r.status, raw)
	}
	if ct := hresp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: got Content-Type %q, want application/json", where, ct)
	}
	for _, leak := range []string{"goroutine ", ".go:", "panic", "runtime error", "Exception", "arn:aws"} {
		if bytes.Contains(raw, []byte(leak)) {
			t.Errorf("%s: the body holds %q: %s", where, leak, raw)
		}
	}

	u, err := url.Parse(c.sys.URL + req.path)
	if err != nil {
		t.Fatal(err)
	}
	if final := hresp.Request.URL; final.Path != u.Path || hresp.Request.Method != req.method {
		return r // redirected (a path with dot segments): answered by no operation
	}
	op, params, ok := openapi.Find(c.doc, req.method, u.Path)
	if !ok {
		return r // no route: API Gateway's 404 (checked by the caller)
	}
	r.op = &op
	vreq, _ := http.NewRequest(req.method, u.String(), strings.NewReader(req.body))
	vreq.Header = sent
	route := &routers.Route{Spec: c.doc, Path: op.Path, PathItem: op.PathItem, Method: op.Method, Operation: op.Operation}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, SkipSettingDefaults: true, MultiError: true}}
	r.requestErr = openapi3filter.ValidateRequest(context.Background(), in)
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	rin.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("%s: the response does not match %s: %v\n%s", where, openapi.File, err, r)
	}
	// An error's code belongs to its status (x-error-codes).
	if code := r.code(); code != "" {
		codes, err := openapi.ErrorCodes(c.doc)
		if err != nil {
			t.Fatal(err)
		}
		if codes[code] != r.status {
			t.Errorf("%s: got code %s with %d, x-error-codes says %d", where, code, r.status, codes[code])
		}
	}
	return r
}

// bearerPresent is the document's security check as a client sees it: a
// bearer token is sent. Whether it is valid is the authorizer's business.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if h := in.RequestValidationInput.Request.Header.Get("Authorization"); !strings.HasPrefix(h, "Bearer ") || len(h) < 8 {
		return errors.New("no bearer token")
	}
	return nil
}

// mustServe fails the test unless the local gateway (and so template.yaml)
// has the route: a route the contract tests must not be missed.
func mustServe(t *testing.T, sys *System, method, path string) {
	t.Helper()
	for _, r := range sys.routes {
		if r.method == method && r.path == path {
			return
		}
	}
	t.Fatalf("%s %s: not a route of template.yaml, want it served", method, path)
}

// ---------------------------------------------------------------- state

// state is everything a request could change: the table's items, every
// version and delete marker of the objects of the buckets (documents,
// exports and the evidence ledger; a changed or deleted object makes one),
// the schedules, and the mail sent from this system's
// sender. Reading the mail is slow (the emulator dumps its whole state),
// so it is read only when asked for; every email the service sends is
// recorded on its request item, which the table's snapshot sees.
type state struct {
	Items     emulatortest.Snapshot
	Objects   []string
	Schedules []string
	Mail      []string
}

func (c *contractSystem) snapshot(t *testing.T, withMail bool) state {
	t.Helper()
	ctx := context.Background()
	st := c.sys.Stack
	s := state{Items: emulatortest.TakeSnapshot(t, &emulatortest.Stack{Table: st.Table, DynamoDB: st.DynamoDB})}

	for _, bucket := range []string{st.Bucket, st.ExportsBucket, st.EvidenceBucket} {
		vp := s3.NewListObjectVersionsPaginator(st.S3, &s3.ListObjectVersionsInput{Bucket: &bucket})
		for vp.HasMorePages() {
			page, err := vp.NextPage(ctx)
			if err != nil {
				t.Fatalf("list object versions of %s: %v", bucket, err)
			}
			for _, v := range page.Versions {
				s.Objects = append(s.Objects, fmt.Sprintf("%s version %s %s %s latest=%v", bucket, aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToString(v.ETag), aws.ToBool(v.IsLatest)))
			}
			for _, m := range page.DeleteMarkers {
				s.Objects = append(s.Objects, fmt.Sprintf("%s delete-marker %s %s latest=%v", bucket, aws.ToString(m.Key), aws.ToString(m.VersionId), aws.ToBool(m.IsLatest)))
			}
		}
	}
	sort.Strings(s.Objects)

	sp := scheduler.NewListSchedulesPaginator(st.Scheduler, &scheduler.ListSchedulesInput{GroupName: &st.ScheduleGroup})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatalf("list schedules: %v", err)
		}
		for _, sum := range page.Schedules {
			s.Schedules = append(s.Schedules, fmt.Sprintf("%s %s modified=%v", aws.ToString(sum.Name), sum.State, aws.ToTime(sum.LastModificationDate)))
		}
	}
	sort.Strings(s.Schedules)
	if withMail {
		s.Mail = c.mail(t)
	}
	return s
}

// mail lists the messages sent from this system's sender.
func (c *contractSystem) mail(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(c.sys.URL + "/_local/mail?from=" + url.QueryEscape(c.sys.Stack.Sender))
	if err != nil {
		t.Fatalf("mail: %v", err)
	}
	defer resp.Body.Close()
	var mail struct{ Messages []sentMail }
	if err := json.NewDecoder(resp.Body).Decode(&mail); err != nil {
		t.Fatalf("mail: %v", err)
	}
	out := []string{}
	for _, m := range mail.Messages {
		out = append(out, m.ID+" "+strings.Join(m.To, ",")+" "+m.Subject)
	}
	sort.Strings(out)
	return out
}

// diff names what differs between two states.
func (a state) diff(b state) []string {
	var out []string
	for k, v := range a.Items {
		if w, ok := b.Items[k]; !ok {
			out = append(out, fmt.Sprintf("item %v deleted", k))
		} else if !reflect.DeepEqual(v, w) {
			out = append(out, fmt.Sprintf("item %v changed", k))
		}
	}
	for k := range b.Items {
		if _, ok := a.Items[k]; !ok {
			out = append(out, fmt.Sprintf("item %v added", k))
		}
	}
	if !slices.Equal(a.Objects, b.Objects) {
		out = append(out, fmt.Sprintf("objects: %v before, %v after", a.Objects, b.Objects))
	}
	if !slices.Equal(a.Schedules, b.Schedules) {
		out = append(out, fmt.Sprintf("schedules: %v before, %v after", a.Schedules, b.Schedules))
	}
	if !slices.Equal(a.Mail, b.Mail) {
		out = append(out, fmt.Sprintf("mail: %v before, %v after", a.Mail, b.Mail))
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------- setup

// story is the state the setup leaves, through the API itself: the setting
// on in both practices; cl-ava's request purged (her account closed),
// cl-ben's first request cancelled and his second pending; a request of
// the other practice pending.
type story struct {
	avaRequest, benCancelled, benPending, otherRequest string
}

func (c *contractSystem) setUp(t *testing.T) story {
	t.Helper()
	var s story
	enable := `{"enabled":true}`
	for _, who := range []string{owner, otherPr} {
		if r := c.do(t, request{"PUT", "/v1/settings/right-to-be-forgotten", c.bearer(who), "application/json", enable}); r.status != 200 {
			t.Fatalf("%s enables: got %s, want 200", who, r)
		}
	}
	post := func(who string, want int) string {
		t.Helper()
		r := c.do(t, request{"POST", "/v1/portal/account-deletion", c.bearer(who), "application/json", `{"confirm":true}`})
		if r.status != want {
			t.Fatalf("%s requests deletion: got %s, want %d", who, r, want)
		}
		id, _ := r.body["id"].(string)
		return id
	}
	s.avaRequest = post(closedClient, 202)
	if again := post(closedClient, 200); again != s.avaRequest {
		t.Fatalf("repeat request: got id %s, want %s", again, s.avaRequest)
	}
	r := c.do(t, request{"GET", "/v1/deletion-requests/" + s.avaRequest, c.bearer(owner), "", ""})
	purgeAt, err := time.Parse(time.RFC3339, fmt.Sprint(r.body["purgeAt"]))
	if err != nil {
		t.Fatalf("purgeAt of %s: %v", r, err)
	}
	c.runSchedules(t, purgeAt.Add(time.Minute), 1)

	s.benCancelled = post(client, 202)
	if r := c.do(t, request{"DELETE", "/v1/portal/account-deletion", c.bearer(client), "", ""}); r.status != 200 || r.body["status"] != "cancelled" {
		t.Fatalf("cancel: got %s, want 200 cancelled", r)
	}
	s.benPending = post(client, 202)
	s.otherRequest = post(otherCl, 202)
	if r := c.do(t, request{"GET", "/v1/deletion-requests/" + s.avaRequest, c.bearer(owner), "", ""}); r.body["status"] != "completed" {
		t.Fatalf("after the purge: got %s, want the request completed", r)
	}
	return s
}

// runSchedules fires the schedules due at `at` and wants n of them run.
func (c *contractSystem) runSchedules(t *testing.T, at time.Time, n int) {
	t.Helper()
	resp, err := http.Post(c.sys.URL+"/_local/scheduler/run?at="+url.QueryEscape(at.Format(time.RFC3339)), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var run struct {
		Ran []ranSchedule `json:"ran"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil {
		t.Fatal(err)
	}
	if len(run.Ran) != n {
		t.Fatalf("scheduler at %s: ran %d, want %d: %+v", at, len(run.Ran), n, run.Ran)
	}
	for _, r := range run.Ran {
		if r.Error != "" {
			t.Fatalf("scheduler: %s failed: %s", r.Name, r.Error)
		}
	}
}

// ---------------------------------------------------------------- roles

// outcome is what a caller gets: "200", "403 forbidden", ...
type outcome = string

func (r *response) outcome() outcome {
	if code := r.code(); code != "" {
		return fmt.Sprintf("%d %s", r.status, code)
	}
	return fmt.Sprint(r.status)
}

// claimStrings are the claims as the authorizer hands them on.
func claimStrings(claims map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range claims {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// roles calls every route as the owner, a team member, a client of the
// practice (and one whose account was purged), a practitioner and a client
// of another practice, validating every request and response against the
// document. It returns an export of cl-ben (made by the owner, then run by
// its worker) and one of the other practice.
func (c *contractSystem) roles(t *testing.T, s story) exportIDs {

	const (
		ok        = "200"
		accepted  = "202"
		forbidden = "403 forbidden"
		closed    = "403 account_closed"
		notFound  = "404 not_found"
		notReady  = "404 certificate_not_ready"
	)
	type row struct {
		method, path, ctype, body string
		want                      map[string]outcome
	}
	practitioners := func(own, other outcome) map[string]outcome {
		return map[string]outcome{owner: own, member: own, client: forbidden, closedClient: forbidden, otherPr: other, otherCl: forbidden}
	}
	// firstMade: the owner's call makes something, the member's (after it)
	// finds it.
	firstMade := func(other outcome) map[string]outcome {
		m := practitioners(accepted, other)
		m[member] = ok
		return m
	}
	rows := []row{
		{"GET", "/v1/settings/right-to-be-forgotten", "", "", practitioners(ok, ok)},
		{"PUT", "/v1/settings/right-to-be-forgotten", "application/json", `{"enabled":true}`,
			map[string]outcome{owner: ok, member: forbidden, client: forbidden, closedClient: forbidden, otherPr: ok, otherCl: forbidden}},
		{"GET", "/v1/portal/account-deletion", "", "",
			map[string]outcome{owner: forbidden, member: forbidden, client: ok, closedClient: closed, otherPr: forbidden, otherCl: ok}},
		{"GET", "/v1/notifications", "", "", practitioners(ok, ok)},
		{"GET", "/v1/notifications?limit=2", "", "", practitioners(ok, ok)},
		{"POST", "/v1/notifications/" + s.avaRequest + "-requested/read", "", "", practitioners(ok, notFound)},
		{"POST", "/v1/notifications/" + s.benCancelled + "-cancelled/read", "application/json", `{}`, practitioners(ok, notFound)},
		{"POST", "/v1/notifications/" + s.otherRequest + "-requested/read", "", "", practitioners(notFound, ok)},
		{"GET", "/v1/deletion-requests", "", "", practitioners(ok, ok)},
		{"GET", "/v1/deletion-requests?status=completed&limit=1", "", "", practitioners(ok, ok)},
		{"GET", "/v1/deletion-requests?status=scheduled", "", "", practitioners(ok, ok)},
		{"GET", "/v1/deletion-requests/" + s.avaRequest, "", "", practitioners(ok, notFound)},
		{"GET", "/v1/deletion-requests/" + s.benCancelled, "", "", practitioners(ok, notFound)},
		{"GET", "/v1/deletion-requests/" + s.otherRequest, "", "", practitioners(notFound, ok)},
		// cl-ava's purge completed: its certificate; the others have none.
		{"GET", "/v1/deletion-requests/" + s.avaRequest + "/certificate", "", "", practitioners(ok, notFound)},
		{"GET", "/v1/deletion-requests/" + s.benCancelled + "/certificate", "", "", practitioners(notReady, notFound)},
		{"GET", "/v1/deletion-requests/" + s.otherRequest + "/certificate", "", "", practitioners(notFound, notReady)},
		{"GET", "/v1/erasure-certificates/public-key", "", "", practitioners(ok, ok)},
		// The pending requests are returned again; nothing new is made.
		{"POST", "/v1/portal/account-deletion", "application/json", `{"confirm":true}`,
			map[string]outcome{owner: forbidden, member: forbidden, client: ok, closedClient: closed, otherPr: forbidden, otherCl: ok}},
		{"DELETE", "/v1/portal/account-deletion", "", "",
			map[string]outcome{owner: forbidden, member: forbidden, client: ok, closedClient: closed, otherPr: forbidden, otherCl: ok}},
		// Nothing is pending any more: a repeat answers with the
		// cancelled request (and sends what it still owes).
		{"DELETE", "/v1/portal/account-deletion", "", "",
			map[string]outcome{owner: forbidden, member: forbidden, client: ok, closedClient: closed, otherPr: forbidden, otherCl: ok}},
	}
	var made exportIDs
	exports := 0
	mustServe(t, c.sys, "POST", "/v1/clients/{clientId}/exports")
	rows = append(rows,
		// The member asks after the owner, while the owner's export is
		// pending: that export, and nothing new.
		row{"POST", "/v1/clients/cl-ben/exports", "", "", firstMade(accepted)},
		row{"POST", "/v1/clients/cl-ava/exports", "application/json", `{}`, firstMade(accepted)},
		row{"POST", "/v1/clients/" + otherOnlyClient + "/exports", "", "", practitioners(notFound, accepted)},
	)

	for _, rw := range rows {
		for _, who := range callers {
			want, ok := rw.want[who]
			if !ok {
				t.Fatalf("%s %s: no outcome for %s", rw.method, rw.path, who)
			}
			r := c.do(t, request{rw.method, rw.path, c.bearer(who), rw.ctype, rw.body})
			where := fmt.Sprintf("%s %s as %s", rw.method, rw.path, who)
			if r.outcome() != want {
				t.Errorf("%s: got %s, want %s", where, r, want)
			}
			if r.requestErr != nil {
				t.Errorf("%s: the request does not match %s: %v", where, openapi.File, r.requestErr)
			}
			if r.op == nil {
				t.Fatalf("%s: no operation in %s", where, openapi.File)
			}
			// x-required-claims says who gets past the role check.
			if err := openapi.CheckClaims(r.op.Operation, claimStrings(c.claims[who])); err != nil {
				if r.outcome() != forbidden {
					t.Errorf("%s: the claims fail x-required-claims (%v), yet got %s, want 403 forbidden", where, err, r)
				}
			} else if r.outcome() == forbidden {
				t.Errorf("%s: the claims satisfy x-required-claims, yet got %s", where, r)
			}
			if rw.method == "POST" && strings.HasSuffix(rw.path, "/exports") && r.status == 202 {
				exports++
				id, _ := r.body["exportId"].(string)
				if loc := r.header.Get("Location"); loc != rw.path+"/"+id {
					t.Errorf("%s: got Location %q, want %q", where, loc, rw.path+"/"+id)
				}
				switch {
				case who == owner && rw.path == "/v1/clients/cl-ben/exports" && made.own == "":
					made.own = id
				case who == otherPr && made.other == "":
					made.other = id
				}
			}
		}
	}

	if made.own != "" {
		get := func(want outcome) {
			t.Helper()
			for _, rw := range []row{
				{"GET", "/v1/clients/cl-ben/exports/" + made.own, "", "", practitioners(want, notFound)},
				{"GET", "/v1/clients/cl-ava/exports/" + made.own, "", "", practitioners(notFound, notFound)},
				{"GET", "/v1/clients/cl-ben/exports/" + made.other, "", "", practitioners(notFound, want)},
			} {
				for _, who := range callers {
					r := c.do(t, request{rw.method, rw.path, c.bearer(who), rw.ctype, rw.body})
					if r.outcome() != rw.want[who] || r.requestErr != nil {
						t.Errorf("%s %s as %s: got %s (request: %v), want %s", rw.method, rw.path, who, r, r.requestErr, rw.want[who])
					}
				}
			}
		}
		get(ok)
		// The workers run (their schedules are due within the next two
		// minutes of the local clock, which the setup moved to the purge's
		// date); a ready export, with its counts and download URL, is held
		// to the document too.
		c.runSchedules(t, c.sys.Now().Add(2*time.Minute), exports)
		get(ok)
		r := c.do(t, request{"GET", "/v1/clients/cl-ben/exports/" + made.own, c.bearer(owner), "", ""})
		if r.body["status"] != "ready" || r.body["downloadUrl"] == nil || r.body["counts"] == nil {
			t.Errorf("after its worker ran: got %s, want the export ready with counts and a download URL", r)
		}
	}

	t.Run("Pages", func(t *testing.T) {
		for _, list := range []struct{ path, items string }{
			{"/v1/notifications", "notifications"},
			{"/v1/deletion-requests", "requests"},
		} {
			all := c.do(t, request{"GET", list.path + "?limit=100", c.bearer(owner), "", ""})
			want, _ := all.body[list.items].([]any)
			if len(want) < 3 || all.body["nextToken"] != nil {
				t.Fatalf("%s: got %s, want at least 3 items on one page", list.path, all)
			}
			var got []any
			token := ""
			for pages := 0; pages < len(want)+1; pages++ {
				path := list.path + "?limit=2"
				if token != "" {
					path += "&nextToken=" + url.QueryEscape(token)
				}
				r := c.do(t, request{"GET", path, c.bearer(owner), "", ""})
				if r.status != 200 || r.requestErr != nil {
					t.Fatalf("%s: got %s (request: %v), want 200", path, r, r.requestErr)
				}
				items, _ := r.body[list.items].([]any)
				got = append(got, items...)
				next, _ := r.body["nextToken"].(string)
				if next == "" {
					break
				}
				token = next
			}
			if !reflect.DeepEqual(ids(got), ids(want)) {
				t.Errorf("%s: got %v over pages of 2, want %v", list.path, ids(got), ids(want))
			}
		}
	})
	return made
}

// exportIDs are an export of the demo practice's cl-ben and one of the
// other practice.
type exportIDs struct{ own, other string }

func ids(items []any) []string {
	var out []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, fmt.Sprint(m["id"]))
	}
	return out
}

// ---------------------------------------------------------------- bad input

// What the document must say of a refused request.
const (
	specAny     = iota // the document cannot tell (a token's signature, a body's size, an id's owner)
	specValid          // the request is well formed; the API refuses it for what it names
	specInvalid        // the document refuses it too
	// specBeyond: the document refuses it, but kin-openapi's validator
	// does not see why (it reads a body's first JSON value and ignores
	// what follows; it takes a media type it cannot parse as JSON).
	specBeyond
)

type badCase struct {
	name string
	req  request
	want outcome // "401": the authorizer's; "404": no route
	spec int
}

// target is a route with a caller who may use it and a request that,
// were it accepted, would change something wherever the route can.
type target struct {
	name         string
	method, path string
	caller       string
	outsider     string // a caller the route refuses
	ctype, body  string
	// field and value make bodies of the route's shape; "" for routes
	// without a body, "-" for routes whose body is empty or {}.
	field, value string
}

func (tg target) valid(auth string) request {
	return request{tg.method, tg.path, auth, tg.ctype, tg.body}
}

// tokenCases are requests whose token the authorizer refuses, or whose
// verified claims the function refuses.
func (c *contractSystem) tokenCases(t *testing.T, tg target) []badCase {
	t.Helper()
	base := c.claims[tg.caller]
	now := time.Now()
	signed := func(change map[string]any) string { return "Bearer " + c.sign(t, c.with(tg.caller, change)) }

	otherSameKid, err := newIssuer(c.sys.Issuer.url, c.sys.Issuer.audience)
	if err != nil {
		t.Fatal(err)
	}
	otherSameKid.kid = c.sys.Issuer.kid
	otherKid, err := newIssuer(c.sys.Issuer.url, c.sys.Issuer.audience)
	if err != nil {
		t.Fatal(err)
	}
	foreign := func(is *issuer) string {
		tok, err := is.Sign(base, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	valid := strings.Split(c.tokens[tg.caller], ".")
	payload, _ := json.Marshal(map[string]any{"iss": c.sys.Issuer.url, "aud": c.sys.Issuer.audience, "exp": now.Add(time.Hour).Unix(), "sub": base["sub"]})
	algNone := b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64.EncodeToString(payload) + "."
	// Another caller's claims under this caller's signature.
	escalated, _ := json.Marshal(map[string]any{"iss": c.sys.Issuer.url, "aud": c.sys.Issuer.audience, "exp": now.Add(time.Hour).Unix(),
		"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": demoPractice, "custom:team_role": "owner"})
	tampered := valid[0] + "." + b64.EncodeToString(escalated) + "." + valid[2]

	cases := []badCase{
		{"NoToken", tg.valid(""), "401", specInvalid},
		{"EmptyBearer", tg.valid("Bearer "), "401", specInvalid},
		{"Basic", tg.valid("Basic dXNlcjpwYXNz"), "401", specInvalid},
		{"NotAJWT", tg.valid("Bearer not-a-jwt"), "401", specValid},
		{"Expired", tg.valid(signed(map[string]any{"exp": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Hour).Unix()})), "401", specValid},
		{"NotYetValid", tg.valid(signed(map[string]any{"nbf": now.Add(time.Hour).Unix()})), "401", specValid},
		{"OtherKeySameKid", tg.valid(foreign(otherSameKid)), "401", specValid},
		{"OtherKey", tg.valid(foreign(otherKid)), "401", specValid},
		{"WrongAudience", tg.valid(signed(map[string]any{"aud": "another-api"})), "401", specValid},
		{"WrongIssuer", tg.valid(signed(map[string]any{"iss": "https://issuer.example.com"})), "401", specValid},
		{"AlgNone", tg.valid("Bearer " + algNone), "401", specValid},
		{"TamperedClaims", tg.valid("Bearer " + tampered), "401", specValid},
		{"NoSubject", tg.valid(signed(map[string]any{"sub": nil})), "401 unauthorized", specValid},
		{"UnknownRole", tg.valid(signed(map[string]any{"custom:role": "admin"})), "403 forbidden", specValid},
		{"NoPractice", tg.valid(signed(map[string]any{"custom:practice_id": nil})), "403 forbidden", specValid},
		{"BadPracticeID", tg.valid(signed(map[string]any{"custom:practice_id": demoPractice + "#CLIENT#cl-ava"})), "403 forbidden", specValid},
	}
	if base["custom:role"] == "practitioner" {
		cases = append(cases,
			badCase{"NoTeamRole", tg.valid(signed(map[string]any{"custom:team_role": nil})), "403 forbidden", specValid},
			badCase{"TeamRoleCase", tg.valid(signed(map[string]any{"custom:team_role": "OWNER"})), "403 forbidden", specValid},
			badCase{"AsClient", tg.valid(signed(map[string]any{"custom:role": "client", "custom:client_id": "cl-ben"})), "403 forbidden", specValid},
		)
	} else {
		cases = append(cases,
			badCase{"NoClientID", tg.valid(signed(map[string]any{"custom:client_id": nil})), "403 forbidden", specValid},
			badCase{"BadClientID", tg.valid(signed(map[string]any{"custom:client_id": "cl ben"})), "403 forbidden", specValid},
			badCase{"AsPractitioner", tg.valid(signed(map[string]any{"custom:role": "practitioner", "custom:team_role": "owner"})), "403 forbidden", specValid},
		)
	}
	return cases
}

// bodyCases are bodies the route refuses, sent by a caller it serves, and
// a bad body sent by one it does not (who learns only that).
func (c *contractSystem) bodyCases(tg target) []badCase {
	auth := c.bearer(tg.caller)
	const js = "application/json"
	b := func(name, ctype, body string, want outcome, spec int) badCase {
		return badCase{name, request{tg.method, tg.path, auth, ctype, body}, want, spec}
	}
	invalid := "400 invalid_request"
	cases := []badCase{
		b("MalformedJSON", js, `{"`+tg.field+`":`, invalid, specInvalid),
		b("NotJSON", js, `hello`, invalid, specInvalid),
		b("Array", js, `[]`, invalid, specInvalid),
		b("Null", js, `null`, invalid, specInvalid),
		b("String", js, `"x"`, invalid, specInvalid),
		b("Number", js, `1`, invalid, specInvalid),
		b("TwoObjects", js, `{}{}`, invalid, specBeyond),
		b("TrailingData", js, `{} x`, invalid, specBeyond),
		b("UnknownField", js, `{"x":1}`, invalid, specInvalid),
		b("InvalidUTF8", js, "{\"x\":\"\xff\"}", invalid, specInvalid),
		b("Oversized", js, `{"pad":"`+strings.Repeat("x", 5000)+`"}`, "413 payload_too_large", specInvalid),
		b("OversizedValid", js, `{}`+strings.Repeat(" ", 4095), "413 payload_too_large", specAny),
		b("Oversized64KiB", js, `{"pad":"`+strings.Repeat("x", 64<<10)+`"}`, "413 payload_too_large", specInvalid),
		b("OversizedNoContentType", "", `{}`+strings.Repeat(" ", 5000), "413 payload_too_large", specAny),
		b("TextPlain", "text/plain", `{}`, "415 unsupported_media_type", specInvalid),
		b("FormEncoded", "application/x-www-form-urlencoded", `x=1`, "415 unsupported_media_type", specInvalid),
		b("XML", "application/xml", `<x/>`, "415 unsupported_media_type", specInvalid),
		b("BadMediaType", "application/json; charset", `{}`, "415 unsupported_media_type", specBeyond),
		{"Outsider", request{tg.method, tg.path, c.bearer(tg.outsider), js, `{"x":`}, "403 forbidden", specInvalid},
		{"OutsiderOversized", request{tg.method, tg.path, c.bearer(tg.outsider), js, strings.Repeat(" ", 5000)}, "403 forbidden", specAny},
	}
	if tg.field == "-" {
		return cases
	}
	f, v := tg.field, tg.value
	missing := invalid
	if f == "confirm" {
		missing = "400 confirmation_required"
	}
	opposite := "false"
	if v == "false" {
		opposite = "true"
	}
	obj := func(inner string) string { return "{" + inner + "}" }
	kv := func(val string) string { return `"` + f + `":` + val }
	return append(cases,
		b("Empty", js, ``, invalid, specInvalid),
		b("Whitespace", js, "  \n", invalid, specInvalid),
		b("ValidThenTrailing", js, obj(kv(v))+` x`, invalid, specBeyond),
		b("ValidTwice", js, obj(kv(v))+obj(kv(v)), invalid, specBeyond),
		b("WrappedInArray", js, `[`+obj(kv(v))+`]`, invalid, specInvalid),
		b("ExtraField", js, obj(kv(v)+`,"extra":1`), invalid, specInvalid),
		b("IdentityInBody", js, obj(kv(v)+`,"practiceId":"`+otherPractice+`","clientId":"cl-ava","sub":"pr-owner"`), invalid, specInvalid),
		b("FieldCase", js, obj(`"`+strings.ToUpper(f[:1])+f[1:]+`":`+v), invalid, specInvalid),
		b("FieldUpper", js, obj(`"`+strings.ToUpper(f)+`":`+v), invalid, specInvalid),
		b("DuplicateField", js, obj(kv(opposite)+","+kv(v)), invalid, specAny),
		b("DuplicateSame", js, obj(kv(v)+","+kv(v)), invalid, specAny),
		b("TypeString", js, obj(kv(`"`+v+`"`)), invalid, specInvalid),
		b("TypeNumber", js, obj(kv(`1`)), invalid, specInvalid),
		b("TypeArray", js, obj(kv(`[`+v+`]`)), invalid, specInvalid),
		b("TypeObject", js, obj(kv(`{}`)), invalid, specInvalid),
		b("HugeNumber", js, obj(kv(`1e999`)), invalid, specInvalid),
		b("Nested", js, obj(kv(strings.Repeat("[", 200)+strings.Repeat("]", 200))), invalid, specInvalid),
		b("NullField", js, obj(kv(`null`)), missing, specInvalid),
		b("MissingField", js, `{}`, missing, specInvalid),
		b("OversizedWithField", js, obj(kv(v))+strings.Repeat(" ", 4097), "413 payload_too_large", specAny),
	)
}

// TestContract drives the system through the contract: every route as
// every caller (Roles), the authorization matrix of forged claims
// (Forged), then every refused request (BadInput).
func TestContract(t *testing.T) {
	c := startContract(t)
	s := c.setUp(t)
	var exports exportIDs
	t.Run("Roles", func(t *testing.T) { exports = c.roles(t, s) })
	t.Run("Forged", func(t *testing.T) { c.forged(t, s, exports) })
	t.Run("BadInput", func(t *testing.T) { c.badInput(t, s, exports) })
}

// badInput sends every route requests it must refuse: bad tokens and
// claims, bad bodies, bad, foreign and unknown ids, bad query parameters,
// methods without a route. Each must get the documented 4xx JSON error
// and change nothing.
func (c *contractSystem) badInput(t *testing.T, s story, exports exportIDs) {
	const (
		js       = "application/json"
		settings = "/v1/settings/right-to-be-forgotten"
		portal   = "/v1/portal/account-deletion"
		invalid  = "400 invalid_request"
		notFound = "404 not_found"
	)
	pageToken := func(who, path string) string {
		t.Helper()
		r := c.do(t, request{"GET", path + "?limit=1", c.bearer(who), "", ""})
		tok, _ := r.body["nextToken"].(string)
		return tok
	}
	ownerInbox, memberInbox, otherInbox := pageToken(owner, "/v1/notifications"), pageToken(member, "/v1/notifications"), pageToken(otherPr, "/v1/notifications")
	ownerRequests, otherRequests := pageToken(owner, "/v1/deletion-requests"), pageToken(otherPr, "/v1/deletion-requests")
	if ownerInbox == "" || memberInbox == "" || ownerRequests == "" {
		t.Fatal("got no page tokens to misuse, want the owner's and member's")
	}

	targets := []target{
		{"GetSetting", "GET", settings, owner, client, "", "", "", ""},
		{"PutSetting", "PUT", settings, owner, member, js, `{"enabled":false}`, "enabled", "false"},
		{"GetPortal", "GET", portal, client, owner, "", "", "", ""},
		{"RequestDeletion", "POST", portal, client, owner, js, `{"confirm":true}`, "confirm", "true"},
		{"ListNotifications", "GET", "/v1/notifications", owner, client, "", "", "", ""},
		{"MarkRead", "POST", "/v1/notifications/" + s.benPending + "-requested/read", owner, client, "", "", "-", ""},
		{"ListRequests", "GET", "/v1/deletion-requests", owner, client, "", "", "", ""},
		{"GetRequest", "GET", "/v1/deletion-requests/" + s.avaRequest, owner, client, "", "", "", ""},
		{"GetCertificate", "GET", "/v1/deletion-requests/" + s.avaRequest + "/certificate", owner, client, "", "", "", ""},
		{"GetPublicKey", "GET", "/v1/erasure-certificates/public-key", member, client, "", "", "", ""},
	}
	if exports.own != "" {
		targets = append(targets,
			target{"RequestExport", "POST", "/v1/clients/cl-ben/exports", owner, client, js, `{}`, "-", ""},
			target{"GetExport", "GET", "/v1/clients/cl-ben/exports/" + exports.own, owner, client, "", "", "", ""},
		)
	} else {
		t.Error("got no export to refuse requests for")
	}
	var cases []badCase
	for _, tg := range targets {
		for _, bc := range c.tokenCases(t, tg) {
			bc.name = tg.name + "/" + bc.name
			cases = append(cases, bc)
		}
		if tg.field != "" {
			for _, bc := range c.bodyCases(tg) {
				bc.name = tg.name + "/" + bc.name
				cases = append(cases, bc)
			}
		}
	}

	// Ids in paths: another practice's, unknown, and not ids at all.
	ownerAuth := c.bearer(owner)
	pathIDs := []struct {
		name, id string
		want     outcome
		spec     int
	}{
		{"Unknown", "3f0c0000000000000000000000000000", notFound, specValid},
		{"TooLong", strings.Repeat("a", 129), notFound, specInvalid},
		{"KeySeparator", s.avaRequest + "%23REQUEST", notFound, specInvalid},
		{"Space", "a%20b", notFound, specInvalid},
		{"Unicode", "%C3%A9", notFound, specInvalid},
		{"Nul", "a%00b", notFound, specInvalid},
		{"Star", "*", notFound, specInvalid},
		{"Quote", "a%22b", notFound, specInvalid},
		{"Slash", "a%2Fb", "404", specAny},
		{"DotDot", "..", "404", specAny},
	}
	for _, id := range pathIDs {
		cases = append(cases,
			badCase{"MarkRead/Id" + id.name, request{"POST", "/v1/notifications/" + id.id + "/read", ownerAuth, "", ""}, id.want, id.spec},
			badCase{"GetRequest/Id" + id.name, request{"GET", "/v1/deletion-requests/" + id.id, ownerAuth, "", ""}, id.want, id.spec},
			badCase{"GetCertificate/Id" + id.name, request{"GET", "/v1/deletion-requests/" + id.id + "/certificate", ownerAuth, "", ""}, id.want, id.spec},
		)
	}
	if exports.own != "" {
		exp := func(name, method, path string, want outcome, spec int) {
			cases = append(cases, badCase{name, request{method, path, ownerAuth, "", ""}, want, spec})
		}
		for _, id := range pathIDs {
			want := id.want
			if want == notFound && id.spec == specInvalid {
				want = invalid // the export routes check their ids first
			}
			exp("RequestExport/ClientId"+id.name, "POST", "/v1/clients/"+id.id+"/exports", want, id.spec)
			exp("GetExport/ClientId"+id.name, "GET", "/v1/clients/"+id.id+"/exports/"+exports.own, want, id.spec)
			exp("GetExport/ExportId"+id.name, "GET", "/v1/clients/cl-ben/exports/"+id.id, want, id.spec)
		}
		exp("RequestExport/ForeignClient", "POST", "/v1/clients/"+otherOnlyClient+"/exports", notFound, specValid)
		exp("GetExport/ForeignExport", "GET", "/v1/clients/cl-ben/exports/"+exports.other, notFound, specValid)
		exp("GetExport/OtherClient", "GET", "/v1/clients/cl-ava/exports/"+exports.own, notFound, specValid)
		exp("GetExport/RequestIdAsExportId", "GET", "/v1/clients/cl-ben/exports/"+s.benPending, notFound, specValid)
	}
	cases = append(cases,
		badCase{"MarkRead/ForeignId", request{"POST", "/v1/notifications/" + s.otherRequest + "-requested/read", ownerAuth, "", ""}, notFound, specValid},
		badCase{"MarkRead/RequestIdNotNotification", request{"POST", "/v1/notifications/" + s.benPending + "/read", ownerAuth, "", ""}, notFound, specValid},
		badCase{"GetRequest/ForeignId", request{"GET", "/v1/deletion-requests/" + s.otherRequest, ownerAuth, "", ""}, notFound, specValid},
		badCase{"GetRequest/NotificationId", request{"GET", "/v1/deletion-requests/" + s.benPending + "-requested", ownerAuth, "", ""}, notFound, specValid},
		badCase{"GetCertificate/ForeignId", request{"GET", "/v1/deletion-requests/" + s.otherRequest + "/certificate", ownerAuth, "", ""}, notFound, specValid},
		badCase{"GetCertificate/NotPurged", request{"GET", "/v1/deletion-requests/" + s.benPending + "/certificate", ownerAuth, "", ""}, "404 certificate_not_ready", specValid},
	)

	// Query parameters.
	query := func(name, path string, want outcome, spec int) badCase {
		return badCase{name, request{"GET", path, ownerAuth, "", ""}, want, spec}
	}
	for _, list := range []string{"/v1/notifications", "/v1/deletion-requests"} {
		name := map[string]string{"/v1/notifications": "ListNotifications", "/v1/deletion-requests": "ListRequests"}[list]
		for _, l := range []string{"0", "-1", "101", "abc", "1.5", "99999999999999999999"} {
			cases = append(cases, query(name+"/Limit"+l, list+"?limit="+url.QueryEscape(l), invalid, specInvalid))
		}
		cases = append(cases, query(name+"/TokenGarbage", list+"?nextToken=not-a-token", invalid, specValid))
		cases = append(cases, query(name+"/TokenJSON", list+"?nextToken="+b64.EncodeToString([]byte(`{"pk":"x"}`)), invalid, specValid))
	}
	for name, tok := range map[string]string{"MemberInbox": memberInbox, "OtherPracticeInbox": otherInbox, "RequestList": ownerRequests} {
		if tok != "" {
			cases = append(cases, query("ListNotifications/Token"+name, "/v1/notifications?nextToken="+url.QueryEscape(tok), invalid, specValid))
		}
	}
	for name, tok := range map[string]string{"OtherPracticeList": otherRequests, "Inbox": ownerInbox} {
		if tok != "" {
			cases = append(cases, query("ListRequests/Token"+name, "/v1/deletion-requests?nextToken="+url.QueryEscape(tok), invalid, specValid))
		}
	}
	for _, st := range []string{"accepting", "bogus", "SCHEDULED", "scheduled,completed"} {
		cases = append(cases, query("ListRequests/Status"+st, "/v1/deletion-requests?status="+url.QueryEscape(st), invalid, specInvalid))
	}

	// Methods and paths without a route.
	for _, r := range []request{
		{"PATCH", settings, ownerAuth, js, `{"enabled":false}`},
		{"POST", settings, ownerAuth, js, `{"enabled":false}`},
		{"DELETE", settings, ownerAuth, "", ""},
		{"PUT", portal, c.bearer(client), js, `{"confirm":true}`},
		{"DELETE", "/v1/notifications", ownerAuth, "", ""},
		{"GET", "/v1/notifications/" + s.benPending + "-requested/read", ownerAuth, "", ""},
		{"PUT", "/v1/deletion-requests/" + s.benPending, ownerAuth, js, `{}`},
		{"DELETE", "/v1/deletion-requests/" + s.benPending, ownerAuth, "", ""},
		{"PUT", "/v1/deletion-requests/" + s.avaRequest + "/certificate", ownerAuth, js, `{}`},
		{"DELETE", "/v1/deletion-requests/" + s.avaRequest + "/certificate", ownerAuth, "", ""},
		{"POST", "/v1/erasure-certificates/public-key", ownerAuth, js, `{}`},
		{"GET", "/v1/erasure-certificates", ownerAuth, "", ""},
		{"GET", portal + "/", c.bearer(client), "", ""},
	} {
		cases = append(cases, badCase{"NoRoute/" + r.method + strings.ReplaceAll(r.path, "/", "_"), r, "404", specAny})
	}

	c.refuse(t, cases)

	// Cancelling needs a pending request: cl-ben asks again, then the
	// DELETE route is sent every bad token.
	if r := c.do(t, request{"POST", portal, c.bearer(client), js, `{"confirm":true}`}); r.status != 202 {
		t.Fatalf("cl-ben asks again: got %s, want 202", r)
	}
	cancel := target{"CancelDeletion", "DELETE", portal, client, owner, "", "", "", ""}
	cases = nil
	for _, bc := range c.tokenCases(t, cancel) {
		bc.name = cancel.name + "/" + bc.name
		cases = append(cases, bc)
	}
	c.refuse(t, cases)
	before := c.snapshot(t, true)

	// The control: a request the API accepts changes what the snapshot
	// sees, so the checks above could have seen a change.
	t.Run("Control", func(t *testing.T) {
		if r := c.do(t, cancel.valid(c.bearer(client))); r.status != 200 {
			t.Fatalf("cancel: got %s, want 200", r)
		}
		if d := before.diff(c.snapshot(t, true)); len(d) == 0 {
			t.Fatal("an accepted cancel changed nothing the snapshot sees")
		}
	})

	// Scheduling fails (the schedule group is gone): a deletion request
	// and an export each get 503 with Retry-After, and nothing is
	// recorded; once the group is back, the retry is accepted.
	t.Run("Unavailable", func(t *testing.T) {
		ctx := context.Background()
		st := c.sys.Stack
		if _, err := st.Scheduler.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: &st.ScheduleGroup}); err != nil {
			t.Fatalf("delete the schedule group: %v", err)
		}
		restored := false
		restore := func() {
			if !restored {
				restored = true
				if _, err := st.Scheduler.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: &st.ScheduleGroup}); err != nil {
					t.Fatalf("create the schedule group: %v", err)
				}
			}
		}
		defer restore()
		items := func() state {
			s := c.snapshot(t, true)
			s.Schedules = nil // the group is gone
			return s
		}
		calls := []request{
			{"POST", portal, c.bearer(client), js, `{"confirm":true}`},
			{"POST", "/v1/clients/cl-ben/exports", ownerAuth, "", ""},
		}
		if exports.own == "" {
			calls = calls[:1]
		}
		before := items()
		for _, req := range calls {
			r := c.do(t, req)
			if r.outcome() != "503 service_unavailable" || r.header.Get("Retry-After") == "" {
				t.Errorf("%s %s without a schedule group: got %s (Retry-After %q), want 503 service_unavailable with Retry-After",
					req.method, req.path, r, r.header.Get("Retry-After"))
			}
		}
		if d := before.diff(items()); len(d) > 0 {
			t.Errorf("a request that could not be scheduled changed:\n  %s", strings.Join(d, "\n  "))
		}
		restore()
		for _, req := range calls {
			if r := c.do(t, req); r.status != 202 {
				t.Errorf("%s %s, the group back: got %s, want 202", req.method, req.path, r)
			}
		}
	})
}

// refuse sends each case and checks it was refused as documented and
// changed nothing.
func (c *contractSystem) refuse(t *testing.T, cases []badCase) {
	t.Helper()
	first := c.snapshot(t, true)
	before := first
	defer func() {
		if mail := c.mail(t); !slices.Equal(first.Mail, mail) {
			t.Errorf("refused requests sent mail: %v before, %v after", first.Mail, mail)
		}
	}()
	seen := map[string]bool{}
	for _, bc := range cases {
		if seen[bc.name] {
			t.Fatalf("two cases named %s", bc.name)
		}
		seen[bc.name] = true
		t.Run(bc.name, func(t *testing.T) {
			r := c.do(t, bc.req)
			switch {
			case r.status >= 500:
				t.Errorf("got %s, want %s: never a 5xx", r, bc.want)
			case r.status < 400:
				t.Errorf("got %s, want %s: the request was accepted", r, bc.want)
			case strings.Contains(bc.want, " ") && r.outcome() != bc.want:
				t.Errorf("got %s, want %s", r, bc.want)
			case !strings.Contains(bc.want, " ") && fmt.Sprint(r.status) != bc.want:
				t.Errorf("got %s, want status %s", r, bc.want)
			}
			if bc.want == "401" {
				if r.body["message"] != "Unauthorized" || r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("got %s with WWW-Authenticate %q, want the authorizer's 401", r, r.header.Get("WWW-Authenticate"))
				}
			}
			if bc.want == "404" && (len(r.body) != 1 || r.body["message"] != "Not Found") {
				t.Errorf("got %s, want API Gateway's own 404 {\"message\":\"Not Found\"}", r)
			}
			if r.op == nil && bc.want != "404" {
				t.Errorf("no operation in %s serves %s %s", openapi.File, bc.req.method, bc.req.path)
			}
			switch {
			case r.op == nil:
			case bc.spec == specInvalid && r.requestErr == nil:
				t.Errorf("%s accepts the request the API refuses with %s", openapi.File, r)
			case bc.spec == specValid && r.requestErr != nil:
				t.Errorf("%s refuses the request (%v); the API's answer %s is for what it names", openapi.File, r.requestErr, r)
			}
			after := c.snapshot(t, false)
			after.Mail = before.Mail
			if d := before.diff(after); len(d) > 0 {
				t.Errorf("a refused request changed:\n  %s", strings.Join(d, "\n  "))
			}
			before = after
		})
	}
}

// forged is the authorization matrix: every operation of the document,
// called with verified tokens whose claims lie (another client's id, a
// member claiming to own the practice, a sub the practice does not have, a
// practitioner the practice removed, a real sub with another practice's
// id). Claims are inputs: the practice's records decide, so each must be
// refused (403, or 404 where the route hides what it has) and change
// nothing. The honest callers were served by Roles before.
func (c *contractSystem) forged(t *testing.T, s story, exports exportIDs) {
	ctx := context.Background()
	st := c.sys.Stack
	store := dynamostore.New(st.DynamoDB, st.Table)
	pk := dynamostore.PracticePK(demoPractice)
	// Two people the demo practice had or has, and a client only it has.
	for _, id := range []string{"pr-gone", "pr-solo"} {
		if err := store.Put(ctx, dynamostore.PractitionerItem{PK: pk, SK: dynamostore.PractitionerSK(id), ID: id, Name: id, Email: id + "@example.com", TeamRole: "member"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Put(ctx, dynamostore.ClientItem{PK: dynamostore.ClientPK(demoPractice, "cl-dee"), SK: "PROFILE", ID: "cl-dee",
		FirstName: "Dee", LastName: "Demo", PractitionerIDs: []string{"pr-member"}, PortalUserID: "cl-dee"}); err != nil {
		t.Fatal(err)
	}
	practitioner := func(sub, practice, team string) map[string]any {
		return map[string]any{"sub": sub, "custom:role": "practitioner", "custom:practice_id": practice, "custom:team_role": team}
	}
	clientOf := func(sub, practice, clientID string) map[string]any {
		return map[string]any{"sub": sub, "custom:role": "client", "custom:practice_id": practice, "custom:client_id": clientID}
	}
	// The removed practitioner is served until the practice removes them.
	gone := "Bearer " + c.sign(t, practitioner("pr-gone", demoPractice, "member"))
	if r := c.do(t, request{"GET", "/v1/settings/right-to-be-forgotten", gone, "", ""}); r.status != 200 {
		t.Fatalf("pr-gone before removal: got %s, want 200", r)
	}
	if _, err := st.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.Table, Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: dynamostore.PractitionerSK("pr-gone")},
	}}); err != nil {
		t.Fatal(err)
	}

	type forgery struct {
		name   string
		claims map[string]any
		// ownerOnly: a forgery that matters only where the owner alone
		// is served (a member claiming to own the practice).
		ownerOnly bool
	}
	practitionerForgeries := []forgery{
		{"MemberClaimsOwner", practitioner("pr-member", demoPractice, "owner"), true},
		{"SubNotInPractice", practitioner("pr-ghost", demoPractice, "owner"), false},
		{"RemovedPractitioner", practitioner("pr-gone", demoPractice, "owner"), false},
		{"RealSubOtherPractice", practitioner("pr-solo", otherPractice, "owner"), false},
		{"ClientSubAsPractitioner", practitioner("cl-ben", demoPractice, "owner"), false},
	}
	clientForgeries := []forgery{
		{"AnotherClientsID", clientOf("cl-dee", demoPractice, "cl-ben"), false},
		{"SubNotAClient", clientOf("u-ghost", demoPractice, "cl-ben"), false},
		{"RealSubOtherPractice", clientOf("cl-dee", otherPractice, "cl-dee"), false},
		{"PractitionerSubAsClient", clientOf("pr-owner", demoPractice, "cl-ben"), false},
	}
	// A request per operation that its honest caller may make and that
	// would change something (or disclose something) if accepted.
	requests := map[string]request{
		"getSetting":              {"GET", "/v1/settings/right-to-be-forgotten", "", "", ""},
		"putSetting":              {"PUT", "/v1/settings/right-to-be-forgotten", "", "application/json", `{"enabled":false}`},
		"getPortal":               {"GET", "/v1/portal/account-deletion", "", "", ""},
		"requestDeletion":         {"POST", "/v1/portal/account-deletion", "", "application/json", `{"confirm":true}`},
		"cancelDeletion":          {"DELETE", "/v1/portal/account-deletion", "", "", ""},
		"listNotifications":       {"GET", "/v1/notifications", "", "", ""},
		"markNotificationRead":    {"POST", "/v1/notifications/" + s.benPending + "-requested/read", "", "", ""},
		"listDeletionRequests":    {"GET", "/v1/deletion-requests", "", "", ""},
		"getDeletionRequest":      {"GET", "/v1/deletion-requests/" + s.benPending, "", "", ""},
		"getErasureCertificate":   {"GET", "/v1/deletion-requests/" + s.avaRequest + "/certificate", "", "", ""},
		"getCertificatePublicKey": {"GET", "/v1/erasure-certificates/public-key", "", "", ""},
		"requestExport":           {"POST", "/v1/clients/cl-ben/exports", "", "", ""},
		"getExport":               {"GET", "/v1/clients/cl-ben/exports/" + exports.own, "", "", ""},
	}
	var cases []badCase
	for _, op := range openapi.Operations(c.doc) {
		id := op.Operation.OperationID
		req, ok := requests[id]
		if !ok {
			t.Errorf("operation %s (%s) has no request in the authorization matrix", id, op)
			continue
		}
		claims, err := openapi.RequiredClaims(op.Operation)
		if err != nil {
			t.Fatal(err)
		}
		role := claims["custom:role"]
		forgeries := practitionerForgeries
		if role != nil && slices.Contains(role.Enum, any("client")) {
			forgeries = clientForgeries
		}
		ownerOnly := false
		if tr := claims["custom:team_role"]; tr != nil && len(tr.Enum) == 1 && tr.Enum[0] == "owner" {
			ownerOnly = true
		}
		for _, f := range forgeries {
			if f.ownerOnly && !ownerOnly {
				continue
			}
			r := req
			r.auth = "Bearer " + c.sign(t, f.claims)
			cases = append(cases, badCase{id + "/" + f.name, r, "403 forbidden", specValid})
		}
	}
	if len(cases) < 40 {
		t.Fatalf("the matrix has %d cases; want every operation with every forgery", len(cases))
	}
	t.Logf("authorization matrix: %d forged requests over %d operations", len(cases), len(requests))
	c.refuse(t, cases)
}
