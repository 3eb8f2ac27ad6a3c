//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
	"github.com/wellness-rtbf/rtbf/internal/sesmail"
)

// env is one test's stack, seeded practice and handler built by the
// function's own wiring (build) from its environment.
type env struct {
	st       *emulatortest.Stack
	store    *dynamostore.Store
	practice emulatortest.Practice
	h        *Handler
	faults   *emulatortest.Faults
}

func setup(t *testing.T) *env {
	t.Helper()
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	faults := emulatortest.NewFaults()
	h, err := build(context.Background(), slog.New(slog.DiscardHandler), emulatortest.Through(faults))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	store := dynamostore.New(st.DynamoDB, st.Table)
	return &env{st: st, store: store, practice: emulatortest.SeedPractice(t, st, store, "prac-"+emulatortest.Suffix()), h: h, faults: faults}
}

func (e *env) enable(t *testing.T, on bool) {
	t.Helper()
	now := time.Now().UTC()
	if err := e.store.PutSetting(context.Background(), erasure.Setting{PracticeID: e.practice.ID, Enabled: on, UpdatedAt: &now, UpdatedBy: e.practice.OwnerID}); err != nil {
		t.Fatal(err)
	}
}

func clientClaimsFor(practiceID, clientID string) map[string]string {
	return map[string]string{"sub": clientID + "-sub", "custom:role": "client", "custom:practice_id": practiceID, "custom:client_id": clientID}
}

func practitionerClaimsFor(practiceID, sub, teamRole string) map[string]string {
	return map[string]string{"sub": sub, "custom:role": "practitioner", "custom:practice_id": practiceID, "custom:team_role": teamRole}
}

func event(method, body string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: method + " /v1/portal/account-deletion",
		RawPath:  "/v1/portal/account-deletion",
		Headers:  map[string]string{"content-type": "application/json"},
		Body:     body,
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = req.RawPath
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (e *env) schedules(t *testing.T) []schedtypes.ScheduleSummary {
	t.Helper()
	var out []schedtypes.ScheduleSummary
	p := scheduler.NewListSchedulesPaginator(e.st.Scheduler, &scheduler.ListSchedulesInput{GroupName: &e.st.ScheduleGroup})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Schedules...)
	}
	return out
}

func TestDeletionRequest_Routes(t *testing.T) {
	e := setup(t)
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "")
	pid := e.practice.ID
	client := clientClaimsFor(pid, "cl-ava")
	owner := practitionerClaimsFor(pid, e.practice.OwnerID, "owner")
	member := practitionerClaimsFor(pid, e.practice.MemberID, "member")
	confirm := `{"confirm":true}`

	t.Run("DefaultOff", func(t *testing.T) {
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("GET", "", client))
		if resp.StatusCode != 200 || body["available"] != false || body["request"] != nil {
			t.Fatalf("got %d %v, want 200 available=false request=null", resp.StatusCode, body)
		}
		resp, body = apigwtest.CallJSON(t, e.h.Handle, event("POST", confirm, client))
		if resp.StatusCode != 403 || errCode(body) != "deletion_disabled" {
			t.Fatalf("got %d %v, want 403 deletion_disabled", resp.StatusCode, body)
		}
		if n := len(e.schedules(t)); n != 0 {
			t.Fatalf("got %d schedules, want 0", n)
		}
	})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrForbidden/OwnerGet", event("GET", "", owner), 403, "forbidden"},
		{"ErrForbidden/OwnerPost", event("POST", confirm, owner), 403, "forbidden"},
		{"ErrForbidden/MemberPost", event("POST", confirm, member), 403, "forbidden"},
		{"ErrUnauthorized/NoClaims", event("POST", confirm, nil), 401, "unauthorized"},
		{"ErrForbidden/NoClientID", event("POST", confirm, map[string]string{"sub": "x", "custom:role": "client", "custom:practice_id": pid}), 403, "forbidden"},
		{"ErrConfirmationRequired", event("POST", `{"confirm":false}`, client), 400, "confirmation_required"},
		{"ErrInvalid/Malformed", event("POST", `{"confirm":`, client), 400, "invalid_request"},
		{"ErrInvalid/UnknownField", event("POST", `{"confirm":true,"clientId":"cl-other"}`, client), 400, "invalid_request"},
		{"ErrTooLarge", event("POST", `{"confirm":true,"pad":"`+strings.Repeat("x", 8000)+`"}`, client), 413, "payload_too_large"},
		{"ErrMethodNotAllowed", event("PATCH", "", client), 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.enable(t, true)
			resp, body := apigwtest.CallJSON(t, e.h.Handle, tc.req)
			if resp.StatusCode != tc.status || errCode(body) != tc.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if n := len(e.schedules(t)); n != 0 {
				t.Fatalf("got %d schedules after a rejected request, want 0", n)
			}
			if _, err := e.store.ActiveRequest(context.Background(), pid, "cl-ava"); err == nil {
				t.Fatal("a rejected request recorded a deletion request")
			}
		})
	}
}

