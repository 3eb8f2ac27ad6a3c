//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/sesmail"
)

// clientEmails are the emails sent to one address, read back from the
// emulator's SES, in the order sent.
func clientEmails(t *testing.T, e *env, addr string) []emulatortest.SentEmail {
	t.Helper()
	var out []emulatortest.SentEmail
	for _, m := range emulatortest.SentEmails(t, e.st.Sender) {
		if slices.Equal(m.Destinations, []string{addr}) {
			out = append(out, m)
		}
	}
	return out
}

func wantEmail(t *testing.T, m emulatortest.SentEmail, subject string, inText ...string) (text, html string) {
	t.Helper()
	text, html, got := emulatortest.ParseEmail(t, m.RawData)
	if got != subject {
		t.Errorf("subject: got %q, want %q", got, subject)
	}
	for _, want := range inText {
		if !strings.Contains(text, want) {
			t.Errorf("%q: text part lacks %q:\n%s", subject, want, text)
		}
	}
	return text, html
}

// The three emails a client gets, through SES on the emulator: the
// request accepted, then either cancelled or completed.
func TestPurge_ClientEmails(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// The deletion-request side with the real SES adapter.
	e.accept.Mailer = sesmail.New(sesv2.NewFromConfig(emulatortest.Config(t, nil)), e.st.Sender)
	practice, err := e.store.GetPractice(ctx, e.practice.ID)
	if err != nil {
		t.Fatal(err)
	}
	const dateLayout = "Monday 2 January 2006"

	t.Run("RequestedThenCompleted", func(t *testing.T) {
		file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-gia", "Gia", "<Rossi> & Co", "")
		r, input := e.request(t, "cl-gia")
		sent := clientEmails(t, e, file.Email)
		if len(sent) != 1 {
			t.Fatalf("after the request: got %d emails to the client, want 1", len(sent))
		}
		_, html := wantEmail(t, sent[0], "Your account deletion request with "+practice.Name,
			"Gia <Rossi> & Co", r.PurgeAt.UTC().Format(dateLayout), "3 journal entries you created", "Cancel deletion", r.ID)
		if strings.Contains(html, "<Rossi>") || !strings.Contains(html, "Gia &lt;Rossi&gt; &amp; Co") {
			t.Errorf("html part does not hold the name escaped:\n%s", html)
		}

		done, err := e.h.Handle(ctx, input)
		if err != nil || done.Status != erasure.StatusCompleted {
			t.Fatalf("purge: got %+v %v, want completed", done, err)
		}
		receipt, err := e.store.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		sent = clientEmails(t, e, file.Email)
		if len(sent) != 2 {
			t.Fatalf("after the purge: got %d emails to the client, want 2", len(sent))
		}
		d := receipt.Deleted
		wantEmail(t, sent[1], "Your account with "+practice.Name+" was deleted",
			plural(d.JournalEntries, "journal entry", "journal entries"),
			plural(d.Documents, "uploaded document", "uploaded documents"),
			plural(d.ChatSessions, "chat session", "chat sessions"),
			plural(d.ChatMessages, "chat message", "chat messages"),
			receipt.CompletedAt.UTC().Format(dateLayout), receipt.BackupsClearBy().UTC().Format(dateLayout), r.ID)
		if d != file.Counts {
			t.Errorf("receipt counts %+v, want the seeded %+v", d, file.Counts)
		}

		// A repeated delivery sends nothing more.
		if _, err := e.h.Handle(ctx, input); err != nil {
			t.Fatal(err)
		}
		if n := len(clientEmails(t, e, file.Email)); n != 2 {
			t.Errorf("after a repeated delivery: got %d emails to the client, want 2", n)
		}
	})

	t.Run("RequestedThenCancelled", func(t *testing.T) {
		file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-hal", "Hal", "Berg", "")
		r, _ := e.request(t, "cl-hal")
		actor, _ := identity.NewActor("cl-hal-sub", identity.RoleClient, e.practice.ID, "cl-hal", "")
		got, err := e.accept.CancelDeletion(ctx, actor)
		if err != nil || got.CancelledAt == nil {
			t.Fatalf("cancel: got %+v %v", got, err)
		}
		sent := clientEmails(t, e, file.Email)
		if len(sent) != 2 {
			t.Fatalf("got %d emails to the client, want 2 (accepted, cancelled)", len(sent))
		}
		wantEmail(t, sent[1], "Your account deletion request with "+practice.Name+" was cancelled",
			"Hal Berg", "Nothing was deleted", got.CancelledAt.UTC().Format(dateLayout), r.ID)
	})
}

// TestPurge_ReceiptOutage: SES fails the client's receipt through the
// purge invocation and every retry (each fails, so Scheduler retries it);
// once SES is back the hourly sweep sends it, once.
func TestPurge_ReceiptOutage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	file := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ida", "Ida", "Holm", "")
	r, input := e.request(t, "cl-ida")
	e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.Path("/outbound-emails"))
	for i := range 3 {
		if _, err := e.h.Handle(ctx, input); err == nil {
			t.Fatalf("delivery %d: got no error with the receipt failing, want one so Scheduler retries", i)
		}
	}
	mid, err := e.store.GetRequest(ctx, r.ID)
	if err != nil || mid.Status != erasure.StatusCompleted || !mid.Owes(erasure.DeliveryClientCompleted) {
		t.Fatalf("after the outage: got %+v, %v; want completed, owing the receipt", mid, err)
	}
	e.faults.Clear()
	for range 2 {
		if _, err := e.h.Handle(ctx, json.RawMessage(`{"sweep":true}`)); err != nil {
			t.Fatalf("sweep: %v", err)
		}
	}
	receipts := 0
	for _, m := range clientEmails(t, e, file.Email) {
		if strings.Contains(m.RawData, "was deleted") {
			receipts++
		}
	}
	if receipts != 1 {
		t.Errorf("receipts: got %d, want 1", receipts)
	}
	if got, err := e.store.GetRequest(ctx, r.ID); err != nil || len(got.Owed) != 0 {
		t.Errorf("after the sweep: got %+v, %v; want nothing owed", got, err)
	}
}

// plural is a count's line as the receipt says it; a zero count has no
// line ("" is in every email).
func plural(n int, one, many string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
