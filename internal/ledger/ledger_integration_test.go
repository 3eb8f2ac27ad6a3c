//go:build integration

package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

func record(id string) evidence.Record {
	at := time.Date(2026, 12, 28, 12, 0, 0, 0, time.UTC)
	done := at.Add(time.Minute)
	return erasure.ErasureRecord(erasure.Request{
		ID: id, PracticeID: "p1", ClientID: "cl-ava", RequestedAt: at.Add(-30 * 24 * time.Hour), PurgeStartedAt: &at, CompletedAt: &done,
		Deleted: erasure.Counts{JournalEntries: 3, Documents: 2}, Invocations: 1,
	}, evidence.OutcomeCompleted)
}

// versions lists every version of key in the bucket, with its content.
func versions(t *testing.T, st *emulatortest.Stack, key string) []string {
	t.Helper()
	ctx := context.Background()
	out, err := st.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &st.EvidenceBucket, Prefix: &key})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DeleteMarkers) != 0 {
		t.Errorf("%s: got %d delete markers, want none", key, len(out.DeleteMarkers))
	}
	var bodies []string
	for _, v := range out.Versions {
		res, err := st.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.EvidenceBucket, Key: v.Key, VersionId: v.VersionId})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		bodies = append(bodies, string(b))
	}
	return bodies
}

// The ledger on the emulator: a record is signed by the KMS key and kept
// once, locked in compliance mode; writing it again (a retry, which signs
// anew) changes nothing; the certificate read back verifies with the
// key's public key; a locked version cannot be deleted.
func TestLedger_Emulator(t *testing.T) {
	ctx := context.Background()
	st := emulatortest.Provision(t)
	l := ledger.New(st.S3, st.KMS, st.EvidenceBucket, st.CertificateKey)

	if _, err := l.Certificate(ctx, "rq-1", evidence.OutcomeCompleted); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("Certificate before any record: got %v, want ErrNotFound", err)
	}
	if err := l.Record(ctx, record("rq-1")); err != nil {
		t.Fatalf("Record: %v", err)
	}
	key := evidence.Key("rq-1", evidence.OutcomeCompleted)
	first := versions(t, st, key)
	if len(first) != 1 {
		t.Fatalf("after Record: got %d versions, want 1", len(first))
	}
	for range 2 {
		if err := l.Record(ctx, record("rq-1")); err != nil {
			t.Fatalf("Record again: got %v, want nil (kept before)", err)
		}
	}
	if again := versions(t, st, key); len(again) != 1 || again[0] != first[0] {
		t.Fatalf("after writing it again: got %d versions, want the first alone, unchanged", len(again))
	}

	c, err := l.Certificate(ctx, "rq-1", evidence.OutcomeCompleted)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := evidence.EncodeCertificate(c); !bytes.Equal(b, []byte(first[0])) {
		t.Errorf("Certificate: got %s, want the object %s", b, first[0])
	}
	pk, err := l.PublicKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	if pk.KeyID != st.CertificateKey || pk.Algorithm != evidence.Algorithm {
		t.Errorf("PublicKey: got id %q algorithm %q, want %q %s", pk.KeyID, pk.Algorithm, st.CertificateKey, evidence.Algorithm)
	}
	rec, err := evidence.Verify(c, &evidence.Trusted{KeyID: pk.KeyID, Key: k})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rec.RequestID != "rq-1" || rec.KeyID != st.CertificateKey || rec.Deleted.Documents != 2 {
		t.Errorf("record: got %+v", rec)
	}

	// Locked for the template's years, in compliance mode.
	head, err := st.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &st.EvidenceBucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	years, err := localstack.ParameterDefault("EvidenceRetentionYears")
	if err != nil {
		t.Fatal(err)
	}
	if head.ObjectLockMode != s3types.ObjectLockModeCompliance || head.ObjectLockRetainUntilDate == nil ||
		head.ObjectLockRetainUntilDate.Before(time.Now().AddDate(5, 11, 0)) || years != "6" {
		t.Errorf("lock: got mode %q until %v (default %s years), want compliance for 6 years", head.ObjectLockMode, head.ObjectLockRetainUntilDate, years)
	}
	if _, err := st.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &st.EvidenceBucket, Key: &key, VersionId: head.VersionId}); err == nil {
		t.Error("deleting the locked version: got no error, want it refused")
	}
	if got := versions(t, st, key); len(got) != 1 || got[0] != first[0] {
		t.Errorf("after the refused delete: got %d versions, want the record", len(got))
	}
	// A plain put without the condition would add a version; the ledger
	// never makes one (and the bucket policy refuses it in AWS).
	if _, err := st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.EvidenceBucket, Key: aws.String(key), Body: bytes.NewReader([]byte("x")),
		IfNoneMatch: aws.String("*"), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err == nil {
		t.Error("a conditional put over the record: got no error, want it refused")
	}
}

// What a replay reads and keeps on the emulator: ErasureKeys lists the
// erasure certificates alone (never a replay record), CertificateAt reads
// one as it is, and a replay record is signed, kept once under its own
// prefix, and verifies as a replay record only.
func TestLedger_Emulator_Replay(t *testing.T) {
	ctx := context.Background()
	st := emulatortest.Provision(t)
	l := ledger.New(st.S3, st.KMS, st.EvidenceBucket, st.CertificateKey)
	for _, id := range []string{"rq-a", "rq-b"} {
		if err := l.Record(ctx, record(id)); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	rr := evidence.ReplayRecord{Type: evidence.ReplayRecordType, Format: evidence.Format, ReplayID: "rp-1",
		RequestID: "rq-a", PracticeID: "p1", ClientID: "cl-ava", RuleVersion: erasure.RuleVersion,
		Since: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ErasureEndedAt: time.Date(2026, 12, 28, 12, 1, 0, 0, time.UTC),
		ReplayedAt: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), Found: evidence.Counts{JournalEntries: 3}, Deleted: evidence.Counts{JournalEntries: 3}}
	for range 2 {
		if err := l.RecordReplay(ctx, rr); err != nil {
			t.Fatalf("RecordReplay: %v", err)
		}
	}
	if v := versions(t, st, evidence.ReplayKey("rp-1", "rq-a")); len(v) != 1 {
		t.Fatalf("replay record: %d versions, want 1", len(v))
	}
	var keys []string
	if err := l.ErasureKeys(ctx, func(page []string) error { keys = append(keys, page...); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{evidence.Key("rq-a", evidence.OutcomeCompleted), evidence.Key("rq-b", evidence.OutcomeCompleted)}
	if len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("ErasureKeys: got %v, want %v", keys, want)
	}
	pk, err := l.PublicKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	trusted := &evidence.Trusted{KeyID: pk.KeyID, Key: key}
	b, err := l.CertificateAt(ctx, want[0])
	if err != nil {
		t.Fatal(err)
	}
	c, err := evidence.DecodeCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Verify(c, trusted); err != nil {
		t.Errorf("erasure certificate read by CertificateAt: %v", err)
	}
	b, err = l.CertificateAt(ctx, evidence.ReplayKey("rp-1", "rq-a"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := evidence.DecodeReplayCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := evidence.VerifyReplay(rc, trusted); err != nil || got.RequestID != "rq-a" || got.Deleted.JournalEntries != 3 {
		t.Errorf("replay record: %+v, %v", got, err)
	}
	if _, err := l.CertificateAt(ctx, evidence.Key("rq-none", evidence.OutcomeCompleted)); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("CertificateAt of nothing: %v, want ErrNotFound", err)
	}
}
