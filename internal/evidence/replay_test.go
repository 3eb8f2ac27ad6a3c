package evidence_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

func replayRecord() evidence.ReplayRecord {
	return evidence.ReplayRecord{
		Type: evidence.ReplayRecordType, Format: evidence.Format, ReplayID: "r1",
		RequestID: "3f0c", PracticeID: "p1", ClientID: "cl-ava", RuleVersion: "2026-12-01",
		Since: requested, ErasureEndedAt: completed, ReplayedAt: completed.Add(time.Hour),
		Found:   evidence.Counts{JournalEntries: 3, Documents: 2, ChatSessions: 1, ChatMessages: 6},
		Deleted: evidence.Counts{JournalEntries: 3, Documents: 2, ChatSessions: 1, ChatMessages: 6}, DeletedObjects: 2,
	}
}

func TestReplayKey(t *testing.T) {
	if got, want := evidence.ReplayKey("r1", "3f0c"), "replays/r1/3f0c.json"; got != want {
		t.Errorf("ReplayKey = %q, want %q", got, want)
	}
	if got := evidence.ReplayKey("r1", "3f0c"); len(got) >= len(evidence.KeyPrefix) && got[:len(evidence.KeyPrefix)] == evidence.KeyPrefix {
		t.Errorf("ReplayKey %q is under the erasure certificates' prefix %q", got, evidence.KeyPrefix)
	}
}

func TestSealReplay_Verifies(t *testing.T) {
	k, der, sign := key(t)
	c, err := evidence.SealReplay(replayRecord(), "key-1", der, sign)
	if err != nil {
		t.Fatalf("SealReplay: %v", err)
	}
	r, err := evidence.VerifyReplay(c, &evidence.Trusted{KeyID: "key-1", Key: &k.PublicKey})
	if err != nil {
		t.Fatalf("VerifyReplay: %v", err)
	}
	if r.RequestID != "3f0c" || r.Deleted.ChatMessages != 6 || r.KeyID != "key-1" {
		t.Errorf("VerifyReplay record = %+v", r)
	}
	b, err := evidence.EncodeCertificate(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.DecodeReplayCertificate(b); err != nil {
		t.Errorf("DecodeReplayCertificate: %v", err)
	}
	// Neither kind passes for the other.
	if _, err := evidence.Verify(c, nil); !errors.Is(err, evidence.ErrInvalid) {
		t.Errorf("Verify(replay certificate) = %v, want ErrInvalid", err)
	}
	if _, err := evidence.DecodeCertificate(b); err == nil {
		t.Error("DecodeCertificate(replay certificate) = nil error, want one")
	}
	ec, _ := seal(t)
	if _, err := evidence.VerifyReplay(ec, nil); !errors.Is(err, evidence.ErrInvalid) {
		t.Errorf("VerifyReplay(erasure certificate) = %v, want ErrInvalid", err)
	}
	// One byte of the record altered fails.
	c.Record[len(c.Record)-3] ^= 1
	if _, err := evidence.VerifyReplay(c, nil); !errors.Is(err, evidence.ErrInvalid) {
		t.Errorf("VerifyReplay(altered) = %v, want ErrInvalid", err)
	}
}
