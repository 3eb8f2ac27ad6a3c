package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/metrics"
	"github.com/wellness-rtbf/rtbf/internal/metrics/metricstest"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// t0 is the fixed "now" of every test.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

var (
	ownerClaims = map[string]string{
		"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "owner",
	}
	memberClaims = map[string]string{
		"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "member",
	}
	clientClaims = map[string]string{
		"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": "prac-demo", "custom:client_id": "cl-ava",
	}
	clientActor = identity.Actor{Subject: "cl-ava-sub", Role: identity.RoleClient, PracticeID: "prac-demo", ClientID: "cl-ava"}
	ownerActor  = identity.Actor{Subject: "pr-owner", Role: identity.RolePractitioner, PracticeID: "prac-demo", TeamRole: identity.TeamOwner}
)

// with returns a copy of claims with k set to v, or removed when v is "".
func with(claims map[string]string, k, v string) map[string]string {
	c := maps.Clone(claims)
	if v == "" {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

// newRequest is an HTTP API v2 event; nil claims means no authorizer.
func newRequest(method string, claims map[string]string, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: method + " " + route,
		RawPath:  route,
		Headers:  map[string]string{"accept": "application/json"},
		Body:     body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: method + " " + route,
			Stage:    "$default",
			HTTP:     events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: route},
		},
	}
	if body != "" {
		req.Headers["content-type"] = "application/json"
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

func get(claims map[string]string) events.APIGatewayV2HTTPRequest {
	return newRequest(http.MethodGet, claims, "")
}

func post(claims map[string]string, body string) events.APIGatewayV2HTTPRequest {
	return newRequest(http.MethodPost, claims, body)
}

func withHeader(req events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	req.Headers = maps.Clone(req.Headers)
	req.Headers[k] = v
	return req
}

func base64Body(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	req.Body = base64.StdEncoding.EncodeToString([]byte(req.Body))
	req.IsBase64Encoded = true
	return req
}

// fixture is the handler wired to the in-memory fakes, with the demo
// practice: owner pr-owner, member pr-member, and client cl-ava (assigned
// to pr-member) who created 2 journal entries, 1 document and a direct
// chat with 2 messages, beside content the practitioners created.
type fixture struct {
	mem     *porttest.Memory
	objects *porttest.Objects
	sched   *porttest.Scheduler
	mailer  *porttest.Mailer
	opts    erasure.Options
	h       *Handler
	before  []erasure.ItemKey
	metrics bytes.Buffer // the handler's metric lines
}

// scope is what cl-ava's purge would delete.
var scope = erasure.Counts{JournalEntries: 2, Documents: 1, ChatSessions: 1, ChatMessages: 2}

func newFixture(t *testing.T, enabled bool) *fixture {
	t.Helper()
	f := &fixture{
		mem:     porttest.NewMemory(),
		objects: porttest.NewObjects("docs/cl-ava/d1.pdf", "docs/pr/d2.pdf"),
		sched:   porttest.NewScheduler(),
		mailer:  &porttest.Mailer{},
	}
	var n atomic.Int64
	f.opts = erasure.Options{
		Now:   func() time.Time { return t0 },
		NewID: func() string { return fmt.Sprintf("req-%03d", n.Add(1)) },
		Log:   slog.New(slog.DiscardHandler),
	}
	svc := erasure.NewClientRequests(f.mem, f.mem, f.mem, f.mem, f.mem, f.sched, f.mailer, erasure.DefaultPurgeDelay, f.opts)
	f.h = &Handler{svc: svc, log: slog.New(slog.DiscardHandler), metrics: metrics.New(&f.metrics, "test-stack")}

	m := f.mem
	m.AddPractice(erasure.Practice{ID: "prac-demo", Name: "Demo Practice", OwnerID: "pr-owner"})
	m.AddPractitioner("prac-demo", erasure.Practitioner{ID: "pr-owner", Name: "Olive Owner", Email: "owner@example.com"})
	m.AddPractitioner("prac-demo", erasure.Practitioner{ID: "pr-member", Name: "Max Member", Email: "member@example.com"})
	m.AddClient(erasure.Client{PracticeID: "prac-demo", ID: "cl-ava", FirstName: "Ava", LastName: "Demo", PractitionerIDs: []string{"pr-member"}, PortalUserID: "cl-ava-sub"})
	client := erasure.Author{Role: identity.RoleClient, ID: "cl-ava"}
	prac := erasure.Author{Role: identity.RolePractitioner, ID: "pr-member"}
	m.AddJournal("prac-demo", "cl-ava", "j1", client)
	m.AddJournal("prac-demo", "cl-ava", "j2", client)
	m.AddJournal("prac-demo", "cl-ava", "j3", prac)
	m.AddDocument("prac-demo", "cl-ava", "d1", client, "docs/cl-ava/d1.pdf")
	m.AddDocument("prac-demo", "cl-ava", "d2", prac, "docs/pr/d2.pdf")
	m.AddChat("prac-demo", "s1", "cl-ava")
	m.AddMessage("prac-demo", "s1", "m1", client)
	m.AddMessage("prac-demo", "s1", "m2", prac)
	m.AddOther("PRACTICE#prac-demo#CLIENT#cl-ava", "NOTE#n1")
	f.setEnabled(t, enabled)
	f.before = m.Keys()
	return f
}

func (f *fixture) setEnabled(t *testing.T, enabled bool) {
	t.Helper()
	if _, err := erasure.NewSettings(f.mem, f.mem, f.opts).PutSetting(context.Background(), ownerActor, enabled); err != nil {
		t.Fatalf("PutSetting: got error %v, want nil", err)
	}
}

// checkUnchanged: a rejected request made no request, no schedule, no
// notification and no email, and touched no content.
func (f *fixture) checkUnchanged(t *testing.T) {
	t.Helper()
	if rs := f.mem.Requests(); len(rs) != 0 {
		t.Errorf("requests: got %+v, want none", rs)
	}
	if f.sched.Calls != 0 || len(f.sched.Schedules) != 0 {
		t.Errorf("schedules: got %d calls and %v, want none", f.sched.Calls, f.sched.Schedules)
	}
	if es := f.mailer.Emails(); len(es) != 0 {
		t.Errorf("emails: got %d, want none", len(es))
	}
	if ns := f.mem.Notifications(); len(ns) != 0 {
		t.Errorf("notifications: got %d, want none", len(ns))
	}
	if got := f.mem.Keys(); !reflect.DeepEqual(got, f.before) {
		t.Errorf("content: got %v, want %v", got, f.before)
	}
	if f.metrics.Len() != 0 {
		t.Errorf("metrics: got %q, want none", f.metrics.String())
	}
}

// counted reads back the metric lines the handler wrote since the last
// call, and sums each metric over them.
func (f *fixture) counted(t *testing.T) (lines int, sums map[string]float64) {
	t.Helper()
	sums = map[string]float64{}
	ls := metricstest.Lines(t, f.metrics.Bytes())
	f.metrics.Reset()
	for _, l := range ls {
		if l.Namespace != metrics.Namespace || l.Dimensions[metrics.Dimension] != "test-stack" || !l.Timestamp.Equal(t0) {
			t.Errorf("line: got %+v, want namespace %q, the stack, at %v", l, metrics.Namespace, t0)
		}
		for k, v := range l.Values {
			sums[k] += v
		}
	}
	return len(ls), sums
}

func requestView(t *testing.T, resp events.APIGatewayV2HTTPResponse) apigw.RequestView {
	t.Helper()
	var v apigw.RequestView
	apigwtest.StrictDecode(t, resp.Body, &v)
	return v
}

func portalView(t *testing.T, resp events.APIGatewayV2HTTPResponse) apigw.PortalView {
	t.Helper()
	var v apigw.PortalView
	apigwtest.StrictDecode(t, resp.Body, &v)
	return v
}

// wantView is the first request of cl-ava, accepted at t0.
func wantView(id string) apigw.RequestView {
	return apigw.RequestView{
		ID:          id,
		Status:      erasure.StatusScheduled,
		RequestedAt: t0,
		PurgeAt:     t0.Add(erasure.DefaultPurgeDelay),
		WillDelete:  scope,
	}
}

func TestHandler_Handle(t *testing.T) {
	huge := `{"confirm":true,"pad":"` + strings.Repeat("x", 5000-len(`{"confirm":true,"pad":""}`)) + `"}`
	if len(huge) != 5000 {
		t.Fatalf("huge body: got %d bytes, want 5000", len(huge))
	}
	emptyClaims := get(map[string]string{})

	tests := []struct {
		name    string
		enabled bool
		req     events.APIGatewayV2HTTPRequest
		status  int
		code    string // the error code; "" for success
	}{
		// GET: the client only.
		{"OK/GetClient", true, get(clientClaims), http.StatusOK, ""},
		{"OK/GetClientDisabled", false, get(clientClaims), http.StatusOK, ""},
		{"ErrForbidden/GetOwner", true, get(ownerClaims), http.StatusForbidden, identity.EForbidden},
		{"ErrForbidden/GetMember", true, get(memberClaims), http.StatusForbidden, identity.EForbidden},
		{"ErrForbidden/GetClientWithoutClientID", true, get(with(clientClaims, "custom:client_id", "")), http.StatusForbidden, identity.EForbidden},
		{"ErrUnauthorized/GetNoAuthorizer", true, get(nil), http.StatusUnauthorized, identity.EUnauthorized},
		{"ErrUnauthorized/GetNoClaims", true, emptyClaims, http.StatusUnauthorized, identity.EUnauthorized},

		// POST: the client only, confirmed, when the practice allows it.
		{"OK/PostClient", true, post(clientClaims, `{"confirm":true}`), http.StatusAccepted, ""},
		{"OK/PostBase64", true, base64Body(post(clientClaims, `{"confirm":true}`)), http.StatusAccepted, ""},
		{"OK/PostCharset", true, withHeader(post(clientClaims, `{"confirm":true}`), "content-type", "application/json; charset=utf-8"), http.StatusAccepted, ""},
		{"ErrForbidden/PostOwner", true, post(ownerClaims, `{"confirm":true}`), http.StatusForbidden, identity.EForbidden},
		{"ErrForbidden/PostMember", true, post(memberClaims, `{"confirm":true}`), http.StatusForbidden, identity.EForbidden},
		{"ErrForbidden/PostNoClientProfile", true, post(with(clientClaims, "custom:client_id", "cl-ghost"), `{"confirm":true}`), http.StatusForbidden, identity.EForbidden},
		{"ErrForbidden/PostNoRole", true, post(with(clientClaims, "custom:role", ""), `{"confirm":true}`), http.StatusForbidden, identity.EForbidden},
		{"ErrUnauthorized/PostNoAuthorizer", true, post(nil, `{"confirm":true}`), http.StatusUnauthorized, identity.EUnauthorized},
		{"ErrUnauthorized/PostNoSubject", true, post(with(clientClaims, "sub", ""), `{"confirm":true}`), http.StatusUnauthorized, identity.EUnauthorized},
		{"ErrDeletionDisabled", false, post(clientClaims, `{"confirm":true}`), http.StatusForbidden, identity.EDeletionDisabled},
		{"ErrConfirmationRequired/False", true, post(clientClaims, `{"confirm":false}`), http.StatusBadRequest, identity.EConfirmationRequired},
		{"ErrConfirmationRequired/Missing", true, post(clientClaims, `{}`), http.StatusBadRequest, identity.EConfirmationRequired},
		{"ErrConfirmationRequired/NullConfirm", true, post(clientClaims, `{"confirm":null}`), http.StatusBadRequest, identity.EConfirmationRequired},
		{"ErrInvalid/Null", true, post(clientClaims, `null`), http.StatusBadRequest, identity.EInvalid},
		{"ErrInvalid/FieldCase", true, post(clientClaims, `{"Confirm":true}`), http.StatusBadRequest, identity.EInvalid},
		{"ErrInvalid/Repeated", true, post(clientClaims, `{"confirm":false,"confirm":true}`), http.StatusBadRequest, identity.EInvalid},

		// Bodies.
		{"ErrInvalid/Malformed", true, post(clientClaims, `{"confirm":`), http.StatusBadRequest, identity.EInvalid},
		{"ErrInvalid/UnknownField", true, post(clientClaims, `{"confirm":true,"clientId":"cl-bob"}`), http.StatusBadRequest, identity.EInvalid},
		{"ErrInvalid/WrongType", true, post(clientClaims, `{"confirm":"yes"}`), http.StatusBadRequest, identity.EInvalid},
		{"ErrInvalid/Empty", true, withHeader(post(clientClaims, ""), "content-type", "application/json"), http.StatusBadRequest, identity.EInvalid},
		{"ErrInvalid/Trailing", true, post(clientClaims, `{"confirm":true}{}`), http.StatusBadRequest, identity.EInvalid},
		{"ErrTooLarge", true, post(clientClaims, huge), http.StatusRequestEntityTooLarge, apigw.ETooLarge},
		{"ErrUnsupportedMedia", true, withHeader(post(clientClaims, `{"confirm":true}`), "content-type", "text/plain"), http.StatusUnsupportedMediaType, apigw.EUnsupportedMedia},

		// Methods the route does not serve.
		{"ErrMethodNotAllowed/Patch", true, newRequest(http.MethodPatch, clientClaims, ""), http.StatusMethodNotAllowed, apigw.EMethodNotAllowed},
		{"ErrMethodNotAllowed/Put", true, newRequest(http.MethodPut, clientClaims, `{"confirm":true}`), http.StatusMethodNotAllowed, apigw.EMethodNotAllowed},
		{"ErrUnauthorized/PatchNoAuthorizer", true, newRequest(http.MethodPatch, nil, ""), http.StatusUnauthorized, identity.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.enabled)
			resp := apigwtest.Call(t, f.h.Handle, tt.req, tt.status)
			switch {
			case tt.code != "":
				apigwtest.CheckError(t, resp, tt.code)
				f.checkUnchanged(t)
			case tt.req.RequestContext.HTTP.Method == http.MethodGet:
				if got, want := portalView(t, resp), (apigw.PortalView{Available: tt.enabled}); !reflect.DeepEqual(got, want) {
					t.Errorf("body: got %s, want %+v", resp.Body, want)
				}
				f.checkUnchanged(t)
			default:
				if got, want := requestView(t, resp), wantView("req-001"); !reflect.DeepEqual(got, want) {
					t.Errorf("body: got %s, want %+v", resp.Body, want)
				}
				if rs := f.mem.Requests(); len(rs) != 1 {
					t.Errorf("requests: got %d, want 1", len(rs))
				}
			}
		})
	}
}

