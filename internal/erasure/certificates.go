package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ErasureCertificate returns the signed erasure certificate of one of the
// practice's requests, whose purge completed. A request that is not the
// practice's (unknown, another practice's, or still accepting) is not
// found, as for GetDeletionRequest; one of the practice's whose purge has
// not completed, or whose record was not delivered to the ledger (still
// owed, or a purge completed before the ledger existed), is
// certificate_not_ready. The request's delivery record says whether the
// ledger holds it, so no read of the ledger looks for what is not there.
func (s *Certificates) ErasureCertificate(ctx context.Context, a identity.Actor, id string) (evidence.Certificate, error) {
	if err := identity.RequirePractitioner(a); err != nil {
		return evidence.Certificate{}, err
	}
	if !identity.ValidID(id) {
		return evidence.Certificate{}, identity.Errorf(identity.ENotFound, "no such deletion request")
	}
	if _, err := member(ctx, s.roster, a); err != nil {
		return evidence.Certificate{}, err
	}
	r, err := s.requests.GetRequest(ctx, id)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (r.PracticeID != a.PracticeID || r.Status == StatusAccepting)) {
		return evidence.Certificate{}, identity.Errorf(identity.ENotFound, "no such deletion request")
	}
	if err != nil {
		return evidence.Certificate{}, fmt.Errorf("get request: %w", err)
	}
	notReady := identity.Errorf(identity.ECertificateNotReady, "the deletion request has no erasure certificate yet: it is issued once the purge completes")
	if r.Status != StatusCompleted || r.DeliveredAt(DeliveryEvidenceCompleted) == nil {
		return evidence.Certificate{}, notReady
	}
	c, err := s.certificates.Certificate(ctx, r.ID, evidence.OutcomeCompleted)
	if errors.Is(err, identity.ErrNotFound) {
		return evidence.Certificate{}, notReady
	}
	if err != nil {
		return evidence.Certificate{}, fmt.Errorf("read certificate: %w", err)
	}
	return c, nil
}

// PublicKey returns the key that signs the erasure certificates, for any
// practitioner of the practice (it is public: the stack publishes it, and
// every certificate carries it).
func (s *Certificates) PublicKey(ctx context.Context, a identity.Actor) (evidence.PublicKey, error) {
	if _, err := member(ctx, s.roster, a); err != nil {
		return evidence.PublicKey{}, err
	}
	k, err := s.certificates.PublicKey(ctx)
	if err != nil {
		return evidence.PublicKey{}, fmt.Errorf("public key: %w", err)
	}
	return k, nil
}
