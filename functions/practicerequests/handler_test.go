package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

var (
	owner  = map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "owner"}
	member = map[string]string{"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "member"}
	other  = map[string]string{"sub": "pr-x", "custom:role": "practitioner", "custom:practice_id": "prac-other", "custom:team_role": "owner"}
	client = map[string]string{"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": "prac-demo", "custom:client_id": "cl-ava"}
)

func request(path string, claims map[string]string, query map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, QueryStringParameters: query, RouteKey: "GET /v1/deletion-requests"}
	req.RequestContext.HTTP.Method = http.MethodGet
	if id, ok := strings.CutPrefix(path, "/v1/deletion-requests/"); ok {
		req.RouteKey, req.PathParameters = "GET /v1/deletion-requests/{id}", map[string]string{"id": id}
		if id, ok := strings.CutSuffix(id, "/certificate"); ok {
			req.RouteKey, req.PathParameters = routeCertificate, map[string]string{"id": id}
		}
	}
	if path == "/v1/erasure-certificates/public-key" {
		req.RouteKey = routePublicKey
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

// fixture: three requests in prac-demo (one completed, with its erasure
// certificate, one cancelled, one scheduled) and one in another practice.
func newHandler(t *testing.T) (*Handler, []erasure.Request) {
	h, rs, _ := newHandlerLedger(t)
	return h, rs
}

func newHandlerLedger(t *testing.T) (*Handler, []erasure.Request, *porttest.Ledger) {
	t.Helper()
	ctx := context.Background()
	mem := porttest.NewMemory()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var rs []erasure.Request
	for i, pc := range [][2]string{{"prac-demo", "c1"}, {"prac-demo", "c2"}, {"prac-demo", "c3"}, {"prac-other", "c9"}} {
		r := erasure.Request{ID: fmt.Sprintf("rq-%d", i), PracticeID: pc[0], ClientID: pc[1], Status: erasure.StatusScheduled,
			RequestedAt: t0.Add(time.Duration(i) * time.Hour), PurgeAt: t0.Add(30*24*time.Hour + time.Duration(i)*time.Hour),
			WillDelete: erasure.Counts{JournalEntries: i + 1}}
		if err := mem.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := mem.MarkScheduled(ctx, r); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	// rq-0 completes; rq-1 is cancelled.
	start := t0.Add(31 * 24 * time.Hour)
	if _, err := mem.StartPurge(ctx, "rq-0", start, start.Add(time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if err := mem.Checkpoint(ctx, "rq-0", "done", "", erasure.Counts{JournalEntries: 1}, 0); err != nil {
		t.Fatal(err)
	}
	done, err := mem.CompletePurge(ctx, "rq-0", start.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The purge's first delivery: the record in the ledger.
	ledger := porttest.NewLedger()
	if err := ledger.Record(ctx, erasure.ErasureRecord(done, evidence.OutcomeCompleted)); err != nil {
		t.Fatal(err)
	}
	if err := mem.MarkDelivered(ctx, "rq-0", erasure.DeliveryEvidenceCompleted, start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := mem.CancelRequest(ctx, rs[1], t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mem.AddTeam("prac-demo", "pr-owner", "pr-member")
	mem.AddTeam("prac-other", "pr-x")
	o := erasure.Options{Log: slog.New(slog.DiscardHandler)}
	return &Handler{svc: erasure.NewPracticeRequests(mem, mem, o), certs: erasure.NewCertificates(mem, mem, ledger, o), log: o.Log}, rs, ledger
}

func ids(body map[string]any) string {
	var out []string
	list, _ := body["requests"].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any)["id"].(string))
	}
	return strings.Join(out, ",")
}

func timeline(body map[string]any) string {
	var out []string
	tl, _ := body["timeline"].([]any)
	for _, e := range tl {
		out = append(out, e.(map[string]any)["event"].(string))
	}
	return strings.Join(out, ",")
}

func TestHandler_List(t *testing.T) {
	h, _ := newHandler(t)
	for _, tc := range []struct {
		name  string
		query map[string]string
		want  string
	}{
		{"OK/All", nil, "rq-2,rq-1,rq-0"},
		{"OK/Scheduled", map[string]string{"status": "scheduled"}, "rq-2"},
		{"OK/Completed", map[string]string{"status": "completed"}, "rq-0"},
		{"OK/Cancelled", map[string]string{"status": "cancelled"}, "rq-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests", member, tc.query))
			if got := ids(body); resp.StatusCode != 200 || got != tc.want {
				t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, got, tc.want)
			}
		})
	}
	t.Run("OK/Pages", func(t *testing.T) {
		var seen []string
		token := ""
		for range 5 {
			q := map[string]string{"limit": "2"}
			if token != "" {
				q["nextToken"] = token
			}
			_, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests", owner, q))
			if got := ids(body); got != "" {
				seen = append(seen, got)
			}
			next, _ := body["nextToken"].(string)
			if next == "" {
				break
			}
			token = next
		}
		if got := strings.Join(seen, ","); got != "rq-2,rq-1,rq-0" {
			t.Fatalf("got %s over pages, want every request once", got)
		}
	})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrForbidden/Client", request("/v1/deletion-requests", client, nil), 403, identity.EForbidden},
		{"ErrUnauthorized", request("/v1/deletion-requests", nil, nil), 401, identity.EUnauthorized},
		{"ErrInvalid/Status", request("/v1/deletion-requests", owner, map[string]string{"status": "gone"}), 400, identity.EInvalid},
		{"ErrInvalid/Limit", request("/v1/deletion-requests", owner, map[string]string{"limit": "-1"}), 400, identity.EInvalid},
		{"ErrInvalid/Token", request("/v1/deletion-requests", owner, map[string]string{"nextToken": "x"}), 400, identity.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, tc.req, tc.status), tc.code)
		})
	}
}