// TestDeletionRequest_Accept follows the whole accept path and reads back
// everything it made: the request, the schedule, the email and the
// notifications.
func TestDeletionRequest_Accept(t *testing.T) {
	e := setup(t)
	pid := e.practice.ID
	file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "O'Brien & <Co>", "cl-ben")
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	e.enable(t, true)
	client := clientClaimsFor(pid, "cl-ava")

	resp, body := apigwtest.CallJSON(t, e.h.Handle, event("GET", "", client))
	if resp.StatusCode != 200 || body["available"] != true || body["request"] != nil {
		t.Fatalf("got %d %v, want 200 available=true request=null", resp.StatusCode, body)
	}

	before := time.Now().UTC()
	resp, body = apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
	if resp.StatusCode != 202 {
		t.Fatalf("got status %d %v, want 202", resp.StatusCode, body)
	}
	id, _ := body["id"].(string)
	if body["status"] != "scheduled" || id == "" {
		t.Fatalf("got %v, want status scheduled and an id", body)
	}
	requestedAt, _ := time.Parse(time.RFC3339Nano, body["requestedAt"].(string))
	purgeAt, _ := time.Parse(time.RFC3339Nano, body["purgeAt"].(string))
	if requestedAt.Before(before.Add(-time.Second)) || purgeAt.Sub(requestedAt) < 30*24*time.Hour-time.Second || purgeAt.Sub(requestedAt) > 30*24*time.Hour {
		t.Fatalf("got requestedAt %v purgeAt %v, want purgeAt 30 days after the request", requestedAt, purgeAt)
	}
	wantCounts := map[string]any{"journalEntries": float64(3), "documents": float64(2), "chatSessions": float64(1), "chatMessages": float64(6)}
	if got := body["willDelete"]; fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Fatalf("got willDelete %v, want %v", got, wantCounts)
	}
	if file.Counts != (erasure.Counts{JournalEntries: 3, Documents: 2, ChatSessions: 1, ChatMessages: 6}) {
		t.Fatalf("seeded counts %+v disagree with the test's expectation", file.Counts)
	}

	t.Run("Schedule", func(t *testing.T) {
		got, err := e.st.Scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{GroupName: &e.st.ScheduleGroup, Name: aws.String(erasure.ScheduleName(id))})
		if err != nil {
			t.Fatalf("get schedule: %v", err)
		}
		wantExpr := "at(" + purgeAt.UTC().Format("2006-01-02T15:04:05") + ")"
		checks := []struct{ name, got, want string }{
			{"expression", aws.ToString(got.ScheduleExpression), wantExpr},
			{"timezone", aws.ToString(got.ScheduleExpressionTimezone), "UTC"},
			{"flexible window", string(got.FlexibleTimeWindow.Mode), "OFF"},
			{"after completion", string(got.ActionAfterCompletion), "DELETE"},
			{"target", aws.ToString(got.Target.Arn), e.st.PurgeARN},
			{"role", aws.ToString(got.Target.RoleArn), e.st.SchedulerRole},
			{"input", aws.ToString(got.Target.Input), `{"requestId":"` + id + `"}`},
			{"dead letter", aws.ToString(got.Target.DeadLetterConfig.Arn), e.st.DeadLetterARN},
			{"retries", fmt.Sprint(aws.ToInt32(got.Target.RetryPolicy.MaximumRetryAttempts)), "185"},
			{"event age", fmt.Sprint(aws.ToInt32(got.Target.RetryPolicy.MaximumEventAgeInSeconds)), "86400"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("schedule %s: got %q, want %q", c.name, c.got, c.want)
			}
		}
	})

	t.Run("Email", func(t *testing.T) {
		sent, toClient := sentTo(t, e)
		if len(sent) != 1 || len(toClient) != 1 {
			t.Fatalf("got %d emails to practitioners and %d to the client, want 1 and 1", len(sent), len(toClient))
		}
		m := sent[0]
		wantTo := []string{e.practice.Emails[e.practice.MemberID], e.practice.Emails[e.practice.OwnerID]}
		gotTo := slices.Clone(m.Destinations)
		slices.Sort(gotTo)
		slices.Sort(wantTo)
		if !slices.Equal(gotTo, wantTo) {
			t.Fatalf("got recipients %v, want the owner and the assigned practitioner %v", gotTo, wantTo)
		}
		text, html, subject := emulatortest.ParseEmail(t, m.RawData)
		if !strings.Contains(subject, "Ava O'Brien & <Co>") {
			t.Errorf("got subject %q, want the client's name", subject)
		}
		date := purgeAt.UTC().Format("Monday 2 January 2006")
		for _, want := range []string{"Ava O'Brien & <Co>", date, "3 journal entries", "2 documents", "1 Secure Messenger chat session", "6 chat messages", "export", "30 days after the final deletion step"} {
			if !strings.Contains(text, want) {
				t.Errorf("text part lacks %q:\n%s", want, text)
			}
		}
		for _, want := range []string{"Ava O&#39;Brien &amp; &lt;Co&gt;", date, "3 journal entries", "6 chat messages"} {
			if !strings.Contains(html, want) {
				t.Errorf("html part lacks %q", want)
			}
		}
		if strings.Contains(html, "<Co>") {
			t.Error("html part holds the client's text unescaped")
		}

		// The client's confirmation, at the email on their profile.
		c := toClient[0]
		if want := []string{file.Email}; !slices.Equal(c.Destinations, want) {
			t.Fatalf("client email: got recipients %v, want %v", c.Destinations, want)
		}
		text, html, subject = emulatortest.ParseEmail(t, c.RawData)
		practice, err := e.store.GetPractice(context.Background(), e.practice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := "Your account deletion request with " + practice.Name; subject != want {
			t.Errorf("client email: got subject %q, want %q", subject, want)
		}
		for _, want := range []string{"Ava O'Brien & <Co>", date, "3 journal entries you created", "2 documents you uploaded", "6 chat messages", "Cancel deletion", "30 days after the final deletion step", id} {
			if !strings.Contains(text, want) {
				t.Errorf("client email: text part lacks %q:\n%s", want, text)
			}
		}
		if !strings.Contains(html, "Ava O&#39;Brien &amp; &lt;Co&gt;") || strings.Contains(html, "<Co>") {
			t.Errorf("client email: html part does not hold the name escaped:\n%s", html)
		}
	})

	t.Run("Notifications", func(t *testing.T) {
		for _, who := range []string{e.practice.OwnerID, e.practice.MemberID} {
			ns, err := e.store.Notifications(context.Background(), pid, who)
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != 1 || ns[0].RequestID != id || ns[0].Kind != erasure.NoticeDeletionRequested || ns[0].Counts != file.Counts {
				t.Fatalf("%s: got %+v, want one deletion_requested notification for %s", who, ns, id)
			}
		}
		ns, err := e.store.Notifications(context.Background(), pid, e.practice.AssistantID)
		if err != nil || len(ns) != 0 {
			t.Fatalf("unassigned practitioner: got %v %v, want no notification", ns, err)
		}
	})

	t.Run("RepeatReturnsSameRequest", func(t *testing.T) {
		e.enable(t, false) // turning it off does not cancel an accepted request
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
		if resp.StatusCode != 200 || body["id"] != id || body["status"] != "scheduled" {
			t.Fatalf("got %d %v, want 200 with request %s", resp.StatusCode, body, id)
		}
		resp, body = apigwtest.CallJSON(t, e.h.Handle, event("GET", "", client))
		req, _ := body["request"].(map[string]any)
		if resp.StatusCode != 200 || body["available"] != false || req["id"] != id {
			t.Fatalf("got %d %v, want the pending request shown", resp.StatusCode, body)
		}
		if n := len(e.schedules(t)); n != 1 {
			t.Fatalf("got %d schedules, want 1", n)
		}
		wantOneEach(t, e)
	})
}

