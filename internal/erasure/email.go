package erasure

import (
	"fmt"
	"html"
	"strings"
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

// Kinds of email, as recorded on the request once sent (Request.EmailsSent),
// so that a retry sends each at most once more than it must.
const (
	EmailPractitionersRequested = "practitioners-requested"
	EmailClientRequested        = "client-requested"
	EmailClientCancelled        = "client-cancelled"
	EmailClientCompleted        = "client-completed"
)

const dateLayout = "Monday 2 January 2006"

// message builds an email's text and HTML parts side by side, so the two
// say the same thing. Every piece of text is escaped in the HTML part; the
// only markup is the builder's own. (No html/template: its reflection keeps
// every exported method of every linked type in the binary, several MB in a
// function that links the AWS SDK.)
type message struct {
	text, html strings.Builder
}

// span is a run of text in a paragraph; strong ones are emphasised in HTML.
type span struct {
	s      string
	strong bool
}

func plain(s string) span  { return span{s: s} }
func strong(s string) span { return span{s: s, strong: true} }

func newMessage(title string) *message {
	m := &message{}
	m.text.WriteString(title + "\n\n")
	m.html.WriteString("<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif;line-height:1.5\">\n")
	m.html.WriteString("<h1 style=\"font-size:20px\">" + html.EscapeString(title) + "</h1>\n")
	return m
}

func (m *message) para(spans ...span) {
	m.html.WriteString("<p>")
	for _, sp := range spans {
		m.text.WriteString(sp.s)
		if sp.strong {
			m.html.WriteString("<strong>" + html.EscapeString(sp.s) + "</strong>")
		} else {
			m.html.WriteString(html.EscapeString(sp.s))
		}
	}
	m.text.WriteString("\n\n")
	m.html.WriteString("</p>\n")
}

func (m *message) list(items []string) {
	m.html.WriteString("<ul>")
	for _, it := range items {
		m.text.WriteString("- " + it + "\n")
		m.html.WriteString("<li>" + html.EscapeString(it) + "</li>")
	}
	m.text.WriteString("\n")
	m.html.WriteString("</ul>\n")
}

// footer is small print: a reference, never content.
func (m *message) footer(s string) {
	m.text.WriteString(s + "\n")
	m.html.WriteString("<p style=\"color:#666;font-size:12px\">" + html.EscapeString(s) + "</p>\n")
}

func (m *message) email(to []string, subject string) Email {
	m.html.WriteString("</body></html>\n")
	return Email{To: to, Subject: subject, Text: m.text.String(), HTML: m.html.String()}
}

const backupsSentence = "We keep database backups for 30 days for security and disaster recovery. The data may persist in a backup for at most 30 days after the final deletion step, after which it is completely purged."

// willDeleteItems lists, for people, what the purge of r removes.
func willDeleteItems(c Counts, whose string) []string {
	return []string{
		plural(c.JournalEntries, "journal entry", "journal entries") + " " + whose + " created",
		plural(c.Documents, "document", "documents") + " " + whose + " uploaded through the Documents section (the files too)",
		plural(c.ChatSessions, "Secure Messenger chat session", "Secure Messenger chat sessions") + " with all their messages",
		plural(c.ChatMessages, "chat message", "chat messages") + " in all, including messages in group conversations",
	}
}

// RequestedEmail is the practitioners' email about a deletion request.
// Everything the client supplied (their name) is escaped in the HTML part
// and stripped of control characters in the subject.
func RequestedEmail(r Request, c Client, p Practice, to []string) Email {
	m := newMessage("Account deletion requested")
	m.para(strong(c.DisplayName()), plain(" asked on "+r.RequestedAt.UTC().Format(dateLayout+" at 15:04 UTC")+" to delete their account from the client portal."))
	m.para(plain("On "), strong(r.PurgeAt.UTC().Format(dateLayout)), plain(" we will permanently delete:"))
	m.list(willDeleteItems(r.WillDelete, "the client"))
	m.para(plain("All other data in the client's file stays in your practitioner records."))
	m.para(plain("Before then, you may want to "), strong("export the client's file"),
		plain(" for your records (open the client's file in the portal and choose Export): it keeps copies of the journal entries, chat messages and documents that will be removed. The export works until the deletion starts."))
	m.para(plain(backupsSentence))
	m.footer("Request reference: " + r.ID)
	return m.email(to, "Account deletion requested by "+headerSafe(c.DisplayName(), 80))
}

// ClientRequestedEmail confirms to the client that their request was
// accepted: what will be deleted and when, what stays, and how to cancel.
func ClientRequestedEmail(r Request, c Client, p Practice) Email {
	m := newMessage("We received your account deletion request")
	m.para(plain("Hello " + c.DisplayName() + ","))
	m.para(plain("On "+r.RequestedAt.UTC().Format(dateLayout+" at 15:04 UTC")+" you asked to delete your account from "), strong(p.Name), plain("'s client portal."))
	m.para(plain("On "), strong(r.PurgeAt.UTC().Format(dateLayout)), plain(" we will permanently delete:"))
	m.list(willDeleteItems(r.WillDelete, "you"))
	m.para(plain("The rest of your file (for example your practitioner's notes, appointments and invoices) stays with your practitioner as part of their professional records."))
	m.para(strong("Changed your mind?"), plain(" Sign in to the client portal before "+r.PurgeAt.UTC().Format(dateLayout)+" and choose Cancel deletion on My Profile. Nothing will be deleted."))
	m.para(plain(backupsSentence))
	m.footer("Request reference: " + r.ID)
	return m.email([]string{c.Email}, "Your account deletion request with "+headerSafe(p.Name, 80))
}

// ClientCancelledEmail confirms to the client that their request was
// withdrawn and nothing was deleted.
func ClientCancelledEmail(r Request, c Client, p Practice) Email {
	m := newMessage("Your account deletion request was cancelled")
	m.para(plain("Hello " + c.DisplayName() + ","))
	when := ""
	if r.CancelledAt != nil {
		when = " on " + r.CancelledAt.UTC().Format(dateLayout+" at 15:04 UTC")
	}
	m.para(plain("Your request to delete your account from "), strong(p.Name), plain("'s client portal was cancelled"+when+". Nothing was deleted, and your account stays as it is."))
	m.para(plain("You can ask again at any time from My Profile in the client portal."))
	m.footer("Request reference: " + r.ID)
	return m.email([]string{c.Email}, "Your account deletion request with "+headerSafe(p.Name, 80)+" was cancelled")
}

// ClientCompletedEmail tells the client that their content is gone: the
// receipt's counts and the date by which no backup holds it.
func ClientCompletedEmail(r Request, c Client, p Practice) Email {
	m := newMessage("Your account was deleted")
	m.para(plain("Hello " + c.DisplayName() + ","))
	done := ""
	if r.CompletedAt != nil {
		done = " on " + r.CompletedAt.UTC().Format(dateLayout)
	}
	m.para(plain("As you asked, we deleted your account from "), strong(p.Name), plain("'s client portal"+done+". We permanently deleted:"))
	m.list([]string{
		plural(r.Deleted.JournalEntries, "journal entry", "journal entries"),
		plural(r.Deleted.Documents, "uploaded document", "uploaded documents") + " (the files too)",
		plural(r.Deleted.ChatSessions, "chat session", "chat sessions"),
		plural(r.Deleted.ChatMessages, "chat message", "chat messages"),
	})
	if clear := r.BackupsClearBy(); clear != nil {
		m.para(plain("Our backups no longer hold any of it after "), strong(clear.UTC().Format(dateLayout)), plain("."))
	}
	m.para(plain("The rest of your file stays with your practitioner as part of their professional records. You can no longer sign in to the client portal."))
	m.footer("Request reference: " + r.ID)
	return m.email([]string{c.Email}, "Your account with "+headerSafe(p.Name, 80)+" was deleted")
}
