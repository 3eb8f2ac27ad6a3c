package erasure_test

import (
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
		{"None", erasure.Counts{}, "no journal entries, no uploaded documents, no chat sessions and no chat messages"},
		{"One", erasure.Counts{JournalEntries: 1, Documents: 1, ChatSessions: 1, ChatMessages: 1},
			"1 journal entry, 1 uploaded document, 1 chat session and 1 chat message"},
		{"Plural", erasure.Counts{JournalEntries: 12, Documents: 2, ChatSessions: 0, ChatMessages: 3},
			"12 journal entries, 2 uploaded documents, no chat sessions and 3 chat messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := erasure.CountsInWords(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

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
				"no Secure Messenger chat sessions",
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
