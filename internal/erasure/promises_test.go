package erasure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Every email and notice the README promises is sent, once, whatever fails
// on the way: the request owes it until it is made, and the client's next
// call, the purge's retry or the sweep makes it.
func TestService_OwedDeliveries(t *testing.T) {
	ctx := context.Background()
	cancelledSubject := "Your account deletion request with Calm Clinic was cancelled"
	toClientCancelled := func(e erasure.Email) bool { return strings.Contains(e.Subject, "was cancelled") }

	t.Run("Cancellation/RepeatedDeleteRetriesIt", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		f.mailer.FailWhen = toClientCancelled
		got, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		if err != nil || got.Status != erasure.StatusCancelled {
			t.Fatalf("CancelDeletion: got %s, %v; want cancelled", got.Status, err)
		}
		if s := f.stored(t, r.ID); !s.Owes(erasure.DeliveryClientCancelled) || s.Owes(erasure.DeliveryPractitionersCancelled) {
			t.Errorf("after a failed email: owing %v, want the client's email alone", s.Owed)
		}
		// Still failing: the repeat answers with the cancelled request.
		got, err = f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		if err != nil || got.ID != r.ID || got.Status != erasure.StatusCancelled {
			t.Fatalf("repeated CancelDeletion: got %s %s, %v; want %s cancelled", got.ID, got.Status, err, r.ID)
		}
		f.mailer.FailWhen = nil
		for range 2 {
			if got, err = f.svc.CancelDeletion(ctx, clientActor(t, clientID)); err != nil || got.ID != r.ID {
				t.Fatalf("repeated CancelDeletion: got %s, %v; want %s", got.ID, err, r.ID)
			}
		}
		mine, _ := emailsTo(f, adaEmail)
		wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic", cancelledSubject)
		if n := len(f.notifications(erasure.NoticeDeletionCancelled)); n != len(c1Practitioners) {
			t.Errorf("cancellation notices: got %d, want %d", n, len(c1Practitioners))
		}
	})

	t.Run("Cancellation/SweepSendsIt", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		f.mailer.FailWhen = toClientCancelled
		if _, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		rep, err := f.svc.Sweep(ctx)
		if err == nil || rep.EmailsOwed != 1 {
			t.Errorf("Sweep with mail down: got %+v, %v; want an error and one request owing", rep, err)
		}
		f.mailer.FailWhen = nil
		for range 2 {
			f.clock.Advance(time.Hour)
			if rep, err := f.svc.Sweep(ctx); err != nil || rep.EmailsOwed != 0 {
				t.Fatalf("Sweep: got %+v, %v; want nothing owed", rep, err)
			}
		}
		mine, _ := emailsTo(f, adaEmail)
		wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic", cancelledSubject)
		if s := f.stored(t, r.ID); len(s.Owed) != 0 {
			t.Errorf("owing %v, want nothing", s.Owed)
		}
		// Finished and owing nothing: out of the sweep's index.
		var left []string
		if err := f.mem.OutstandingRequests(ctx, func(rs []erasure.Request) error {
			for _, x := range rs {
				left = append(left, x.ID)
			}
			return nil
		}); err != nil || len(left) != 0 {
			t.Errorf("outstanding: got %v, %v; want none", left, err)
		}
	})

	t.Run("Completion/FailsThroughEveryRetry/SweepSendsIt", func(t *testing.T) {
		f := newFixture(t)
		withClientEmail(f)
		r, _ := requested(t, f)
		f.mailer.FailWhen = func(e erasure.Email) bool { return strings.Contains(e.Subject, "was deleted") }
		for i := range 3 { // the delivery and Scheduler's retries
			if _, err := f.svc.Purge(ctx, r.ID); err == nil {
				t.Fatalf("Purge %d: got nil error with the receipt failing, want one", i)
			}
		}
		if s := f.stored(t, r.ID); s.Status != erasure.StatusCompleted || !s.Owes(erasure.DeliveryClientCompleted) {
			t.Fatalf("got %s owing %v, want completed owing the receipt", s.Status, s.Owed)
		}
		f.mailer.FailWhen = nil
		for range 2 {
			f.clock.Advance(time.Hour)
			if rep, err := f.svc.Sweep(ctx); err != nil || rep.EmailsOwed != 0 {
				t.Fatalf("Sweep: got %+v, %v; want nothing owed", rep, err)
			}
		}
		if _, err := f.svc.Purge(ctx, r.ID); err != nil { // a late delivery
			t.Fatal(err)
		}
		mine, _ := emailsTo(f, adaEmail)
		wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic", "Your account with Calm Clinic was deleted")
	})
}

