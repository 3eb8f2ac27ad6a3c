// Package identity holds what every part of the service shares about a
// call: who the caller is (Actor, built only from the verified token's
// claims, and the role checks on it), the rule for ids, and the coded
// errors (Error, its codes and the sentinels the ports return) that the API
// edge maps to statuses in one table.
package identity

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

// Roles and team roles as they appear in the verified token claims.
const (
	RolePractitioner = "practitioner"
	RoleClient       = "client"
	TeamOwner        = "owner"
	TeamMember       = "member"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,128}$`)

// ValidID reports whether s may be used as an identifier in storage keys:
// short, printable and free of the '#' key separator.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Actor is the caller, built only from the verified JWT claims.
type Actor struct {
	Subject    string // sub
	Role       string // practitioner | client
	PracticeID string
	ClientID   string // clients only
	TeamRole   string // practitioners only: owner | member
}

// NewActor validates claims into an Actor. A token without the claims its
// role needs is refused: identity never comes from anywhere else.
func NewActor(sub, role, practiceID, clientID, teamRole string) (Actor, error) {
	a := Actor{Subject: sub, Role: role, PracticeID: practiceID, ClientID: clientID, TeamRole: teamRole}
	if sub == "" {
		return Actor{}, Errorf(EUnauthorized, "the token carries no subject")
	}
	if !ValidID(sub) || !ValidID(practiceID) {
		return Actor{}, Errorf(EForbidden, "the token does not name a valid practice")
	}
	switch role {
	case RolePractitioner:
		if teamRole != TeamOwner && teamRole != TeamMember {
			return Actor{}, Errorf(EForbidden, "the token carries no valid team role")
		}
		a.ClientID = ""
	case RoleClient:
		if !ValidID(clientID) {
			return Actor{}, Errorf(EForbidden, "the token does not name a valid client")
		}
		a.TeamRole = ""
	default:
		return Actor{}, Errorf(EForbidden, "the token carries no valid role")
	}
	return a, nil
}

// NewRequestID returns a random, URL-safe request id.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequirePractitioner refuses anyone but a practitioner, by the token's
// role alone. The API edge calls it before reading a body or a query, so
// that a caller who may not use a route learns only that; the service then
// checks the practitioner against the practice's records.
func RequirePractitioner(a Actor) error {
	if a.Role != RolePractitioner {
		return Errorf(EForbidden, "only practitioners may do this")
	}
	return nil
}

// RequireClient refuses anyone but a client. The API edge calls it before
// reading a body, so that a caller who may not use a route learns only that.
func RequireClient(a Actor) error {
	if a.Role != RoleClient {
		return Errorf(EForbidden, "only clients may do this")
	}
	return nil
}

// RequireOwner refuses a token that does not claim the team owner's role.
// The claim only narrows: PutSetting still checks the practice's record,
// whose ownerId alone makes a caller the owner.
func RequireOwner(a Actor) error {
	if err := RequirePractitioner(a); err != nil {
		return err
	}
	if a.TeamRole != TeamOwner {
		return Errorf(EForbidden, "only the team owner may change this setting")
	}
	return nil
}
