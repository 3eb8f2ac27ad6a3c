package erasure

import (
	"context"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

// RuleVersion names the rule that decides what a purge deletes (createdBy,
// direct, InClientFolder, the phase walk of walk.go): every erasure record
// carries it, so that whoever reads the ledger later (an auditor, a replay
// after a restore) knows which rule made it. Change it whenever the rule
// changes what it deletes.
const RuleVersion = "2026-12-01"

// Ledger is the evidence ledger, kept outside the table: one signed
// erasure record per request and outcome, which no function may change or
// delete once written (internal/ledger: an S3 bucket under Object Lock,
// signed with a KMS key).
type Ledger interface {
	// Record signs rec and keeps it under evidence.Key(rec.RequestID,
	// rec.Outcome), once: when a record of that request and outcome is
	// kept already, it is left as it is (its certificate stands) and
	// Record returns nil, so that a retry may call it again. An error
	// means the record may not be kept; the caller retries.
	Record(ctx context.Context, rec evidence.Record) error
}

// CertificateStore reads the ledger: certificates and the key that signs
// them.
type CertificateStore interface {
	// Certificate returns the certificate of the request's outcome;
	// ErrNotFound when the ledger has none.
	Certificate(ctx context.Context, requestID string, outcome evidence.Outcome) (evidence.Certificate, error)
	// PublicKey returns the signing key's public key.
	PublicKey(ctx context.Context) (evidence.PublicKey, error)
}

// ErasureRecord is the evidence of how r's purge ended (outcome): ids,
// times and counts, never content. The ledger adds the key that signs it.
// A completed record's end is r.CompletedAt, a needs_attention record's
// r.SetAsideAt; the counts are r's as it is, so a record made late (its
// delivery failed, and the sweep makes it after the request moved on)
// says what the request held when it was made.
func ErasureRecord(r Request, outcome evidence.Outcome) evidence.Record {
	rec := evidence.Record{
		Type: evidence.RecordType, Format: evidence.Format, Outcome: outcome,
		RequestID: r.ID, PracticeID: r.PracticeID, ClientID: r.ClientID, RuleVersion: RuleVersion,
		RequestedAt: r.RequestedAt, PurgeStartedAt: timeOr(r.PurgeStartedAt, time.Time{}),
		Deleted: evidence.Counts{
			JournalEntries: r.Deleted.JournalEntries, Documents: r.Deleted.Documents,
			ChatSessions: r.Deleted.ChatSessions, ChatMessages: r.Deleted.ChatMessages,
		},
		SkippedObjects: len(r.SkippedObjects), UnresolvedObjects: len(r.UnresolvedObjects), Invocations: r.Invocations,
	}
	switch outcome {
	case evidence.OutcomeCompleted:
		rec.CompletedAt = r.CompletedAt
	case evidence.OutcomeNeedsAttention:
		rec.SetAsideAt = r.SetAsideAt
	}
	return rec
}

// evidenceOf is the outcome whose record a delivery kind writes.
var evidenceOf = map[string]evidence.Outcome{
	DeliveryEvidenceNeedsAttention: evidence.OutcomeNeedsAttention,
	DeliveryEvidenceCompleted:      evidence.OutcomeCompleted,
}