// sentTo splits the emails sent so far into those to practitioners and
// those to clients (seeded at <client id>@clients.example.com).
func sentTo(t *testing.T, e *env) (practitioners, clients []emulatortest.SentEmail) {
	t.Helper()
	for _, m := range emulatortest.SentEmails(t, e.st.Sender) {
		if len(m.Destinations) == 1 && strings.HasSuffix(m.Destinations[0], "@clients.example.com") {
			clients = append(clients, m)
		} else {
			practitioners = append(practitioners, m)
		}
	}
	return practitioners, clients
}

// wantOneEach checks that exactly one email went to the practitioners and
// one to the client.
func wantOneEach(t *testing.T, e *env) {
	t.Helper()
	p, c := sentTo(t, e)
	if len(p) != 1 || len(c) != 1 {
		t.Fatalf("got %d emails to practitioners and %d to the client, want exactly 1 each", len(p), len(c))
	}
}

func TestDeletionRequest_ConcurrentPosts(t *testing.T) {
	e := setup(t)
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-cleo", "Cleo", "Park", "")
	e.enable(t, true)
	client := clientClaimsFor(e.practice.ID, "cl-cleo")
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, err := e.h.Handle(context.Background(), event("POST", `{"confirm":true}`, client))
			if err != nil {
				t.Errorf("handler error: %v", err)
				return
			}
			var body struct{ ID string }
			_ = json.Unmarshal([]byte(resp.Body), &body)
			statuses[i], ids[i] = resp.StatusCode, body.ID
		})
	}
	wg.Wait()
	var accepted int
	for i := range n {
		if statuses[i] == 202 {
			accepted++
		} else if statuses[i] != 200 {
			t.Errorf("call %d: got status %d, want 200 or 202", i, statuses[i])
		}
		if ids[i] != ids[0] || ids[i] == "" {
			t.Errorf("call %d: got request %q, want %q", i, ids[i], ids[0])
		}
	}
	if accepted != 1 {
		t.Errorf("got %d 202 responses, want exactly 1", accepted)
	}
	if got := len(e.schedules(t)); got != 1 {
		t.Errorf("got %d schedules, want 1", got)
	}
	if !emulatortest.Eventually(t, 2*time.Second, func() bool { return len(emulatortest.SentEmails(t, e.st.Sender)) >= 2 }) {
		t.Fatal("no email sent")
	}
	wantOneEach(t, e)
	snap := emulatortest.TakeSnapshot(t, e.st)
	var requests int
	for k := range snap {
		if strings.HasPrefix(k.PK, "DELETION#") {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("got %d request items, want 1", requests)
	}
}

