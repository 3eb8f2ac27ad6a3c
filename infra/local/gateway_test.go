package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// recorder is a fake function: it records the event and answers resp.
type recorder struct {
	got  events.APIGatewayV2HTTPRequest
	resp events.APIGatewayV2HTTPResponse
}

func (r *recorder) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	if err := json.Unmarshal(payload, &r.got); err != nil {
		return nil, err
	}
	return json.Marshal(r.resp)
}

func TestGateway_ServeHTTP(t *testing.T) {
	is, err := newIssuer("http://127.0.0.1:1/_local/issuer", "rtbf-local")
	if err != nil {
		t.Fatal(err)
	}
	fn := &recorder{resp: events.APIGatewayV2HTTPResponse{StatusCode: 202, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}}
	g := &gateway{routes: testRoutes(t), functions: map[string]invoker{"SettingsFunction": fn, "DeletionRequestFunction": fn}, auth: is, log: slog.New(slog.DiscardHandler), now: time.Now}
	tok, _ := is.Sign(map[string]any{"sub": "cl-ava", "custom:client_id": "cl-ava"}, time.Now(), time.Hour)

	do := func(method, path, auth, ctype, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("X-Custom", "v")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		return w
	}

	t.Run("OK", func(t *testing.T) {
		w := do("POST", "/v1/portal/account-deletion?x=1", "Bearer "+tok, "application/json", `{"confirm":true}`)
		if w.Code != 202 || w.Body.String() != `{"ok":true}` {
			t.Fatalf("got %d %s, want 202 {\"ok\":true}", w.Code, w.Body)
		}
		ev := fn.got
		if ev.Version != "2.0" || ev.RouteKey != "POST /v1/portal/account-deletion" || ev.RawPath != "/v1/portal/account-deletion" ||
			ev.RequestContext.HTTP.Method != "POST" || ev.Body != `{"confirm":true}` || ev.IsBase64Encoded || ev.RawQueryString != "x=1" {
			t.Fatalf("got event %+v", ev)
		}
		if ev.Headers["x-custom"] != "v" || ev.Headers["content-type"] != "application/json" {
			t.Fatalf("got headers %v, want lower-cased names", ev.Headers)
		}
		if c := ev.RequestContext.Authorizer.JWT.Claims; c["custom:client_id"] != "cl-ava" || c["aud"] != "rtbf-local" {
			t.Fatalf("got claims %v", c)
		}
	})
	t.Run("OKBinaryBody", func(t *testing.T) {
		do("PUT", "/v1/settings/right-to-be-forgotten", tok, "application/octet-stream", "\x00\x01")
		if !fn.got.IsBase64Encoded || fn.got.Body != "AAE=" {
			t.Fatalf("got body %q base64=%v, want AAE= true", fn.got.Body, fn.got.IsBase64Encoded)
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer nope", "Bearer " + tok + "x"} {
			w := do("GET", "/v1/settings/right-to-be-forgotten", auth, "", "")
			if w.Code != 401 || strings.TrimSpace(w.Body.String()) != `{"message":"Unauthorized"}` {
				t.Fatalf("auth %q: got %d %s, want 401 Unauthorized", auth, w.Code, w.Body)
			}
		}
	})
	// A method or path without a route gets API Gateway's own 404, with
	// or without a token, and no function runs.
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, c := range []struct{ method, path, auth string }{
			{"DELETE", "/v1/settings/right-to-be-forgotten", "Bearer " + tok},
			{"PATCH", "/v1/settings/right-to-be-forgotten", ""},
			{"POST", "/v1/notifications", "Bearer " + tok},
			{"GET", "/v1/nope", "Bearer " + tok},
			{"GET", "/v1/portal/account-deletion/", ""},
		} {
			fn.got = events.APIGatewayV2HTTPRequest{}
			w := do(c.method, c.path, c.auth, "", "")
			if w.Code != 404 || strings.TrimSpace(w.Body.String()) != `{"message":"Not Found"}` || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s: got %d %s, want 404 {\"message\":\"Not Found\"}", c.method, c.path, w.Code, w.Body)
			}
			if fn.got.RouteKey != "" {
				t.Fatalf("%s %s: a function ran (%s)", c.method, c.path, fn.got.RouteKey)
			}
		}
	})
}

// testRoutes are the routes the local stack serves: template.yaml's.
func testRoutes(t *testing.T) []route {
	t.Helper()
	fns, err := localstack.Functions()
	if err != nil {
		t.Fatal(err)
	}
	return templateRoutes(fns)
}

// TestRoutes_MatchTemplate keeps the local routes equal to template.yaml's
// HttpApi events, read here line by line, apart from the reader.
func TestRoutes_MatchTemplate(t *testing.T) {
	f, err := os.Open("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	var function, method string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.HasSuffix(trimmed, ":"):
			function = strings.TrimSuffix(trimmed, ":")
		case strings.HasPrefix(trimmed, "Method: "):
			method = strings.TrimPrefix(trimmed, "Method: ")
		case strings.HasPrefix(trimmed, "Path: ") && method != "":
			want = append(want, method+" "+strings.TrimPrefix(trimmed, "Path: ")+" "+function)
			method = ""
		}
	}
	var got []string
	for _, r := range testRoutes(t) {
		got = append(got, r.method+" "+r.path+" "+r.function)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got routes %v, want template.yaml's %v", got, want)
	}
}

func TestParseMail(t *testing.T) {
	raw := "From: no-reply@x.example.com\r\nTo: a@x.example.com, b@x.example.com\r\nSubject: =?utf-8?q?Deletion_request?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =3D there\r\n" +
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+SGk8L3A+\r\n--b1--\r\n"
	m := parseMail(raw)
	if m.From != "no-reply@x.example.com" || !slices.Equal(m.To, []string{"a@x.example.com", "b@x.example.com"}) ||
		m.Subject != "Deletion request" || strings.TrimSpace(m.Text) != "Hello = there" || m.HTML != "<p>Hi</p>" {
		t.Fatalf("got %+v", m)
	}
	_ = io.Discard
	_ = http.MethodGet
}