func TestHandler_Get(t *testing.T) {
	h, _ := newHandler(t)
	t.Run("OK/Completed", func(t *testing.T) {
		resp, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests/rq-0", owner, nil))
		if resp.StatusCode != 200 || body["status"] != "completed" {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
		if got := timeline(body); got != "requested,purge_scheduled_for,purge_started,completed,backups_clear_by" {
			t.Errorf("timeline: got %s", got)
		}
		receipt, _ := body["receipt"].(map[string]any)
		if receipt == nil || receipt["invocations"] != float64(1) || receipt["backupsClearBy"] == nil {
			t.Errorf("receipt: got %v, want one with invocations and backupsClearBy", receipt)
		}
	})
	t.Run("OK/Cancelled", func(t *testing.T) {
		resp, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests/rq-1", owner, nil))
		if got := timeline(body); resp.StatusCode != 200 || got != "requested,cancelled" || body["receipt"] != nil {
			t.Fatalf("got %d timeline %s receipt %v, want requested,cancelled and no receipt", resp.StatusCode, got, body["receipt"])
		}
	})
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrNotFound/AnotherPractice", request("/v1/deletion-requests/rq-3", owner, nil), 404, identity.ENotFound},
		{"ErrNotFound/OtherSide", request("/v1/deletion-requests/rq-0", other, nil), 404, identity.ENotFound},
		{"ErrNotFound/Unknown", request("/v1/deletion-requests/rq-404", owner, nil), 404, identity.ENotFound},
		{"ErrNotFound/BadID", request("/v1/deletion-requests/a#b", owner, nil), 404, identity.ENotFound},
		{"ErrForbidden/Client", request("/v1/deletion-requests/rq-0", client, nil), 403, identity.EForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, tc.req, tc.status), tc.code)
		})
	}
}

// TestHandler_Certificate: the practice's practitioners get a completed
// request's certificate, which verifies with the public key the API
// gives; a request of the practice not completed has none yet; another
// practice's or an unknown one is not found; a client is forbidden.
func TestHandler_Certificate(t *testing.T) {
	h, _, ledger := newHandlerLedger(t)
	resp := apigwtest.Call(t, h.Handle, request("/v1/deletion-requests/rq-0/certificate", member, nil), http.StatusOK)
	var c evidence.Certificate
	apigwtest.StrictDecode(t, resp.Body, &c)
	kresp := apigwtest.Call(t, h.Handle, request("/v1/erasure-certificates/public-key", owner, nil), http.StatusOK)
	var pk evidence.PublicKey
	apigwtest.StrictDecode(t, kresp.Body, &pk)
	key, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	if pk.KeyID != ledger.KeyID || pk.Algorithm != evidence.Algorithm {
		t.Errorf("public key: got id %q algorithm %q", pk.KeyID, pk.Algorithm)
	}
	r, err := evidence.Verify(c, &evidence.Trusted{KeyID: pk.KeyID, Key: key})
	if err != nil || r.RequestID != "rq-0" || r.PracticeID != "prac-demo" || r.Outcome != evidence.OutcomeCompleted {
		t.Errorf("Verify: got %+v, %v; want rq-0's completed record", r, err)
	}
	// The body is the certificate as the ledger keeps it.
	if want, _ := evidence.EncodeCertificate(c); strings.TrimSpace(string(want)) != resp.Body {
		t.Errorf("body: got %s, want %s", resp.Body, want)
	}
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"ErrNotReady/Scheduled", request("/v1/deletion-requests/rq-2/certificate", owner, nil), 404, identity.ECertificateNotReady},
		{"ErrNotReady/Cancelled", request("/v1/deletion-requests/rq-1/certificate", owner, nil), 404, identity.ECertificateNotReady},
		{"ErrNotFound/AnotherPractice", request("/v1/deletion-requests/rq-3/certificate", owner, nil), 404, identity.ENotFound},
		{"ErrNotFound/OtherSide", request("/v1/deletion-requests/rq-0/certificate", other, nil), 404, identity.ENotFound},
		{"ErrNotFound/Unknown", request("/v1/deletion-requests/rq-404/certificate", owner, nil), 404, identity.ENotFound},
		{"ErrForbidden/Client", request("/v1/deletion-requests/rq-0/certificate", client, nil), 403, identity.EForbidden},
		{"ErrForbidden/ClientKey", request("/v1/erasure-certificates/public-key", client, nil), 403, identity.EForbidden},
		{"ErrUnauthorized", request("/v1/erasure-certificates/public-key", nil, nil), 401, identity.EUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, tc.req, tc.status), tc.code)
		})
	}
}
