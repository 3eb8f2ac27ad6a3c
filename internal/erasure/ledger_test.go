package erasure_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// records returns the ledger's records, verified, by key.
func (f *fixture) records(t *testing.T) map[string]evidence.Record {
	t.Helper()
	rs, err := f.ledger.Records()
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	return rs
}

// A completed purge keeps one signed erasure record in the ledger, before
// anyone is told: ids, times, counts and the rule, and nothing of the
// client's content or identity.
func TestService_Purge_ErasureRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	withClientEmail(f)
	r, _ := requested(t, f)
	done, err := f.svc.Purge(ctx, r.ID)
	if err != nil || done.Status != erasure.StatusCompleted {
		t.Fatalf("Purge: got %s, %v; want completed", done.Status, err)
	}
	key := evidence.Key(r.ID, evidence.OutcomeCompleted)
	if got := f.ledger.Keys(); !slices.Equal(got, []string{key}) {
		t.Fatalf("ledger keys: got %v, want [%s]", got, key)
	}
	rec := f.records(t)[key]
	want := evidence.Record{
		Type: evidence.RecordType, Format: evidence.Format, Outcome: evidence.OutcomeCompleted,
		RequestID: r.ID, PracticeID: practiceID, ClientID: clientID, RuleVersion: erasure.RuleVersion,
		RequestedAt: r.RequestedAt.UTC(), PurgeStartedAt: done.PurgeStartedAt.UTC(), CompletedAt: ptrUTC(done.CompletedAt),
		Deleted:     evidence.Counts{JournalEntries: 2, Documents: 3, ChatSessions: 1, ChatMessages: 6},
		Invocations: 1, KeyID: f.ledger.KeyID, Algorithm: evidence.Algorithm,
	}
	if a, b := mustJSON(t, rec), mustJSON(t, want); a != b {
		t.Errorf("record:\n got %s\nwant %s", a, b)
	}
	c, err := f.ledger.Certificate(ctx, r.ID, evidence.OutcomeCompleted)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustJSON(t, c) + string(c.Record)
	for _, content := range []string{"Ada", "Lovelace", adaEmail, "Calm Clinic", "practices/", ".pdf", "owner@example.com", "prac-a"} {
		if strings.Contains(cert, content) {
			t.Errorf("the certificate holds %q: %s", content, cert)
		}
	}
	if s := f.stored(t, r.ID); s.DeliveredAt(erasure.DeliveryEvidenceCompleted) == nil || len(s.Owed) != 0 {
		t.Errorf("after the purge: delivered %v owing %v, want the record delivered and nothing owed", s.Delivered, s.Owed)
	}
	// A repeated delivery writes nothing: the record is delivered.
	if _, err := f.svc.Purge(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if f.ledger.Calls != 1 || f.ledger.Writes != 1 {
		t.Errorf("after a repeated purge: %d calls, %d writes; want 1 and 1", f.ledger.Calls, f.ledger.Writes)
	}
}

