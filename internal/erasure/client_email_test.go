package erasure_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

const adaEmail = "ada@example.com"

// withClientEmail gives client c1 an email on their profile.
func withClientEmail(f *fixture) {
	f.mem.AddClient(erasure.Client{PracticeID: practiceID, ID: clientID, FirstName: "Ada", LastName: "Lovelace",
		Email: adaEmail, PractitionerIDs: []string{"prac-b", "owner", "prac-a", "ghost"}, PortalUserID: "user-" + clientID})
}

// emailsTo splits what was sent into the client's emails and the others.
func emailsTo(f *fixture, addr string) (theirs, others []erasure.Email) {
	for _, e := range f.mailer.Emails() {
		if slices.Equal(e.To, []string{addr}) {
			theirs = append(theirs, e)
		} else {
			others = append(others, e)
		}
	}
	return theirs, others
}

func wantSubjects(t *testing.T, what string, got []erasure.Email, want ...string) {
	t.Helper()
	var subjects []string
	for _, e := range got {
		subjects = append(subjects, e.Subject)
	}
	if !slices.Equal(subjects, want) {
		t.Errorf("%s: got subjects %q, want %q", what, subjects, want)
	}
}

func wantInBoth(t *testing.T, e erasure.Email, wants ...string) {
	t.Helper()
	for _, part := range []struct{ name, body string }{{"Text", e.Text}, {"HTML", e.HTML}} {
		for _, want := range wants {
			if !strings.Contains(part.body, want) {
				t.Errorf("%q %s: got no %q in\n%s", e.Subject, part.name, want, part.body)
			}
		}
	}
}

func TestService_ClientEmails(t *testing.T) {
	ctx := context.Background()

	t.Run("OK/RequestedThenCompleted", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		mine, others := emailsTo(f, adaEmail)
		wantSubjects(t, "practitioners' emails", others, "Account deletion requested by Ada Lovelace")
		wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic")
		wantInBoth(t, mine[0], "Ada Lovelace", "Calm Clinic", "Monday 28 December 2026",
			"2 journal entries you created", "Cancel deletion", "My Profile", "at most 30 days", r.ID)

		done, err := f.svc.Purge(ctx, r.ID)
		if err != nil || done.Status != erasure.StatusCompleted {
			t.Fatalf("Purge: got %q, %v; want completed", done.Status, err)
		}
		mine, others = emailsTo(f, adaEmail)
		if len(others) != 1 {
			t.Errorf("practitioners' emails after the purge: got %d, want still 1", len(others))
		}
		wantSubjects(t, "client's emails", mine,
			"Your account deletion request with Calm Clinic", "Your account with Calm Clinic was deleted")
		receipt := f.stored(t, r.ID)
		clear := receipt.BackupsClearBy().UTC().Format("Monday 2 January 2006")
		wantInBoth(t, mine[1], "Ada Lovelace", "2 journal entries", "3 uploaded documents", "1 chat session",
			"6 chat messages", clear, receipt.CompletedAt.UTC().Format("Monday 2 January 2006"), r.ID,
			"signed erasure certificate (reference "+r.ID+")")
		wantKinds := []string{erasure.DeliveryClientCompleted, erasure.DeliveryClientRequested, erasure.DeliveryEvidenceCompleted,
			erasure.DeliveryPractitionersCompleted, erasure.DeliveryPractitionersRequested}
		if got := slices.Sorted(maps.Keys(receipt.Delivered)); !slices.Equal(got, wantKinds) || len(receipt.Owed) != 0 {
			t.Errorf("Delivered: got %v owing %v, want %v owing nothing", got, receipt.Owed, wantKinds)
		}

		// A repeated delivery sends nothing more.
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if got := len(f.mailer.Emails()); got != 3 {
			t.Errorf("emails after a repeated purge: got %d, want 3", got)
		}
	})

	t.Run("OK/Cancelled", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		if _, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID)); err != nil {
			t.Fatal(err)
		}
		mine, others := emailsTo(f, adaEmail)
		wantSubjects(t, "client's emails", mine,
			"Your account deletion request with Calm Clinic", "Your account deletion request with Calm Clinic was cancelled")
		wantInBoth(t, mine[1], "Ada Lovelace", "Nothing was deleted", "Monday 28 December 2026 at 12:00 UTC", r.ID)
		if len(others) != 1 {
			t.Errorf("practitioners' emails: got %d, want 1 (cancellations are in-portal notices)", len(others))
		}
		if got := f.stored(t, r.ID); got.DeliveredAt(erasure.DeliveryClientCancelled) == nil || len(got.Owed) != 0 {
			t.Errorf("Delivered: got %v owing %v, want %q among them, owing nothing", got.Delivered, got.Owed, erasure.DeliveryClientCancelled)
		}
	})

	t.Run("OK/NoEmailOnProfile", func(t *testing.T) {
		f := newFixture(t) // c1 has no email
		r, _ := requested(t, f)
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if got := len(f.mailer.Emails()); got != 1 {
			t.Errorf("emails: got %d, want only the practitioners' one", got)
		}
	})

	t.Run("ClientEmailFails/SweepSendsItOnce", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		toClient := func(e erasure.Email) bool { return slices.Contains(e.To, adaEmail) }
		f.mailer.FailWhen = toClient
		seedContent(f)
		f.setEnabled(t, true)
		r := f.request(t, clientActor(t, clientID))
		if r.Status != erasure.StatusScheduled {
			t.Fatalf("status: got %q, want scheduled whatever the email", r.Status)
		}
		if got := f.stored(t, r.ID); !slices.Equal(got.Owed, []string{erasure.DeliveryClientRequested}) {
			t.Errorf("Owed: got %v, want the client's email alone while it is unsent", got.Owed)
		}
		f.mailer.FailWhen = nil
		f.clock.Advance(time.Hour)
		if _, err := f.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		mine, others := emailsTo(f, adaEmail)
		wantSubjects(t, "practitioners' emails", others, "Account deletion requested by Ada Lovelace")
		wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic")
		if got := f.stored(t, r.ID); len(got.Owed) != 0 || got.DeliveredAt(erasure.DeliveryClientRequested) == nil {
			t.Errorf("after the sweep: owing %v, delivered %v; want nothing owed, the client's email delivered", got.Owed, got.Delivered)
		}
	})

	t.Run("CompletionEmailFails/RetrySendsIt", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		f.mailer.FailWhen = func(e erasure.Email) bool { return strings.Contains(e.Subject, "was deleted") }
		if _, err := f.svc.Purge(ctx, r.ID); err == nil {
			t.Fatal("Purge: got nil error with the receipt email failing, want an error so the delivery is retried")
		}
		if got := f.stored(t, r.ID); got.Status != erasure.StatusCompleted {
			t.Fatalf("status: got %q, want completed (the content is gone)", got.Status)
		}
		f.mailer.FailWhen = nil
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatalf("retry: got %v, want nil", err)
		}
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		mine, _ := emailsTo(f, adaEmail)
		wantSubjects(t, "client's emails", mine,
			"Your account deletion request with Calm Clinic", "Your account with Calm Clinic was deleted")
	})
}

