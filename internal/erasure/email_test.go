package erasure_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

func TestCountsInWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   erasure.Counts
		want string
	}{
		{"None", erasure.Counts{}, "no journal entries, uploaded documents, chat sessions or chat messages"},
		{"One", erasure.Counts{JournalEntries: 1, Documents: 1, ChatSessions: 1, ChatMessages: 1},
			"1 journal entry, 1 uploaded document, 1 chat session and 1 chat message"},
		// A count that is zero is left out.
		{"Plural", erasure.Counts{JournalEntries: 12, Documents: 2, ChatSessions: 0, ChatMessages: 3},
			"12 journal entries, 2 uploaded documents and 3 chat messages"},
		{"Two", erasure.Counts{ChatSessions: 1, ChatMessages: 4}, "1 chat session and 4 chat messages"},
		{"OnlyOne", erasure.Counts{Documents: 2}, "2 uploaded documents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := erasure.CountsInWords(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// zeroCount finds a count of 0 in an email ("0 documents").
var zeroCount = regexp.MustCompile(`\b0 (journal|document|uploaded|chat|Secure)`)

func emailRequest() erasure.Request {
	return erasure.Request{
		ID:          "req-001",
		PracticeID:  practiceID,
		ClientID:    clientID,
		Status:      erasure.StatusScheduled,
		RequestedAt: t0,
		PurgeAt:     t0.Add(erasure.DefaultPurgeDelay),
		WillDelete:  erasure.Counts{JournalEntries: 12, Documents: 1, ChatSessions: 0, ChatMessages: 3},
	}
}

var emailPractice = erasure.Practice{ID: practiceID, Name: "Calm Clinic", OwnerID: "owner"}

func TestRequestedEmail(t *testing.T) {
	to := []string{"owner@example.com", "a@example.com"}

	t.Run("OK", func(t *testing.T) {
		c := erasure.Client{PracticeID: practiceID, ID: clientID, FirstName: "Ada", LastName: "Lovelace"}
		e := erasure.RequestedEmail(emailRequest(), c, emailPractice, to)
		if strings.Join(e.To, ",") != strings.Join(to, ",") {
			t.Errorf("To: got %v, want %v", e.To, to)
		}
		if want := "Account deletion requested by Ada Lovelace"; e.Subject != want {
			t.Errorf("Subject: got %q, want %q", e.Subject, want)
		}
		for _, part := range []struct{ name, body string }{{"Text", e.Text}, {"HTML", e.HTML}} {
			for _, want := range []string{
				"Ada Lovelace",
				"Saturday 28 November 2026 at 12:00 UTC", // requested
				"Monday 28 December 2026",                // purge date
				"12 journal entries the client created",
				"1 document the client uploaded",
				"3 chat messages",
				"export the client", // HTML wraps the phrase in <strong>
				"database backups for 30 days",
				"at most 30 days after the final deletion step",
				"req-001",
			} {
				if !strings.Contains(part.body, want) {
					t.Errorf("%s: got no %q in\n%s", part.name, want, part.body)
				}
			}
		}
	})

	// No chat session: its line is left out rather than read "no Secure
	// Messenger chat sessions with all their messages".
	t.Run("OK/ZeroCountLeftOut", func(t *testing.T) {
		e := erasure.RequestedEmail(emailRequest(), erasure.Client{ID: clientID, FirstName: "Ada"}, emailPractice, to)
		for _, part := range []struct{ name, body string }{{"Text", e.Text}, {"HTML", e.HTML}} {
			for _, bad := range []string{"chat session", "no Secure", "no chat"} {
				if strings.Contains(part.body, bad) {
					t.Errorf("%s: got %q in\n%s", part.name, bad, part.body)
				}
			}
			if zeroCount.MatchString(part.body) {
				t.Errorf("%s: got a count of 0 in\n%s", part.name, part.body)
			}
		}
	})

	t.Run("OK/EscapesHTML", func(t *testing.T) {
		c := erasure.Client{ID: clientID, FirstName: "<script>alert(1)</script>", LastName: "<b>Bold</b>"}
		e := erasure.RequestedEmail(emailRequest(), c, emailPractice, to)
		for _, raw := range []string{"<script", "</script>", "<b>Bold"} {
			if strings.Contains(e.HTML, raw) {
				t.Errorf("HTML: got raw %q, want it escaped", raw)
			}
		}
		if want := "&lt;script&gt;alert(1)&lt;/script&gt;"; !strings.Contains(e.HTML, want) {
			t.Errorf("HTML: got no %q in\n%s", want, e.HTML)
		}
	})

	t.Run("OK/HeaderSafeSubject", func(t *testing.T) {
		long := strings.Repeat("x", 200)
		for _, tc := range []struct {
			name      string
			first     string
			last      string
			want      string
			wantRunes int // bound on the name's part of the subject; 0 to skip
		}{
			{"CRLF", "Eve\r\nBcc: evil@example.com", "", "Account deletion requested by EveBcc: evil@example.com", 0},
			{"LF", "Eve", "\nBcc: evil@example.com", "Account deletion requested by Eve Bcc: evil@example.com", 0},
			{"Tabs", "Eve\t\t", "\x00Smith\x7f", "Account deletion requested by Eve Smith", 0},
			{"Long", long, "", "", 81},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := erasure.Client{ID: clientID, FirstName: tc.first, LastName: tc.last}
				e := erasure.RequestedEmail(emailRequest(), c, emailPractice, to)
				if strings.ContainsAny(e.Subject, "\r\n\x00") {
					t.Fatalf("Subject: got %q, want no CR, LF or NUL", e.Subject)
				}
				if tc.want != "" && e.Subject != tc.want {
					t.Errorf("Subject: got %q, want %q", e.Subject, tc.want)
				}
				if tc.wantRunes > 0 {
					name := strings.TrimPrefix(e.Subject, "Account deletion requested by ")
					if n := len([]rune(name)); n > tc.wantRunes {
						t.Errorf("name in subject: got %d runes, want at most %d", n, tc.wantRunes)
					}
				}
			})
		}
	})

	t.Run("OK/UTC", func(t *testing.T) {
		r := emailRequest()
		paris := time.FixedZone("CET", 3600)
		r.RequestedAt, r.PurgeAt = r.RequestedAt.In(paris), r.PurgeAt.In(paris)
		e := erasure.RequestedEmail(r, erasure.Client{ID: clientID}, emailPractice, to)
		for _, want := range []string{"Saturday 28 November 2026 at 12:00 UTC", "Monday 28 December 2026", "Client c1"} {
			if !strings.Contains(e.Text, want) {
				t.Errorf("Text: got no %q", want)
			}
		}
	})
}