func TestDeletionRequest_SchedulerFailure(t *testing.T) {
	e := setup(t)
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-dan", "Dan", "Roe", "")
	e.enable(t, true)
	client := clientClaimsFor(e.practice.ID, "cl-dan")

	// Every attempt the SDK makes fails, as in a Scheduler outage.
	e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.Path("/schedules/"))
	resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
	if resp.StatusCode != 503 || errCode(body) != "service_unavailable" {
		t.Fatalf("got %d %v, want 503 service_unavailable", resp.StatusCode, body)
	}
	resp, _ = e.h.Handle(context.Background(), event("POST", `{"confirm":true}`, client))
	if resp.Headers["Retry-After"] == "" {
		t.Error("503 without Retry-After")
	}
	if _, err := e.store.ActiveRequest(context.Background(), e.practice.ID, "cl-dan"); err == nil {
		t.Fatal("a request is left behind after the schedule failed")
	}
	if n := len(emulatortest.SentEmails(t, e.st.Sender)); n != 0 {
		t.Fatalf("got %d emails for a request that was not accepted, want 0", n)
	}
	resp, body = apigwtest.CallJSON(t, e.h.Handle, event("GET", "", client))
	if resp.StatusCode != 200 || body["request"] != nil {
		t.Fatalf("got %d %v, want no request shown", resp.StatusCode, body)
	}

	e.faults.Clear()
	resp, body = apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
	if resp.StatusCode != 202 || body["status"] != "scheduled" {
		t.Fatalf("retry: got %d %v, want 202 scheduled", resp.StatusCode, body)
	}
	if n := len(e.schedules(t)); n != 1 {
		t.Fatalf("got %d schedules, want 1", n)
	}
	wantOneEach(t, e)
}

