package export

import (
	"html"
	"io"
	"strings"
	"time"
)

// The HTML pages of an archive are written a piece at a time, as the
// content is read. Every piece of text from the client's file (titles,
// bodies, names, ids) goes through esc; the page's policy forbids scripts
// and anything loaded from elsewhere, should a browser ever be shown
// something unescaped.

const pageStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.1rem;margin:0 0 .25rem}
.meta{color:#616e7c;font-size:.85rem;margin:0 0 .5rem}
.entry,.message{border:1px solid #d9e2ec;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
.message.practitioner{background:#f0f4f8}
.body{white-space:pre-wrap;overflow-wrap:anywhere}
.empty{color:#616e7c;font-style:italic}`

// esc escapes text for HTML element content and attribute values.
func esc(s string) string { return html.EscapeString(s) }

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// pageWriter writes one page; it keeps the first write error.
type pageWriter struct {
	w   io.Writer
	err error
}

func (p *pageWriter) raw(parts ...string) {
	for _, s := range parts {
		if p.err != nil {
			return
		}
		_, p.err = io.WriteString(p.w, s)
	}
}

// head opens the page: title and subtitle are text, escaped here.
func (p *pageWriter) head(title, subtitle string) {
	p.raw(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>`, esc(title), `</title>
<style>`, pageStyle, `</style>
</head>
<body>
<h1>`, esc(title), `</h1>
<p class="meta">`, esc(subtitle), `</p>
`)
}

func (p *pageWriter) empty(text string) { p.raw(`<p class="empty">`, esc(text), "</p>\n") }

func (p *pageWriter) foot() { p.raw("</body>\n</html>\n") }

func authorLabel(a Author) string {
	switch a.Role {
	case "client":
		return "Client " + a.ID
	case "practitioner":
		return "Practitioner " + a.ID
	}
	return strings.TrimSpace(a.Role + " " + a.ID)
}

// journalEntry writes one journal entry.
func (p *pageWriter) journalEntry(e JournalEntry) {
	p.raw(`<article class="entry" id="entry-`, esc(e.ID), `">
<h2>`, esc(e.Title), `</h2>
<p class="meta">`, esc(when(e.CreatedAt)), ` · `, esc(authorLabel(e.Author)), `</p>
<div class="body">`, esc(e.Body), `</div>
</article>
`)
}

// message writes one chat message.
func (p *pageWriter) message(m ChatMessage) {
	role := "other"
	if m.Author.Role == "client" || m.Author.Role == "practitioner" {
		role = m.Author.Role
	}
	p.raw(`<div class="message `, role, `" id="message-`, esc(m.ID), `">
<p class="meta">`, esc(authorLabel(m.Author)), ` · `, esc(when(m.CreatedAt)), `</p>
<div class="body">`, esc(m.Body), `</div>
</div>
`)
}
