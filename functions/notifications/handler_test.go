package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

var (
	owner  = map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "owner"}
	member = map[string]string{"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "member"}
	client = map[string]string{"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": "prac-demo", "custom:client_id": "cl-ava"}
)

func request(method, path string, claims map[string]string, query map[string]string, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, QueryStringParameters: query, Body: body,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	if parts := strings.Split(path, "/"); len(parts) == 5 && parts[4] == "read" {
		req.RouteKey = method + " /v1/notifications/{id}/read"
		req.PathParameters = map[string]string{"id": parts[3]}
	} else {
		req.RouteKey = method + " /v1/notifications"
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

func newHandler(t *testing.T) (*Handler, *porttest.Memory) {
	t.Helper()
	mem := porttest.NewMemory()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for i, n := range []erasure.Notification{
		{PractitionerID: "pr-owner", ID: "r1-requested", Kind: erasure.NoticeDeletionRequested, RequestID: "r1"},
		{PractitionerID: "pr-owner", ID: "r2-requested", Kind: erasure.NoticeDeletionRequested, RequestID: "r2"},
		{PractitionerID: "pr-owner", ID: "r1-completed", Kind: erasure.NoticeDeletionCompleted, RequestID: "r1"},
		{PractitionerID: "pr-member", ID: "r1-requested", Kind: erasure.NoticeDeletionRequested, RequestID: "r1"},
	} {
		n.PracticeID, n.CreatedAt = "prac-demo", t0.Add(time.Duration(i)*time.Hour)
		if err := mem.PutNotification(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddTeam("prac-demo", "pr-owner", "pr-member")
	mem.AddTeam("prac-other", "pr-x")
	return &Handler{svc: erasure.NewNotifications(mem, mem, erasure.Options{Log: slog.New(slog.DiscardHandler)}), log: slog.New(slog.DiscardHandler)}, mem
}

func ids(body map[string]any) []string {
	var out []string
	list, _ := body["notifications"].([]any)
	for _, n := range list {
		out = append(out, n.(map[string]any)["id"].(string))
	}
	return out
}

func TestHandler_List(t *testing.T) {
	h, _ := newHandler(t)
	t.Run("OK/OwnNewestFirst", func(t *testing.T) {
		resp, body := apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", owner, nil, ""))
		if got := strings.Join(ids(body), ","); resp.StatusCode != 200 || got != "r1-completed,r2-requested,r1-requested" || body["nextToken"] != nil {
			t.Fatalf("got %d %v (%s), want the owner's three, newest first, no next page", resp.StatusCode, body, got)
		}
		resp, body = apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", member, nil, ""))
		if got := strings.Join(ids(body), ","); resp.StatusCode != 200 || got != "r1-requested" {
			t.Fatalf("member: got %d %s, want only their own", resp.StatusCode, got)
		}
	})
	t.Run("OK/Pages", func(t *testing.T) {
		var seen []string
		token := ""
		for range 5 {
			q := map[string]string{"limit": "1"}
			if token != "" {
				q["nextToken"] = token
			}
			resp, body := apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", owner, q, ""))
			if resp.StatusCode != 200 {
				t.Fatalf("got %d %v", resp.StatusCode, body)
			}
			seen = append(seen, ids(body)...)
			next, _ := body["nextToken"].(string)
			if next == "" {
				break
			}
			token = next
		}
		if got := strings.Join(seen, ","); got != "r1-completed,r2-requested,r1-requested" {
			t.Fatalf("got %s over pages, want every notification once", got)
		}
	})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrForbidden/Client", request("GET", "/v1/notifications", client, nil, ""), 403, identity.EForbidden},
		{"ErrUnauthorized", request("GET", "/v1/notifications", nil, nil, ""), 401, identity.EUnauthorized},
		{"ErrInvalid/LimitWord", request("GET", "/v1/notifications", owner, map[string]string{"limit": "ten"}, ""), 400, identity.EInvalid},
		{"ErrInvalid/LimitZero", request("GET", "/v1/notifications", owner, map[string]string{"limit": "0"}, ""), 400, identity.EInvalid},
		{"ErrInvalid/LimitHuge", request("GET", "/v1/notifications", owner, map[string]string{"limit": "101"}, ""), 400, identity.EInvalid},
		{"ErrInvalid/ForgedToken", request("GET", "/v1/notifications", owner, map[string]string{"nextToken": "eyJwayI6IngifQ"}, ""), 400, identity.EInvalid},
		{"ErrMethodNotAllowed", request("PUT", "/v1/notifications", owner, nil, ""), 405, apigw.EMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, tc.req, tc.status), tc.code)
		})
	}
}

func TestHandler_MarkRead(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h, mem := newHandler(t)
		resp, body := apigwtest.CallJSON(t, h.Handle, request("POST", "/v1/notifications/r2-requested/read", owner, nil, ""))
		if resp.StatusCode != 200 || body["read"] != true || body["id"] != "r2-requested" {
			t.Fatalf("got %d %v, want the notification read", resp.StatusCode, body)
		}
		page, _, _ := mem.ListNotifications(context.Background(), "prac-demo", "pr-member", 10, "")
		if len(page) != 1 || page[0].Read {
			t.Fatalf("the member's notification changed: %+v", page)
		}
		resp, _ = apigwtest.CallJSON(t, h.Handle, request("POST", "/v1/notifications/r2-requested/read", owner, nil, "{}"))
		if resp.StatusCode != 200 {
			t.Fatalf("again with an empty object: got %d, want 200", resp.StatusCode)
		}
	})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrNotFound/Unknown", request("POST", "/v1/notifications/nope/read", owner, nil, ""), 404, identity.ENotFound},
		{"ErrNotFound/AnotherPractitioners", request("POST", "/v1/notifications/r2-requested/read", member, nil, ""), 404, identity.ENotFound},
		{"ErrNotFound/BadID", request("POST", "/v1/notifications/a%23b/read", owner, nil, ""), 404, identity.ENotFound},
		{"ErrForbidden/Client", request("POST", "/v1/notifications/r1-requested/read", client, nil, ""), 403, identity.EForbidden},
		{"ErrInvalid/Body", request("POST", "/v1/notifications/r1-requested/read", owner, nil, `{"read":false}`), 400, identity.EInvalid},
		{"ErrInvalid/Null", request("POST", "/v1/notifications/r1-requested/read", owner, nil, `null`), 400, identity.EInvalid},
		// The role before the body: a client learns only that the route is not theirs.
		{"ErrForbidden/ClientBadBody", request("POST", "/v1/notifications/r1-requested/read", client, nil, `{"read":`), 403, identity.EForbidden},
		{"ErrForbidden/ClientHugeBody", request("POST", "/v1/notifications/r1-requested/read", client, nil, strings.Repeat(" ", 5000)+"{}"), 403, identity.EForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newHandler(t)
			apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, tc.req, tc.status), tc.code)
		})
	}
}