func ptrUTC(t *time.Time) *time.Time {
	u := t.UTC()
	return &u
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The ledger down when the purge ends: the invocation fails (so it is
// retried), nobody is told before the record is kept, and the retry, or
// the sweep once the retries are spent, keeps it once and then tells.
func TestService_Purge_ErasureRecordRetried(t *testing.T) {
	ctx := context.Background()
	for _, by := range []string{"Retry", "Sweep"} {
		t.Run(by, func(t *testing.T) {
			f := newFixture(t)
			withClientEmail(f)
			r, _ := requested(t, f)
			f.ledger.FailNext = 1
			if _, err := f.svc.Purge(ctx, r.ID); err == nil {
				t.Fatal("Purge with the ledger down: got no error, want one (so it is retried)")
			}
			s := f.stored(t, r.ID)
			if s.Status != erasure.StatusCompleted || !s.Owes(erasure.DeliveryEvidenceCompleted) || !s.Owes(erasure.DeliveryClientCompleted) {
				t.Fatalf("after it: got %s owing %v, want completed owing the record and the receipt", s.Status, s.Owed)
			}
			if n := len(f.notifications(erasure.NoticeDeletionCompleted)); n != 0 || len(f.ledger.Keys()) != 0 {
				t.Fatalf("after it: %d completion notices, ledger %v; want none before the record", n, f.ledger.Keys())
			}
			if by == "Retry" {
				if _, err := f.svc.Purge(ctx, r.ID); err != nil {
					t.Fatalf("retry: %v", err)
				}
			} else {
				f.clock.Advance(2 * time.Hour)
				if rep, err := f.svc.Sweep(ctx); err != nil || rep.EmailsOwed != 0 {
					t.Fatalf("Sweep: got %+v, %v; want nothing left owing", rep, err)
				}
			}
			if f.ledger.Writes != 1 || len(f.ledger.Keys()) != 1 {
				t.Errorf("ledger: %d writes, keys %v; want one record", f.ledger.Writes, f.ledger.Keys())
			}
			if s := f.stored(t, r.ID); len(s.Owed) != 0 {
				t.Errorf("owing %v, want nothing", s.Owed)
			}
			if n := len(f.notifications(erasure.NoticeDeletionCompleted)); n != len(c1Practitioners) {
				t.Errorf("completion notices: got %d, want %d", n, len(c1Practitioners))
			}
			mine, _ := emailsTo(f, adaEmail)
			wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic", "Your account with Calm Clinic was deleted")
		})
	}
	// The receipt fails after the record is kept: the retry sends the
	// receipt and leaves the ledger alone.
	t.Run("ReceiptAfterRecord", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		f.mailer.FailWhen = func(e erasure.Email) bool { return strings.Contains(e.Subject, "was deleted") }
		if _, err := f.svc.Purge(ctx, r.ID); err == nil {
			t.Fatal("Purge with the receipt failing: got no error, want one")
		}
		f.mailer.FailWhen = nil
		if _, err := f.svc.Purge(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if f.ledger.Calls != 1 || f.ledger.Writes != 1 {
			t.Errorf("ledger: %d calls, %d writes; want the record kept once, by the first invocation", f.ledger.Calls, f.ledger.Writes)
		}
	})
}

// A purge set aside keeps a needs_attention record, once however often it
// is set aside again, and the completed record once it completes.
func TestService_Purge_ErasureRecordNeedsAttention(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	seedContent(f)
	locked := "practices/p1/clients/c1/locked.pdf"
	f.mem.AddDocument(practiceID, clientID, "held", byClient, locked)
	f.objects.Put(locked)
	f.objects.Refuse[locked] = true
	f.setEnabled(t, true)
	r := f.request(t, clientActor(t, clientID))
	f.clock.Set(r.PurgeAt)
	got, err := f.svc.Purge(ctx, r.ID)
	if err != nil || got.Status != erasure.StatusNeedsAttention {
		t.Fatalf("Purge: got %s, %v; want needs_attention", got.Status, err)
	}
	aside := evidence.Key(r.ID, evidence.OutcomeNeedsAttention)
	rec, ok := f.records(t)[aside]
	if !ok || rec.UnresolvedObjects != 1 || rec.SetAsideAt == nil || !rec.SetAsideAt.Equal(*got.SetAsideAt) || rec.CompletedAt != nil ||
		rec.Deleted != (evidence.Counts{JournalEntries: 2, Documents: 3, ChatSessions: 1, ChatMessages: 6}) {
		t.Fatalf("needs_attention record: got %+v (%v), want one unresolved object, set aside at %v", rec, ok, got.SetAsideAt)
	}
	f.clock.Advance(25 * time.Hour)
	if _, err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.stored(t, r.ID); s.Status != erasure.StatusNeedsAttention || s.Invocations != 2 {
		t.Fatalf("retried: got %s after %d invocations, want needs_attention after 2", s.Status, s.Invocations)
	}
	if f.ledger.Writes != 1 || !slices.Equal(f.ledger.Keys(), []string{aside}) {
		t.Errorf("set aside again: %d writes, keys %v; want the first record alone", f.ledger.Writes, f.ledger.Keys())
	}
	if !f.records(t)[aside].SetAsideAt.Equal(*got.SetAsideAt) {
		t.Error("the needs_attention record changed when set aside again")
	}
	delete(f.objects.Refuse, locked)
	f.clock.Advance(25 * time.Hour)
	if _, err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	done := f.stored(t, r.ID)
	if done.Status != erasure.StatusCompleted {
		t.Fatalf("after the fix: got %s, want completed", done.Status)
	}
	rs := f.records(t)
	fin := rs[evidence.Key(r.ID, evidence.OutcomeCompleted)]
	if len(rs) != 2 || fin.Outcome != evidence.OutcomeCompleted || !fin.CompletedAt.Equal(*done.CompletedAt) || fin.Invocations != 3 ||
		fin.Deleted.Documents != 4 || fin.UnresolvedObjects != 0 {
		t.Errorf("completed record: got %d records, %+v; want the completed one with 4 documents after 3 invocations", len(rs), fin)
	}
}

// The practice's practitioners get a completed request's certificate; it
// verifies with the public key they are given. Anyone else learns nothing.
func TestService_ErasureCertificate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r, _ := requested(t, f)
	certs := erasure.NewCertificates(f.mem, f.mem, f.ledger, f.svc.opts())
	if _, err := certs.ErasureCertificate(ctx, ownerActor(t), r.ID); identity.ErrorCode(err) != identity.ECertificateNotReady {
		t.Errorf("before the purge: got %v, want %s", err, identity.ECertificateNotReady)
	}
	if _, err := f.svc.Purge(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	c, err := certs.ErasureCertificate(ctx, memberActor(t), r.ID)
	if err != nil {
		t.Fatalf("ErasureCertificate: %v", err)
	}
	pk, err := certs.PublicKey(ctx, memberActor(t))
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	key, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := evidence.Verify(c, &evidence.Trusted{KeyID: pk.KeyID, Key: key}); err != nil || rec.RequestID != r.ID {
		t.Errorf("Verify: got %+v, %v; want the request's record", rec, err)
	}

	other := mustActor(t, "owner", identity.RolePractitioner, "p2", "", identity.TeamOwner)
	f.mem.AddPractice(erasure.Practice{ID: "p2", Name: "Other", OwnerID: "owner"})
	f.mem.AddPractitioner("p2", erasure.Practitioner{ID: "owner", Name: "O"})
	for name, tc := range map[string]struct {
		a    identity.Actor
		id   string
		code string
	}{
		"AnotherPractice": {other, r.ID, identity.ENotFound},
		"Unknown":         {ownerActor(t), "req-404", identity.ENotFound},
		"NotAnID":         {ownerActor(t), "a#b", identity.ENotFound},
		"Client":          {clientActor(t, clientID), r.ID, identity.EForbidden},
		"NotAMember":      {mustActor(t, "ghost", identity.RolePractitioner, practiceID, "", identity.TeamMember), r.ID, identity.EForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := certs.ErasureCertificate(ctx, tc.a, tc.id)
			wantCode(t, err, tc.code)
		})
	}
	if _, err := certs.PublicKey(ctx, clientActor(t, clientID)); identity.ErrorCode(err) != identity.EForbidden {
		t.Errorf("PublicKey as a client: got %v, want forbidden", err)
	}
}