func TestDeletionRequest_EmailFailure(t *testing.T) {
	t.Run("OnceThenRetriedBySDK", func(t *testing.T) {
		e := setup(t)
		emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-eve", "Eve", "Moss", "")
		e.enable(t, true)
		e.faults.Fail(1, http.StatusServiceUnavailable, emulatortest.Path("/outbound-emails"))
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, clientClaimsFor(e.practice.ID, "cl-eve")))
		if resp.StatusCode != 202 {
			t.Fatalf("got %d %v, want 202", resp.StatusCode, body)
		}
		wantOneEach(t, e)
		r, err := e.store.GetRequest(context.Background(), body["id"].(string))
		if err != nil || r.DeliveredAt(erasure.DeliveryPractitionersRequested) == nil {
			t.Fatalf("got %+v %v, want the request marked notified", r, err)
		}
	})
	t.Run("OutageThenSweep", func(t *testing.T) {
		e := setup(t)
		emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-fay", "Fay", "Ng", "")
		e.enable(t, true)
		e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.Path("/outbound-emails"))
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, clientClaimsFor(e.practice.ID, "cl-fay")))
		if resp.StatusCode != 202 {
			t.Fatalf("got %d %v, want 202: the purge is scheduled whatever the mail does", resp.StatusCode, body)
		}
		if n := len(emulatortest.SentEmails(t, e.st.Sender)); n != 0 {
			t.Fatalf("got %d emails during the outage, want 0", n)
		}
		e.faults.Clear()
		// The hourly sweep (the purge function's {"sweep":true}) sends it.
		// No request is due: the sweep only notifies, and the objects and
		// schedules it would purge and hand over with are fakes.
		svc := erasure.NewPurger(e.store, e.store, e.store, e.store,
			porttest.NewObjects(), porttest.NewScheduler(),
			sesmail.New(sesv2.NewFromConfig(emulatortest.Config(t, nil)), e.st.Sender), porttest.NewLedger(),
			erasure.PurgeConfig{}, erasure.Options{Log: slog.New(slog.DiscardHandler)})
		for range 2 {
			if _, err := svc.Sweep(context.Background()); err != nil {
				t.Fatalf("sweep: %v", err)
			}
		}
		wantOneEach(t, e)
	})
}

