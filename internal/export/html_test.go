package export

import (
	"strings"
	"testing"
	"time"
)

const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)> & 'q' </div></body>`

func TestPage_EscapesEverything(t *testing.T) {
	var b strings.Builder
	p := &pageWriter{w: &b}
	p.head(hostile, hostile)
	p.journalEntry(JournalEntry{ID: hostile, Author: Author{Role: "client", ID: hostile}, CreatedAt: time.Now(), Title: hostile, Body: hostile})
	p.message(ChatMessage{ID: hostile, Author: Author{Role: hostile, ID: hostile}, Body: hostile})
	p.message(ChatMessage{ID: "m", Author: Author{Role: "practitioner", ID: "p"}, Body: "line1\nline2"})
	p.empty(hostile)
	p.foot()
	if p.err != nil {
		t.Fatal(p.err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "<img", "onerror=alert(1)>", `"x"`, "'q'", "</div></body>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&amp;", "&#39;q&#39;", "line1\nline2",
		`content="default-src 'none'; style-src 'unsafe-inline'"`, `class="message practitioner"`, `class="message other"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(page, "</body>") != 1 || !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("page is not one document:\n%s", page)
	}
}
