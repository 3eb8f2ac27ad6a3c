package main

import (
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsole_Served checks the gateway serves the embedded console at / and
// its assets, with a same-origin CSP, and still answers 404 JSON elsewhere.
func TestConsole_Served(t *testing.T) {
	is, err := newIssuer("http://127.0.0.1:1/_local/issuer", "rtbf-local")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{routes: testRoutes(t), functions: map[string]invoker{}, auth: is, log: slog.New(slog.DiscardHandler), now: time.Now}
	get := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}

	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html", "Right To Be Forgotten"},
		{"/console/app.js", "javascript", "/v1/portal/account-deletion"},
		{"/console/style.css", "text/css", "body"},
	} {
		w := get("GET", c.path)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), c.ctype) || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("GET %s: got %d %q, want 200 %s containing %q", c.path, w.Code, w.Header().Get("Content-Type"), c.ctype, c.contains)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: got CSP %q, want script-src 'self'", c.path, csp)
		}
	}
	for _, c := range [][2]string{{"POST", "/"}, {"GET", "/console/nope.js"}, {"GET", "/console/../go.mod"}, {"GET", "/other"}} {
		w := get(c[0], c[1])
		if w.Code != 404 || strings.TrimSpace(w.Body.String()) != `{"message":"Not Found"}` {
			t.Errorf("%s %s: got %d %s, want API Gateway's 404 {\"message\":\"Not Found\"}", c[0], c[1], w.Code, w.Body)
		}
	}
}

// TestConsole_NoInnerHTML keeps the console's rendering to textContent:
// nothing it shows from the API can become markup.
func TestConsole_NoInnerHTML(t *testing.T) {
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	err := fs.WalkDir(consoleFiles, "console", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := consoleFiles.ReadFile(p)
		if err != nil {
			return err
		}
		if m := bad.Find(b); m != nil {
			t.Errorf("%s uses %s; render with textContent", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