// TestDeletionRequest_HalfMade: the function dies between the request's
// transaction and its schedule (the schedule fails and so does the
// rollback). No one was promised anything, so no one sees anything: the
// client's GET shows no request, the practice lists none, a DELETE rolls
// it back and sends nothing, and the client's retried POST repairs it.
func TestDeletionRequest_HalfMade(t *testing.T) {
	halfMade := func(t *testing.T, clientID string) (*env, map[string]string, erasure.Request) {
		e := setup(t)
		emulatortest.SeedClient(t, e.st, e.store, e.practice, clientID, "Gil", "Ode", "")
		e.enable(t, true)
		client := clientClaimsFor(e.practice.ID, clientID)
		e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.Path("/schedules/"))
		e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.CallHolding("TransactWriteItems", `"Delete"`))
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
		if resp.StatusCode != 503 {
			t.Fatalf("got %d %v, want 503", resp.StatusCode, body)
		}
		e.faults.Clear()
		r, err := e.store.ActiveRequest(context.Background(), e.practice.ID, clientID)
		if err != nil || r.Status != erasure.StatusAccepting {
			t.Fatalf("stored: got %+v, %v; want a request left accepting", r, err)
		}
		resp, body = apigwtest.CallJSON(t, e.h.Handle, event("GET", "", client))
		if resp.StatusCode != 200 || body["request"] != nil {
			t.Errorf("GET: got %d %v, want request null", resp.StatusCode, body)
		}
		list, _, err := e.store.ListRequests(context.Background(), e.practice.ID, "", 50, "")
		if err != nil || len(list) != 0 {
			t.Errorf("practice list: got %d, %v; want none", len(list), err)
		}
		return e, client, r
	}
	t.Run("CancelSendsNothing", func(t *testing.T) {
		e, client, r := halfMade(t, "cl-gil")
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("DELETE", "", client))
		if resp.StatusCode != 404 || errCode(body) != "not_found" {
			t.Fatalf("DELETE: got %d %v, want 404 not_found", resp.StatusCode, body)
		}
		if _, err := e.store.GetRequest(context.Background(), r.ID); err == nil {
			t.Error("the half-made request is still there after the DELETE")
		}
		if n := len(emulatortest.SentEmails(t, e.st.Sender)); n != 0 {
			t.Errorf("emails: got %d, want none", n)
		}
	})
	t.Run("RetryRepairs", func(t *testing.T) {
		e, client, r := halfMade(t, "cl-hal")
		resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
		if resp.StatusCode != 200 || body["status"] != "scheduled" || body["id"] != r.ID {
			t.Fatalf("retry: got %d %v, want 200 scheduled %s", resp.StatusCode, body, r.ID)
		}
		if n := len(e.schedules(t)); n != 1 {
			t.Errorf("schedules: got %d, want 1", n)
		}
		wantOneEach(t, e)
	})
}

// TestDeletionRequest_CancellationEmailOutage: SES fails the client's
// cancellation email through every SDK retry. The cancel stands; a repeated
// DELETE answers 200 with the cancelled request (not 404) and sends the
// email once SES is back, once.
func TestDeletionRequest_CancellationEmailOutage(t *testing.T) {
	e := setup(t)
	ivy := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ivy", "Ivy", "Ray", "")
	e.enable(t, true)
	client := clientClaimsFor(e.practice.ID, "cl-ivy")
	resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, client))
	if resp.StatusCode != 202 {
		t.Fatalf("POST: got %d %v", resp.StatusCode, body)
	}
	id := body["id"]
	cancellations := func() int {
		n := 0
		for _, m := range emulatortest.SentEmails(t, e.st.Sender) {
			if slices.Contains(m.Destinations, ivy.Email) && strings.Contains(m.RawData, "was cancelled") {
				n++
			}
		}
		return n
	}
	e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.Path("/outbound-emails"))
	for i := range 2 {
		resp, body = apigwtest.CallJSON(t, e.h.Handle, event("DELETE", "", client))
		if resp.StatusCode != 200 || body["status"] != "cancelled" || body["id"] != id {
			t.Fatalf("DELETE %d during the outage: got %d %v, want 200 cancelled %v", i, resp.StatusCode, body, id)
		}
	}
	if n := cancellations(); n != 0 {
		t.Fatalf("cancellation emails during the outage: got %d", n)
	}
	e.faults.Clear()
	for range 2 {
		resp, body = apigwtest.CallJSON(t, e.h.Handle, event("DELETE", "", client))
		if resp.StatusCode != 200 || body["id"] != id {
			t.Fatalf("DELETE after the outage: got %d %v, want 200 %v", resp.StatusCode, body, id)
		}
	}
	if n := cancellations(); n != 1 {
		t.Errorf("cancellation emails: got %d, want 1", n)
	}
	r, err := e.store.GetRequest(context.Background(), fmt.Sprint(id))
	if err != nil || len(r.Owed) != 0 {
		t.Errorf("stored: got %+v, %v; want nothing owed", r, err)
	}
}

