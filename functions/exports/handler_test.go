package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

var (
	owner  = map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "owner"}
	member = map[string]string{"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "member"}
	other  = map[string]string{"sub": "pr-x", "custom:role": "practitioner", "custom:practice_id": "prac-other", "custom:team_role": "owner"}
	client = map[string]string{"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": "prac-demo", "custom:client_id": "cl-ava"}
)

const (
	postRoute = "/v1/clients/{clientId}/exports"
	getRoute  = "/v1/clients/{clientId}/exports/{exportId}"
)

// request builds the event API Gateway sends for method on path, which
// is a post route path (/v1/clients/<c>/exports) or a get route path
// (/v1/clients/<c>/exports/<e>).
func request(method, path string, claims map[string]string, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, Body: body}
	rest, _ := strings.CutPrefix(path, "/v1/clients/")
	parts := strings.Split(rest, "/")
	req.RouteKey, req.PathParameters = method+" "+postRoute, map[string]string{"clientId": parts[0]}
	if len(parts) == 3 {
		req.RouteKey = method + " " + getRoute
		req.PathParameters["exportId"] = parts[2]
	}
	req.RequestContext.HTTP.Method = method
	if body != "" {
		req.Headers = map[string]string{"content-type": "application/json"}
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

type fixture struct {
	h     *Handler
	mem   *porttest.ExportMemory
	sched *porttest.ExportScheduler
	opts  erasure.Options
	now   time.Time
	// The worker's side, to make an export ready.
	archives *porttest.ExportArchives
	tempDir  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{mem: porttest.NewExportMemory(), sched: porttest.NewExportScheduler(), now: time.Date(2026, 11, 28, 12, 0, 30, 0, time.UTC)}
	f.mem.AddPractitioner("prac-demo", "pr-owner", true)
	f.mem.AddPractitioner("prac-demo", "pr-member", false)
	f.mem.AddPractitioner("prac-other", "pr-x", true)
	f.mem.AddClient("prac-demo", "cl-ava")
	f.mem.AddClient("prac-demo", "cl-ben")
	f.mem.AddClient("prac-other", "cl-zed")
	f.mem.AddJournalEntry("prac-demo", "cl-ava", export.JournalEntry{ID: "j1", Author: export.Author{Role: "client", ID: "cl-ava"}, Title: "t", Body: "b"})
	n := 0
	log := slog.New(slog.DiscardHandler)
	f.opts = erasure.Options{
		Now:   func() time.Time { return f.now },
		NewID: func() string { n++; return fmt.Sprintf("ex-%d", n) },
		Log:   log,
	}
	f.archives = porttest.NewExportArchives()
	f.tempDir = t.TempDir()
	svc := export.NewRequests(f.mem, f.mem, f.mem, f.sched, f.archives, export.Downloads{}, f.opts)
	f.h = &Handler{svc: svc, log: log}
	return f
}

// keys lists an object's field names, sorted.
func keys(m map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}

func TestHandler_Post(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]string
		body   string
		b64    bool
	}{
		{"OK/OwnerNoBody", owner, "", false},
		{"OK/MemberEmptyObject", member, "{}", false},
		{"OK/Whitespace", owner, " \n{ }\n", false},
		{"OK/Base64", owner, base64.StdEncoding.EncodeToString([]byte("{}")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			req := request("POST", "/v1/clients/cl-ava/exports", tc.claims, tc.body)
			req.IsBase64Encoded = tc.b64
			resp, body := apigwtest.CallJSON(t, f.h.Handle, req)
			if resp.StatusCode != 202 {
				t.Fatalf("got %d %v, want 202", resp.StatusCode, body)
			}
			if got := keys(body); got != "clientId,exportId,requestedAt,status" {
				t.Errorf("fields: got %s, want clientId,exportId,requestedAt,status", got)
			}
			if body["exportId"] != "ex-1" || body["clientId"] != "cl-ava" || body["status"] != "pending" || body["requestedAt"] != "2026-11-28T12:00:30Z" {
				t.Errorf("got %v", body)
			}
			if got := resp.Headers["Location"]; got != "/v1/clients/cl-ava/exports/ex-1" {
				t.Errorf("Location: got %q", got)
			}
			if sc, ok := f.sched.Schedules["rtbf-export-ex-1"]; !ok || sc.ExportID != "ex-1" || !sc.At.Equal(time.Date(2026, 11, 28, 12, 1, 0, 0, time.UTC)) {
				t.Errorf("schedule: got %+v, want one at 12:01 for ex-1", f.sched.Schedules)
			}
		})
	}
	big := `{"a":"` + strings.Repeat("x", 5000) + `"}`
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrUnauthorized", request("POST", "/v1/clients/cl-ava/exports", nil, ""), 401, identity.EUnauthorized},
		{"ErrForbidden/Client", request("POST", "/v1/clients/cl-ava/exports", client, "{}"), 403, identity.EForbidden},
		{"ErrForbidden/ClientBadBody", request("POST", "/v1/clients/cl-ava/exports", client, "{"), 403, identity.EForbidden},
		{"ErrForbidden/NoTeamRole", request("POST", "/v1/clients/cl-ava/exports", map[string]string{"sub": "p", "custom:role": "practitioner", "custom:practice_id": "prac-demo"}, ""), 403, identity.EForbidden},
		{"ErrInvalid/ClientIDHash", request("POST", "/v1/clients/cl#ava/exports", owner, ""), 400, identity.EInvalid},
		{"ErrInvalid/ClientIDLong", request("POST", "/v1/clients/"+strings.Repeat("x", 129)+"/exports", owner, ""), 400, identity.EInvalid},
		{"ErrInvalid/ClientIDEmpty", request("POST", "/v1/clients//exports", owner, ""), 400, identity.EInvalid},
		{"ErrInvalid/UnknownField", request("POST", "/v1/clients/cl-ava/exports", owner, `{"format":"zip"}`), 400, identity.EInvalid},
		{"ErrInvalid/Null", request("POST", "/v1/clients/cl-ava/exports", owner, "null"), 400, identity.EInvalid},
		{"ErrInvalid/Array", request("POST", "/v1/clients/cl-ava/exports", owner, "[]"), 400, identity.EInvalid},
		{"ErrInvalid/String", request("POST", "/v1/clients/cl-ava/exports", owner, `"{}"`), 400, identity.EInvalid},
		{"ErrInvalid/Malformed", request("POST", "/v1/clients/cl-ava/exports", owner, "{"), 400, identity.EInvalid},
		{"ErrInvalid/TwoObjects", request("POST", "/v1/clients/cl-ava/exports", owner, "{}{}"), 400, identity.EInvalid},
		{"ErrTooLarge", request("POST", "/v1/clients/cl-ava/exports", owner, big), 413, apigw.ETooLarge},
		{"ErrNotFound/Unknown", request("POST", "/v1/clients/cl-nobody/exports", owner, "{}"), 404, identity.ENotFound},
		{"ErrNotFound/AnotherPractice", request("POST", "/v1/clients/cl-zed/exports", owner, "{}"), 404, identity.ENotFound},
		{"ErrNotFound/OtherSide", request("POST", "/v1/clients/cl-ava/exports", other, "{}"), 404, identity.ENotFound},
		{"ErrMethod/Put", request("PUT", "/v1/clients/cl-ava/exports", owner, "{}"), 405, apigw.EMethodNotAllowed},
		{"ErrMethod/GetList", request("GET", "/v1/clients/cl-ava/exports", owner, ""), 405, apigw.EMethodNotAllowed},
		{"ErrMethod/PostOne", request("POST", "/v1/clients/cl-ava/exports/ex-1", owner, ""), 405, apigw.EMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			apigwtest.CheckError(t, apigwtest.Call(t, f.h.Handle, tc.req, tc.status), tc.code)
			if len(f.mem.Exports()) != 0 || len(f.sched.Schedules) != 0 {
				t.Errorf("a refused request left %d exports and %d schedules", len(f.mem.Exports()), len(f.sched.Schedules))
			}
		})
	}
	t.Run("ErrUnsupportedMedia", func(t *testing.T) {
		f := newFixture(t)
		req := request("POST", "/v1/clients/cl-ava/exports", owner, "{}")
		req.Headers["content-type"] = "text/plain"
		apigwtest.CheckError(t, apigwtest.Call(t, f.h.Handle, req, 415), apigw.EUnsupportedMedia)
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		f := newFixture(t)
		f.sched.FailNext = 1
		// CheckError wants a Retry-After on a 503.
		apigwtest.CheckError(t, apigwtest.Call(t, f.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, "{}"), 503), identity.EUnavailable)
		if n := len(f.mem.Exports()); n != 0 {
			t.Fatalf("got %d exports recorded, want the record rolled back", n)
		}
		apigwtest.Call(t, f.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, "{}"), 202)
	})
}