func TestClientEmails_Escaped(t *testing.T) {
	c := erasure.Client{PracticeID: practiceID, ID: clientID, FirstName: "<script>alert(1)</script>", LastName: "O'Hara & Co", Email: adaEmail}
	p := erasure.Practice{ID: practiceID, Name: "Calm\r\nBcc: evil@example.com <b>Clinic</b>", OwnerID: "owner"}
	r := emailRequest()
	now := t0.Add(time.Hour)
	r.CancelledAt = &now
	done := r.PurgeAt
	r.CompletedAt, r.Deleted = &done, r.WillDelete
	for _, e := range []erasure.Email{
		erasure.ClientRequestedEmail(r, c, p),
		erasure.ClientCancelledEmail(r, c, p),
		erasure.ClientCompletedEmail(r, c, p),
	} {
		if !slices.Equal(e.To, []string{adaEmail}) {
			t.Errorf("%q: To %v, want the client's", e.Subject, e.To)
		}
		if strings.ContainsAny(e.Subject, "\r\n") {
			t.Errorf("subject %q: want no line breaks", e.Subject)
		}
		for _, raw := range []string{"<script", "<b>Clinic", "O'Hara & Co"} {
			if strings.Contains(e.HTML, raw) {
				t.Errorf("%q HTML: got raw %q, want it escaped", e.Subject, raw)
			}
		}
		for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "O&#39;Hara &amp; Co", "&lt;b&gt;Clinic&lt;/b&gt;"} {
			if !strings.Contains(e.HTML, want) {
				t.Errorf("%q HTML: got no %q", e.Subject, want)
			}
		}
		if !strings.Contains(e.Text, "<script>alert(1)</script>") {
			t.Errorf("%q Text: want the name as written (plain text needs no escaping)", e.Subject)
		}
	}
}