// lockedBuffer is a log destination the handler's goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logged rebuilds the handler with a logger as the function's main builds
// it (JSON behind safelog.Handler), writing to the returned buffer.
func (e *env) logged(t *testing.T) *lockedBuffer {
	t.Helper()
	var buf lockedBuffer
	h, err := build(context.Background(), slog.New(safelog.Handler(slog.NewJSONHandler(&buf, nil))), emulatortest.Through(e.faults))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	e.h = h
	return &buf
}

// DynamoDB throttling the function, or failing on its side, past the
// SDK's retries: 503 service_unavailable with Retry-After, the cause
// logged by its code (never the service's message), and the next call,
// the table back, answers as usual.
func TestDeletionRequest_StoreUnavailable(t *testing.T) {
	e := setup(t)
	logs := e.logged(t)
	emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-gus", "Gus", "Hale", "")
	e.enable(t, true)
	client := clientClaimsFor(e.practice.ID, "cl-gus")
	const quoted = "cl-gus@clients.example.com" // what a service's message might quote

	for _, tc := range []struct {
		name   string
		status int
		code   string
	}{
		{"ProvisionedThroughputExceeded", http.StatusBadRequest, "ProvisionedThroughputExceededException"},
		{"Throttling", http.StatusBadRequest, "ThrottlingException"},
		{"InternalServerError", http.StatusInternalServerError, "InternalServerError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header, body := emulatortest.DynamoDBError(tc.code, "refused for "+quoted)
			e.faults.Answer(1000, tc.status, header, body, emulatortest.DynamoDB())
			resp, err := e.h.Handle(context.Background(), event("GET", "", client))
			e.faults.Clear()
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &got)
			if resp.StatusCode != http.StatusServiceUnavailable || errCode(got) != "service_unavailable" || resp.Headers["Retry-After"] == "" {
				t.Fatalf("got %d %s (Retry-After %q), want 503 service_unavailable with Retry-After", resp.StatusCode, resp.Body, resp.Headers["Retry-After"])
			}
			if strings.Contains(resp.Body, quoted) || strings.Contains(resp.Body, tc.code) {
				t.Errorf("body %s: want nothing of the cause", resp.Body)
			}
			if !strings.Contains(logs.String(), "api error "+tc.code) {
				t.Errorf("logs: got %s, want the cause by its code", logs)
			}
			if resp, body := apigwtest.CallJSON(t, e.h.Handle, event("GET", "", client)); resp.StatusCode != 200 {
				t.Errorf("the table back: got %d %v, want 200", resp.StatusCode, body)
			}
		})
	}
	if strings.Contains(logs.String(), quoted) || strings.Contains(logs.String(), "refused for") {
		t.Errorf("logs: got %s, want no service message", logs)
	}
}

// SES refuses the confirmation with MessageRejected, whose message lists
// the recipient's address (as SES does): the request is accepted all the
// same, and the logs name the failure by its code, never the address.
func TestDeletionRequest_EmailRejectedLogsNoAddress(t *testing.T) {
	e := setup(t)
	logs := e.logged(t)
	file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ida", "Ida", "Vance", "")
	e.enable(t, true)
	e.faults.Answer(1000, http.StatusBadRequest, http.Header{"X-Amzn-ErrorType": {"MessageRejected"}},
		`{"message":"Email address is not verified. The following identities failed the check in region US-EAST-1: Ida Vance <`+file.Email+`>"}`,
		emulatortest.Path("/outbound-emails"))
	resp, body := apigwtest.CallJSON(t, e.h.Handle, event("POST", `{"confirm":true}`, clientClaimsFor(e.practice.ID, "cl-ida")))
	status := resp.StatusCode
	if status != 202 {
		t.Fatalf("got %d %v, want 202: the purge is scheduled whatever the mail does", status, body)
	}
	got := logs.String()
	if !strings.Contains(got, "api error MessageRejected") || !strings.Contains(got, "operation error SESv2: SendEmail") {
		t.Errorf("logs: got %s, want the failure by its code and operation", got)
	}
	for _, personal := range []string{file.Email, "Ida", "Vance", "not verified"} {
		if strings.Contains(got, personal) {
			t.Errorf("logs hold %q:\n%s", personal, got)
		}
	}
}