func TestHandler_Handle_Post(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t, true)
		resp := apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusAccepted)
		want := wantView("req-001")
		if got := requestView(t, resp); !reflect.DeepEqual(got, want) {
			t.Errorf("body: got %s, want %+v", resp.Body, want)
		}
		wantSchedule := erasure.PurgeSchedule{Name: "rtbf-purge-req-001", At: want.PurgeAt, RequestID: "req-001"}
		if got := f.sched.Schedules; len(got) != 1 || got[wantSchedule.Name] != wantSchedule {
			t.Errorf("schedules: got %v, want only %+v", got, wantSchedule)
		}
		emails := f.mailer.Emails()
		if len(emails) != 1 {
			t.Fatalf("emails: got %d, want 1", len(emails))
		}
		if got, want := emails[0].To, []string{"owner@example.com", "member@example.com"}; !reflect.DeepEqual(got, want) {
			t.Errorf("email to: got %v, want %v", got, want)
		}
		if got := len(f.mem.Notifications()); got != 2 {
			t.Errorf("notifications: got %d, want 2", got)
		}
		// Accepting a request deletes nothing yet.
		if got := f.mem.Keys(); !reflect.DeepEqual(got, f.before) {
			t.Errorf("content: got %v, want %v", got, f.before)
		}

		// The same client asking again gets the same request, and nothing
		// is made twice.
		resp = apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusOK)
		if got := requestView(t, resp); !reflect.DeepEqual(got, want) {
			t.Errorf("repeat body: got %s, want %+v", resp.Body, want)
		}
		if len(f.mem.Requests()) != 1 || len(f.sched.Schedules) != 1 || len(f.mailer.Emails()) != 1 || len(f.mem.Notifications()) != 2 {
			t.Errorf("after repeat: got %d requests, %d schedules, %d emails, %d notifications, want 1, 1, 1, 2",
				len(f.mem.Requests()), len(f.sched.Schedules), len(f.mailer.Emails()), len(f.mem.Notifications()))
		}

		// The portal shows it.
		resp = apigwtest.Call(t, f.h.Handle, get(clientClaims), http.StatusOK)
		if got := portalView(t, resp); !got.Available || got.Request == nil || !reflect.DeepEqual(*got.Request, want) {
			t.Errorf("portal: got %s, want available with %+v", resp.Body, want)
		}
	})

	t.Run("OK/DisabledAfterRequest", func(t *testing.T) {
		// Turning the setting off does not cancel an accepted request.
		f := newFixture(t, true)
		apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusAccepted)
		f.setEnabled(t, false)
		resp := apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusOK)
		if got := requestView(t, resp); got.ID != "req-001" {
			t.Errorf("id: got %q, want %q", got.ID, "req-001")
		}
		resp = apigwtest.Call(t, f.h.Handle, get(clientClaims), http.StatusOK)
		if got := portalView(t, resp); got.Available || got.Request == nil || got.Request.ID != "req-001" {
			t.Errorf("portal: got %s, want unavailable with request req-001", resp.Body)
		}
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		// The schedule cannot be made: the request is rolled back and the
		// client told to retry; the retry starts afresh.
		f := newFixture(t, true)
		f.sched.FailNext = 1
		resp := apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusServiceUnavailable)
		apigwtest.CheckError(t, resp, identity.EUnavailable)
		if got := resp.Headers["Retry-After"]; got != "5" {
			t.Errorf("Retry-After: got %q, want %q", got, "5")
		}
		if rs := f.mem.Requests(); len(rs) != 0 {
			t.Errorf("requests: got %+v, want none (rolled back)", rs)
		}
		if len(f.sched.Schedules) != 0 || len(f.mailer.Emails()) != 0 || len(f.mem.Notifications()) != 0 {
			t.Errorf("got %d schedules, %d emails, %d notifications, want none",
				len(f.sched.Schedules), len(f.mailer.Emails()), len(f.mem.Notifications()))
		}
		resp = apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusAccepted)
		if got := requestView(t, resp); got.ID != "req-002" || got.Status != erasure.StatusScheduled {
			t.Errorf("retry: got %s, want scheduled request req-002", resp.Body)
		}
	})

	t.Run("ErrAccountClosed", func(t *testing.T) {
		f := newFixture(t, true)
		apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusAccepted)
		// The purge runs at its date, 30 days on.
		// (The purge function's use case, with the objects port, is used
		// here only to close the account.)
		opts := f.opts
		opts.Now = func() time.Time { return t0.Add(erasure.DefaultPurgeDelay) }
		purger := erasure.NewPurger(f.mem, f.mem, f.mem, f.mem, f.objects, f.sched, f.mailer, porttest.NewLedger(), erasure.PurgeConfig{}, opts)
		if _, err := purger.Purge(context.Background(), "req-001"); err != nil {
			t.Fatalf("Purge: got error %v, want nil", err)
		}
		for _, req := range []events.APIGatewayV2HTTPRequest{get(clientClaims), post(clientClaims, `{"confirm":true}`)} {
			resp := apigwtest.Call(t, f.h.Handle, req, http.StatusForbidden)
			apigwtest.CheckError(t, resp, identity.EAccountClosed)
		}
		if got := len(f.mem.Requests()); got != 1 {
			t.Errorf("requests: got %d, want 1", got)
		}
		if got := len(f.sched.Schedules); got != 1 {
			t.Errorf("schedules: got %d, want 1", got)
		}
	})

	t.Run("ErrConfirmationRequired", func(t *testing.T) {
		// Asked but not confirmed: nothing happens, then confirming works.
		f := newFixture(t, true)
		resp := apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":false}`), http.StatusBadRequest)
		apigwtest.CheckError(t, resp, identity.EConfirmationRequired)
		f.checkUnchanged(t)
		apigwtest.Call(t, f.h.Handle, post(clientClaims, `{"confirm":true}`), http.StatusAccepted)
	})
}

