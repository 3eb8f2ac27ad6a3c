package main

import (
	"bytes"
	"embed"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// consoleFiles are the local console: plain HTML and JavaScript, no build
// step, calling the same API a portal would (see console/app.js).
//
//go:embed console
var consoleFiles embed.FS

// consoleCSP keeps the page to its own origin: no inline script, no
// third-party anything, not framable.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveConsole serves GET / (the console page) and GET /console/<asset>,
// and reports whether it did; anything else is left to the API's routing.
func serveConsole(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	var name string
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		name = "console/index.html"
	case strings.HasPrefix(p, "/console/"):
		name = path.Clean(strings.TrimPrefix(p, "/"))
		if !strings.HasPrefix(name, "console/") {
			return false
		}
	default:
		return false
	}
	b, err := consoleFiles.ReadFile(name)
	if err != nil {
		return false
	}
	h := w.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", consoleCSP)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return true
}