func TestHandler_Get(t *testing.T) {
	f := newFixture(t)
	resp, body := apigwtest.CallJSON(t, f.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, ""))
	if resp.StatusCode != 202 {
		t.Fatalf("post: got %d %v", resp.StatusCode, body)
	}
	one := "/v1/clients/cl-ava/exports/ex-1"
	t.Run("OK/Pending", func(t *testing.T) {
		resp, body := apigwtest.CallJSON(t, f.h.Handle, request("GET", one, member, ""))
		if resp.StatusCode != 200 || keys(body) != "clientId,exportId,requestedAt,status" || body["status"] != "pending" {
			t.Fatalf("got %d %v, want 200 pending and no more", resp.StatusCode, body)
		}
	})
	t.Run("OK/Ready", func(t *testing.T) {
		f.now = f.now.Add(time.Minute)
		// The export worker's side, on the same fakes.
		w := export.NewWorker(f.mem, f.mem, porttest.NewExportFiles(), f.archives, export.WorkerConfig{TempDir: f.tempDir}, f.opts)
		if _, err := w.Run(context.Background(), "ex-1"); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(time.Minute)
		resp, body := apigwtest.CallJSON(t, f.h.Handle, request("GET", one, owner, ""))
		if resp.StatusCode != 200 || body["status"] != "ready" {
			t.Fatalf("got %d %v, want 200 ready", resp.StatusCode, body)
		}
		if got := keys(body); got != "clientId,completedAt,counts,downloadUrl,downloadUrlExpiresAt,exportId,requestedAt,sizeBytes,status" {
			t.Errorf("fields: got %s", got)
		}
		counts, _ := body["counts"].(map[string]any)
		if counts["journalEntries"] != float64(1) || counts["documents"] != float64(0) || body["sizeBytes"].(float64) <= 0 {
			t.Errorf("counts %v size %v", counts, body["sizeBytes"])
		}
		if body["completedAt"] != "2026-11-28T12:01:30Z" || body["downloadUrlExpiresAt"] != "2026-11-28T12:17:30Z" ||
			!strings.Contains(body["downloadUrl"].(string), "practices/prac-demo/clients/cl-ava/exports/ex-1.zip") {
			t.Errorf("got %v", body)
		}
		if resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("Cache-Control: got %q, want no-store (the URL is a credential)", resp.Headers["Cache-Control"])
		}
	})
	t.Run("OK/Failed", func(t *testing.T) {
		if resp, body := apigwtest.CallJSON(t, f.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, "")); resp.StatusCode != 202 || body["exportId"] != "ex-2" {
			t.Fatalf("post: got %d %v", resp.StatusCode, body)
		}
		if err := f.mem.FailExport(context.Background(), "ex-2", f.now, export.ReasonTimeout); err != nil {
			t.Fatal(err)
		}
		resp, body := apigwtest.CallJSON(t, f.h.Handle, request("GET", "/v1/clients/cl-ava/exports/ex-2", owner, ""))
		if resp.StatusCode != 200 || body["status"] != "failed" || keys(body) != "clientId,completedAt,exportId,requestedAt,status" {
			t.Fatalf("got %d %v, want 200 failed, its time and nothing more", resp.StatusCode, body)
		}
	})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrUnauthorized", request("GET", one, nil, ""), 401, identity.EUnauthorized},
		{"ErrForbidden/Client", request("GET", one, client, ""), 403, identity.EForbidden},
		{"ErrInvalid/ExportID", request("GET", "/v1/clients/cl-ava/exports/ex 1", owner, ""), 400, identity.EInvalid},
		{"ErrInvalid/ExportIDLong", request("GET", "/v1/clients/cl-ava/exports/"+strings.Repeat("e", 129), owner, ""), 400, identity.EInvalid},
		{"ErrInvalid/ClientID", request("GET", "/v1/clients/cl%2Fava/exports/ex-1", owner, ""), 400, identity.EInvalid},
		{"ErrNotFound/Unknown", request("GET", "/v1/clients/cl-ava/exports/ex-404", owner, ""), 404, identity.ENotFound},
		{"ErrNotFound/AnotherClient", request("GET", "/v1/clients/cl-ben/exports/ex-1", owner, ""), 404, identity.ENotFound},
		{"ErrNotFound/AnotherPractice", request("GET", one, other, ""), 404, identity.ENotFound},
		{"ErrMethod/Delete", request("DELETE", one, owner, ""), 405, apigw.EMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apigwtest.CheckError(t, apigwtest.Call(t, f.h.Handle, tc.req, tc.status), tc.code)
		})
	}
}