// TestHandler_Handle_Concurrent: a client double-submitting gets one
// request, one schedule and one email; exactly one call says it created it.
func TestHandler_Handle_Concurrent(t *testing.T) {
	f := newFixture(t, true)
	const n = 8
	var wg sync.WaitGroup
	resps := make([]events.APIGatewayV2HTTPResponse, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			resps[i], errs[i] = f.h.Handle(context.Background(), post(clientClaims, `{"confirm":true}`))
		})
	}
	wg.Wait()
	accepted := 0
	for i, resp := range resps {
		if errs[i] != nil {
			t.Fatalf("Handle: got error %v, want nil", errs[i])
		}
		switch resp.StatusCode {
		case http.StatusAccepted:
			accepted++
		case http.StatusOK:
		default:
			t.Fatalf("status: got %d (%s), want 202 or 200", resp.StatusCode, resp.Body)
		}
		// Which call's id wins the race is not fixed; that all see it is.
		if got, first := requestView(t, resp), requestView(t, resps[0]); got.ID != first.ID || got.Status != erasure.StatusScheduled {
			t.Errorf("body: got %s, want scheduled request %s", resp.Body, first.ID)
		}
	}
	if accepted != 1 {
		t.Errorf("202 responses: got %d, want 1", accepted)
	}
	if n, sums := f.counted(t); n != 1 || sums[metrics.RequestsAccepted.Name] != 1 {
		t.Errorf("metrics: got %d lines and %v, want one RequestsAccepted", n, sums)
	}
	if len(f.mem.Requests()) != 1 || len(f.sched.Schedules) != 1 || len(f.mailer.Emails()) != 1 || len(f.mem.Notifications()) != 2 {
		t.Errorf("got %d requests, %d schedules, %d emails, %d notifications, want 1, 1, 1, 2",
			len(f.mem.Requests()), len(f.sched.Schedules), len(f.mailer.Emails()), len(f.mem.Notifications()))
	}
}