// A request of a client who created nothing: one line says so, in every
// email that lists counts, and no line reads "no documents ... (the files
// too)".
func TestEmails_NothingToDelete(t *testing.T) {
	c := erasure.Client{PracticeID: practiceID, ID: clientID, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}
	r := emailRequest()
	r.WillDelete = erasure.Counts{}
	done := t0.Add(erasure.DefaultPurgeDelay)
	completed := r
	completed.Status, completed.CompletedAt, completed.Deleted = erasure.StatusCompleted, &done, erasure.Counts{}
	for _, tc := range []struct {
		name string
		e    erasure.Email
		want string
	}{
		{"Requested", erasure.RequestedEmail(r, c, emailPractice, []string{"owner@example.com"}),
			"nothing: the client created no journal entries, documents or chat messages"},
		{"ClientRequested", erasure.ClientRequestedEmail(r, c, emailPractice),
			"nothing: you created no journal entries, documents or chat messages"},
		{"ClientCompleted", erasure.ClientCompletedEmail(completed, c, emailPractice),
			"nothing: you had created no journal entries, documents or chat messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, part := range []struct{ name, body string }{{"Text", tc.e.Text}, {"HTML", tc.e.HTML}} {
				if n := strings.Count(part.body, tc.want); n != 1 {
					t.Errorf("%s: got %q %d times, want once, in\n%s", part.name, tc.want, n, part.body)
				}
				for _, bad := range []string{"no documents", "no journal entries the", "(the files too)"} {
					if strings.Contains(part.body, bad) {
						t.Errorf("%s: got %q in\n%s", part.name, bad, part.body)
					}
				}
				if zeroCount.MatchString(part.body) {
					t.Errorf("%s: got a count of 0 in\n%s", part.name, part.body)
				}
			}
		})
	}
}
