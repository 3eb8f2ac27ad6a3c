package erasure

import (
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"
)

// CountsInWords says what a purge removes, for people, naming only what
// there is: "12 journal entries, 1 uploaded document and 3 chat messages";
// "no journal entries, uploaded documents, chat sessions or chat
// messages" when there is nothing.
func CountsInWords(c Counts) string {
	var parts []string
	for _, p := range []struct {
		n         int
		one, many string
	}{
		{c.JournalEntries, "journal entry", "journal entries"},
		{c.Documents, "uploaded document", "uploaded documents"},
		{c.ChatSessions, "chat session", "chat sessions"},
		{c.ChatMessages, "chat message", "chat messages"},
	} {
		if p.n != 0 {
			parts = append(parts, plural(p.n, p.one, p.many))
		}
	}
	switch len(parts) {
	case 0:
		return "no journal entries, uploaded documents, chat sessions or chat messages"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
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

const dateLayout = "Monday 2 January 2006"

// The emails' parts are templates: email.txt.tmpl for the text,
// email.html.tmpl for the HTML, where html/template escapes every value
// (the client's and the practice's names) for where it stands. Only the
// subject is built here, from headerSafe names.
var (
	//go:embed email.txt.tmpl
	emailText string
	//go:embed email.html.tmpl
	emailHTML string
)

// emailFuncs are the templates' functions: counts in words (a list leaves
// out each count that is zero, and says "nothing" when all are), and dates
// in UTC.
var emailFuncs = map[string]any{
	"plural":   plural,
	"nothing":  func(c Counts) bool { return c == Counts{} },
	"date":     func(t time.Time) string { return t.UTC().Format(dateLayout) },
	"dateTime": func(t time.Time) string { return t.UTC().Format(dateLayout + " at 15:04 UTC") },
}

// emailTemplates parses the templates on first use: the functions that
// send no email do not pay for it at start.
var emailTemplates = sync.OnceValues(func() (*texttemplate.Template, *htmltemplate.Template) {
	return texttemplate.Must(texttemplate.New("text").Funcs(emailFuncs).Parse(emailText)),
		htmltemplate.Must(htmltemplate.New("html").Funcs(emailFuncs).Parse(emailHTML))
})

// emailData is what the templates read.
type emailData struct {
	Request  Request
	Client   string // the client's display name
	Practice string // the practice's name
	Whose    string // who created what the request deletes: "the client" or "you"
}

// render executes the templates named name on d. The templates are fixed
// and the tests execute every one of them, so an error is a defect in
// them: it panics rather than send a broken email.
func render(name string, d emailData, to []string, subject string) Email {
	text, html := emailTemplates()
	var t, h strings.Builder
	if err := text.ExecuteTemplate(&t, name, d); err != nil {
		panic(fmt.Sprintf("email %s, text part: %v", name, err))
	}
	if err := html.ExecuteTemplate(&h, name, d); err != nil {
		panic(fmt.Sprintf("email %s, HTML part: %v", name, err))
	}
	return Email{To: to, Subject: subject, Text: t.String(), HTML: h.String()}
}

// RequestedEmail is the practitioners' email about a deletion request.
// Everything the client supplied (their name) is escaped in the HTML part
// and stripped of control characters in the subject.
func RequestedEmail(r Request, c Client, p Practice, to []string) Email {
	d := emailData{Request: r, Client: c.DisplayName(), Practice: p.Name, Whose: "the client"}
	return render("requested", d, to, "Account deletion requested by "+headerSafe(c.DisplayName(), 80))
}

// ClientRequestedEmail confirms to the client that their request was
// accepted: what will be deleted and when, what stays, and how to cancel.
func ClientRequestedEmail(r Request, c Client, p Practice) Email {
	d := emailData{Request: r, Client: c.DisplayName(), Practice: p.Name, Whose: "you"}
	return render("clientRequested", d, []string{c.Email}, "Your account deletion request with "+headerSafe(p.Name, 80))
}

// ClientCancelledEmail confirms to the client that their request was
// withdrawn and nothing was deleted.
func ClientCancelledEmail(r Request, c Client, p Practice) Email {
	d := emailData{Request: r, Client: c.DisplayName(), Practice: p.Name}
	return render("clientCancelled", d, []string{c.Email}, "Your account deletion request with "+headerSafe(p.Name, 80)+" was cancelled")
}

// ClientCompletedEmail tells the client that their content is gone: the
// receipt's counts and the date by which no backup holds it.
func ClientCompletedEmail(r Request, c Client, p Practice) Email {
	d := emailData{Request: r, Client: c.DisplayName(), Practice: p.Name}
	return render("clientCompleted", d, []string{c.Email}, "Your account with "+headerSafe(p.Name, 80)+" was deleted")
}