// TestHandler_Metrics: the call that creates a request counts it accepted,
// the call that cancels it counts it cancelled; a repeat counts nothing.
func TestHandler_Metrics(t *testing.T) {
	f := newFixture(t, true)
	del := newRequest(http.MethodDelete, clientClaims, "")
	for _, step := range []struct {
		what   string
		req    events.APIGatewayV2HTTPRequest
		status int
		want   map[string]float64
	}{
		{"POST", post(clientClaims, `{"confirm":true}`), http.StatusAccepted, map[string]float64{metrics.RequestsAccepted.Name: 1}},
		{"POST again", post(clientClaims, `{"confirm":true}`), http.StatusOK, map[string]float64{}},
		{"GET", get(clientClaims), http.StatusOK, map[string]float64{}},
		{"DELETE", del, http.StatusOK, map[string]float64{metrics.RequestsCancelled.Name: 1}},
		{"DELETE again", del, http.StatusOK, map[string]float64{}}, // the cancelled request again
		{"POST after the cancel", post(clientClaims, `{"confirm":true}`), http.StatusAccepted, map[string]float64{metrics.RequestsAccepted.Name: 1}},
	} {
		apigwtest.Call(t, f.h.Handle, step.req, step.status)
		if n, sums := f.counted(t); n != len(step.want) || !reflect.DeepEqual(sums, step.want) {
			t.Errorf("%s: got %d lines and %v, want %v", step.what, n, sums, step.want)
		}
	}
}
