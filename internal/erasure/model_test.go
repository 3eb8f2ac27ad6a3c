package erasure_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

func TestNewActor(t *testing.T) {
	const (
		pr = identity.RolePractitioner
		cl = identity.RoleClient
	)
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			name                    string
			sub, role, pid, cid, tr string
			want                    identity.Actor
		}{
			{"Owner", "owner", pr, "p1", "", identity.TeamOwner,
				identity.Actor{Subject: "owner", Role: pr, PracticeID: "p1", TeamRole: identity.TeamOwner}},
			{"Member", "prac-a", pr, "p1", "", identity.TeamMember,
				identity.Actor{Subject: "prac-a", Role: pr, PracticeID: "p1", TeamRole: identity.TeamMember}},
			// Claims that do not belong to the role are dropped.
			{"PractitionerDropsClientID", "prac-a", pr, "p1", "c1", identity.TeamMember,
				identity.Actor{Subject: "prac-a", Role: pr, PracticeID: "p1", TeamRole: identity.TeamMember}},
			{"Client", "user-c1", cl, "p1", "c1", "",
				identity.Actor{Subject: "user-c1", Role: cl, PracticeID: "p1", ClientID: "c1"}},
			{"ClientDropsTeamRole", "user-c1", cl, "p1", "c1", identity.TeamOwner,
				identity.Actor{Subject: "user-c1", Role: cl, PracticeID: "p1", ClientID: "c1"}},
			{"IDCharacters", "a.b_c:d@e-f", cl, "P-1", "c_1", "",
				identity.Actor{Subject: "a.b_c:d@e-f", Role: cl, PracticeID: "P-1", ClientID: "c_1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := identity.NewActor(tc.sub, tc.role, tc.pid, tc.cid, tc.tr)
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				if got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			})
		}
	})
	for _, tc := range []struct {
		name                    string
		sub, role, pid, cid, tr string
		code                    string
	}{
		{"ErrUnauthorized/NoSubject", "", cl, "p1", "c1", "", identity.EUnauthorized},
		{"ErrForbidden/BadRole", "u1", "admin", "p1", "c1", identity.TeamOwner, identity.EForbidden},
		{"ErrForbidden/NoRole", "u1", "", "p1", "c1", "", identity.EForbidden},
		{"ErrForbidden/PractitionerNoTeamRole", "owner", pr, "p1", "", "", identity.EForbidden},
		{"ErrForbidden/PractitionerBadTeamRole", "owner", pr, "p1", "", "admin", identity.EForbidden},
		{"ErrForbidden/ClientNoClientID", "user-c1", cl, "p1", "", "", identity.EForbidden},
		{"ErrForbidden/NoPractice", "user-c1", cl, "", "c1", "", identity.EForbidden},
		{"ErrForbidden/HashInSubject", "user#c1", cl, "p1", "c1", "", identity.EForbidden},
		{"ErrForbidden/HashInPractice", "user-c1", cl, "p1#CLIENT#c2", "c1", "", identity.EForbidden},
		{"ErrForbidden/HashInClient", "user-c1", cl, "p1", "c1#JOURNAL", "", identity.EForbidden},
		{"ErrForbidden/SpaceInClient", "user-c1", cl, "p1", "c 1", "", identity.EForbidden},
		{"ErrForbidden/LongSubject", strings.Repeat("u", 129), cl, "p1", "c1", "", identity.EForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := identity.NewActor(tc.sub, tc.role, tc.pid, tc.cid, tc.tr)
			if code := identity.ErrorCode(err); code != tc.code {
				t.Fatalf("code: got %q (%v), want %q", code, err, tc.code)
			}
			if got != (identity.Actor{}) {
				t.Errorf("actor: got %+v, want zero", got)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"c1", true},
		{"a.b_c:d@e-f", true},
		{strings.Repeat("x", 128), true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{"a#b", false},
		{"a/b", false},
		{"a b", false},
		{"é", false},
	} {
		if got := identity.ValidID(tc.in); got != tc.want {
			t.Errorf("ValidID(%q): got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestClient_DisplayName(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, last string
		want        string
	}{
		{"Both", "Ada", "Lovelace", "Ada Lovelace"},
		{"FirstOnly", "Ada", "", "Ada"},
		{"LastOnly", "", "Lovelace", "Lovelace"},
		{"None", "", "", "Client c1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := erasure.Client{ID: "c1", FirstName: tc.first, LastName: tc.last}
			if got := c.DisplayName(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCounts_Add(t *testing.T) {
	a := erasure.Counts{JournalEntries: 1, Documents: 2, ChatSessions: 3, ChatMessages: 4}
	b := erasure.Counts{JournalEntries: 10, Documents: 20, ChatSessions: 30, ChatMessages: 40}
	want := erasure.Counts{JournalEntries: 11, Documents: 22, ChatSessions: 33, ChatMessages: 44}
	if got := a.Add(b); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := a.Add(erasure.Counts{}); got != a {
		t.Errorf("add zero: got %+v, want %+v", got, a)
	}
}

func TestStatus_Pending(t *testing.T) {
	for _, tc := range []struct {
		s    erasure.Status
		want bool
	}{
		{erasure.StatusAccepting, true},
		{erasure.StatusScheduled, true},
		{erasure.StatusPurging, true},
		{erasure.StatusCompleted, false},
		{"", false},
	} {
		if got := tc.s.Pending(); got != tc.want {
			t.Errorf("%q.Pending(): got %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestRequest_BackupsClearBy(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		done := t0
		got := erasure.Request{CompletedAt: &done}.BackupsClearBy()
		if want := t0.Add(30 * 24 * time.Hour); got == nil || !got.Equal(want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("OK/NotCompleted", func(t *testing.T) {
		if got := (erasure.Request{}).BackupsClearBy(); got != nil {
			t.Errorf("got %v, want nil", got)
		}
	})
}

func TestScheduleName(t *testing.T) {
	if got, want := erasure.ScheduleName("req-001"), "rtbf-purge-req-001"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if erasure.ScheduleName("a") == erasure.ScheduleName("b") {
		t.Errorf("got the same name for two requests, want distinct")
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"Coded", identity.Errorf(identity.EForbidden, "no %s", "way"), identity.EForbidden, "no way"},
		{"Wrapped", fmtWrap(identity.Errorf(identity.EConflict, "busy")), identity.EConflict, "busy"},
		{"Internal", identity.ErrNotFound, "", "internal error"},
		{"Nil", nil, "", "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := identity.ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode: got %q, want %q", got, tc.code)
			}
			if got := identity.ErrorMessage(tc.err); got != tc.message {
				t.Errorf("ErrorMessage: got %q, want %q", got, tc.message)
			}
		})
	}
}

func fmtWrap(err error) error { return fmt.Errorf("outer: %w", err) }