// A request whose acceptance died between its record and its schedule was
// promised to no one: no one sees it, cancelling it tells no one, and the
// client's retry finishes it.
func TestService_HalfMadeRequest(t *testing.T) {
	ctx := context.Background()
	halfMade := func(t *testing.T) (*fixture, erasure.Request) {
		t.Helper()
		f := newFixture(t)
		withClientEmail(f)
		seedContent(f)
		f.setEnabled(t, true)
		// The POST's function dies after the record: the schedule fails
		// and so does the rollback.
		f.sched.FailNext = 1
		f.svc.Requests = &failRollback{f.mem}
		if _, _, err := f.svc.RequestDeletion(ctx, clientActor(t, clientID)); identity.ErrorCode(err) != identity.EUnavailable {
			t.Fatalf("RequestDeletion: got %v, want %s", err, identity.EUnavailable)
		}
		f.svc.Requests = f.mem
		r, err := f.mem.ActiveRequest(ctx, practiceID, clientID)
		if err != nil || r.Status != erasure.StatusAccepting {
			t.Fatalf("stored: got %s, %v; want a request still accepting", r.Status, err)
		}
		return f, r
	}

	t.Run("Invisible", func(t *testing.T) {
		f, r := halfMade(t)
		v, err := f.svc.Portal(ctx, clientActor(t, clientID))
		if err != nil || v.Request != nil {
			t.Errorf("Portal: got %+v, %v; want no request", v.Request, err)
		}
		list, _, err := f.svc.ListDeletionRequests(ctx, ownerActor(t), "", 50, "")
		if err != nil || len(list) != 0 {
			t.Errorf("ListDeletionRequests: got %d, %v; want none", len(list), err)
		}
		_, err = f.svc.GetDeletionRequest(ctx, ownerActor(t), r.ID)
		wantCode(t, err, identity.ENotFound)
		if n := len(f.mailer.Emails()) + len(f.mem.Notifications()); n != 0 {
			t.Errorf("emails and notices: got %d, want none", n)
		}
	})

	t.Run("CancelRollsBackSilently", func(t *testing.T) {
		f, r := halfMade(t)
		_, err := f.svc.CancelDeletion(ctx, clientActor(t, clientID))
		wantCode(t, err, identity.ENotFound)
		if _, err := f.mem.GetRequest(ctx, r.ID); err == nil {
			t.Errorf("GetRequest: the request is still there")
		}
		if n := len(f.mailer.Emails()) + len(f.mem.Notifications()); n != 0 {
			t.Errorf("emails and notices: got %d, want none", n)
		}
		// The client may ask afresh.
		if again := f.request(t, clientActor(t, clientID)); again.Status != erasure.StatusScheduled || again.ID == r.ID {
			t.Errorf("new request: got %s %s, want a new one scheduled", again.ID, again.Status)
		}
	})

	t.Run("RetryRepairs", func(t *testing.T) {
		f, r := halfMade(t)
		got := f.request(t, clientActor(t, clientID))
		if got.ID != r.ID || got.Status != erasure.StatusScheduled {
			t.Fatalf("retry: got %s %s, want %s scheduled", got.ID, got.Status, r.ID)
		}
		if _, ok := f.sched.Schedules[r.ScheduleName]; !ok {
			t.Errorf("schedules: no %s", r.ScheduleName)
		}
		list, _, err := f.svc.ListDeletionRequests(ctx, ownerActor(t), "", 50, "")
		if err != nil || len(list) != 1 {
			t.Errorf("ListDeletionRequests: got %d, %v; want 1", len(list), err)
		}
		mine, others := emailsTo(f, adaEmail)
		wantSubjects(t, "client's emails", mine, "Your account deletion request with Calm Clinic")
		wantSubjects(t, "practitioners' emails", others, "Account deletion requested by Ada Lovelace")
	})
}

// failRollback is the store of a function that dies before it can roll
// back a request whose schedule failed.
type failRollback struct{ erasure.RequestStore }

func (failRollback) DeleteAcceptingRequest(context.Context, erasure.Request) error {
	return errFunctionDied
}

var errFunctionDied = &identity.Error{Code: identity.EUnavailable, Message: "function died"}
