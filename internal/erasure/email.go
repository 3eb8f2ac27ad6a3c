package erasure

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"unicode"
)

// CountsInWords says what a purge removes, for people: "12 journal entries,
// 1 document, no chat sessions and 3 chat messages".
func CountsInWords(c Counts) string {
	parts := []string{
		plural(c.JournalEntries, "journal entry", "journal entries"),
		plural(c.Documents, "uploaded document", "uploaded documents"),
		plural(c.ChatSessions, "chat session", "chat sessions"),
		plural(c.ChatMessages, "chat message", "chat messages"),
	}
	return strings.Join(parts[:3], ", ") + " and " + parts[3]
}

func plural(n int, one, many string) string {
	switch n {
	case 0:
		return "no " + many
	case 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// headerSafe makes client-supplied text fit for a header: no control
// characters (so no line breaks to inject headers with), bounded length.
func headerSafe(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

type requestedEmailData struct {
	Practice    string
	Client      string
	RequestedAt string
	PurgeAt     string
	Items       []string
	RequestID   string
}

const dateLayout = "Monday 2 January 2006"

// RequestedEmail is the practitioners' email about a deletion request.
// Everything the client supplied (their name) is escaped in the HTML part
// and stripped of control characters in the subject.
func RequestedEmail(r Request, c Client, p Practice, to []string) Email {
	d := requestedEmailData{
		Practice:    p.Name,
		Client:      c.DisplayName(),
		RequestedAt: r.RequestedAt.UTC().Format(dateLayout + " at 15:04 UTC"),
		PurgeAt:     r.PurgeAt.UTC().Format(dateLayout),
		Items: []string{
			plural(r.WillDelete.JournalEntries, "journal entry", "journal entries") + " the client created",
			plural(r.WillDelete.Documents, "document", "documents") + " the client uploaded through their Documents section (the files too)",
			plural(r.WillDelete.ChatSessions, "Secure Messenger chat session", "Secure Messenger chat sessions") + " with all their messages",
			plural(r.WillDelete.ChatMessages, "chat message", "chat messages") + " in all, including the client's messages in group conversations",
		},
		RequestID: r.ID,
	}
	var text, html bytes.Buffer
	if err := textEmail.Execute(&text, d); err != nil {
		panic(err) // the template and its data are ours: a failure is a bug
	}
	if err := htmlEmail.Execute(&html, d); err != nil {
		panic(err)
	}
	return Email{
		To:      to,
		Subject: "Account deletion requested by " + headerSafe(c.DisplayName(), 80),
		Text:    text.String(),
		HTML:    html.String(),
	}
}

var textEmail = texttemplate.Must(texttemplate.New("text").Parse(`Account deletion requested

{{.Client}} asked on {{.RequestedAt}} to delete their account from the client portal.

On {{.PurgeAt}} we will permanently delete:
{{range .Items}}- {{.}}
{{end}}
All other data in the client's file stays in your practitioner records.

Before then, you may want to export the client's file for your records: it keeps copies of the journal entries, chat messages and documents that will be removed.

We keep database backups for 30 days for security and disaster recovery. The client's data may persist in a backup for at most 30 days after the final deletion step, after which it is completely purged.

Request reference: {{.RequestID}}
`))

var htmlEmail = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif;line-height:1.5">
<h1 style="font-size:20px">Account deletion requested</h1>
<p><strong>{{.Client}}</strong> asked on {{.RequestedAt}} to delete their account from the client portal.</p>
<p>On <strong>{{.PurgeAt}}</strong> we will permanently delete:</p>
<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>
<p>All other data in the client's file stays in your practitioner records.</p>
<p>Before then, you may want to <strong>export the client's file</strong> for your records: it keeps copies of the journal entries, chat messages and documents that will be removed.</p>
<p>We keep database backups for 30 days for security and disaster recovery. The client's data may persist in a backup for at most 30 days after the final deletion step, after which it is completely purged.</p>
<p style="color:#666;font-size:12px">Request reference: {{.RequestID}}</p>
</body></html>
`))
