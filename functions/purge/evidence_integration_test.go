//go:build integration

package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

// TestPurge_ErasureRecord: a purge keeps one erasure record in the
// evidence bucket, signed by the stack's KMS key and locked in compliance
// mode. Its completion retried after the record was written (the write's
// bookkeeping failed, then a practitioner's notice), the record is written
// again and S3 keeps the first: one version, the first signature. The
// record holds nothing seeded but ids: no name, email, title, body, file
// name or object key. It verifies with the public key (in Go, and with
// openssl as the README tells anyone to), and no byte of it can change.
func TestPurge_ErasureRecord(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ava := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ava", "Ava", "Lin", "cl-ben")
	ben := emulatortest.SeedClient(t, e.st, e.store, e.practice, "cl-ben", "Ben", "Okafor", "")
	r, input := e.request(t, "cl-ava")

	// The record is kept, then marking it delivered fails: the invocation
	// fails, so Lambda retries it.
	e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.CallHolding("UpdateItem", `"#k":"`+erasure.DeliveryEvidenceCompleted+`"`))
	if _, err := e.h.Handle(ctx, input); err == nil {
		t.Fatal("purge with the record's bookkeeping failing: got no error, want one (so it is retried)")
	}
	key := evidence.Key(r.ID, evidence.OutcomeCompleted)
	first := emulatortest.Ledger(t, e.st)
	if len(first) != 1 || len(first[key]) != 1 {
		t.Fatalf("ledger after the first invocation: got %v, want one version of %s", ledgerKeys(first), key)
	}
	mid, err := e.store.GetRequest(ctx, r.ID)
	if err != nil || mid.Status != erasure.StatusCompleted || !mid.Owes(erasure.DeliveryEvidenceCompleted) {
		t.Fatalf("after it: got %+v %v, want completed, the record still owed", mid, err)
	}

	// The retry writes the record again (signed anew) and S3 keeps the
	// first; then a practitioner's notice fails, and the next retry makes
	// what is left without touching the ledger.
	e.faults.Clear()
	e.faults.Fail(1000, http.StatusServiceUnavailable, emulatortest.CallHolding("PutItem", "NOTIFICATION#"))
	if _, err := e.h.Handle(ctx, input); err == nil {
		t.Fatal("retry with notices failing: got no error, want one")
	}
	if got := e.mustGet(t, r.ID); got.Owes(erasure.DeliveryEvidenceCompleted) || !got.Owes(erasure.DeliveryPractitionersCompleted) {
		t.Fatalf("after the retry: owing %v, want the record delivered and the notices owed", got.Owed)
	}
	e.faults.Clear()
	res, err := e.h.Handle(ctx, input)
	if err != nil || res.Status != erasure.StatusCompleted {
		t.Fatalf("last retry: got %+v %v, want completed", res, err)
	}
	if got := e.mustGet(t, r.ID); len(got.Owed) != 0 {
		t.Fatalf("after the last retry: owing %v, want nothing", got.Owed)
	}
	after := emulatortest.Ledger(t, e.st)
	if len(after) != 1 || len(after[key]) != 1 || !bytes.Equal(after[key][0].Body, first[key][0].Body) || after[key][0].VersionID != first[key][0].VersionID {
		t.Fatalf("ledger after the retries: got %v, want the first version of %s alone, unchanged", ledgerKeys(after), key)
	}
	v := after[key][0]
	if v.Lock != s3types.ObjectLockModeCompliance {
		t.Errorf("record lock: got %q, want COMPLIANCE", v.Lock)
	}

	// What it proves (a delivery after completion counts no invocation).
	c, err := evidence.DecodeCertificate(v.Body)
	if err != nil {
		t.Fatal(err)
	}
	trusted, pemKey := emulatortest.TrustedKey(t, e.st)
	rec, err := evidence.Verify(c, trusted)
	if err != nil {
		t.Fatalf("Verify with the stack's key: %v", err)
	}
	done := e.mustGet(t, r.ID)
	if rec.RequestID != r.ID || rec.PracticeID != e.practice.ID || rec.ClientID != "cl-ava" || rec.Outcome != evidence.OutcomeCompleted ||
		rec.RuleVersion != erasure.RuleVersion || rec.Invocations != done.Invocations || done.Invocations != 1 ||
		!rec.RequestedAt.Equal(done.RequestedAt) || !rec.PurgeStartedAt.Equal(*done.PurgeStartedAt) || !rec.CompletedAt.Equal(*done.CompletedAt) ||
		rec.Deleted != (evidence.Counts(ava.Counts)) || rec.SkippedObjects != 0 || rec.UnresolvedObjects != 0 || rec.KeyID != e.st.CertificateKey {
		t.Errorf("record: got %+v, want the receipt of %+v", rec, done)
	}

	// No content: nothing seeded but ids, in the record or anywhere in
	// the certificate.
	var seeded []string
	seeded = append(seeded, e.practice.Content...)
	seeded = append(seeded, ava.Content...)
	seeded = append(seeded, ben.Content...)
	if len(seeded) < 40 {
		t.Fatalf("got %d seeded texts to look for, want every one of the seed", len(seeded))
	}
	for _, s := range seeded {
		if s == "" {
			continue
		}
		if bytes.Contains(c.Record, []byte(s)) || bytes.Contains(v.Body, []byte(s)) {
			t.Errorf("the certificate holds seeded content %q", s)
		}
	}
	for _, k := range ava.GoneObjects {
		if bytes.Contains(c.Record, []byte(k)) || bytes.Contains(c.Record, []byte(erasure.KeyHash(k))) {
			t.Errorf("the record holds the object key %q or its hash", k)
		}
	}

	// openssl, as the README says (the Go check above is the one that
	// must pass; this one too wherever openssl is installed).
	if ran, ok := emulatortest.OpenSSLVerify(t, c, pemKey); !ran {
		t.Log("openssl is not installed: the certificate was verified in Go only")
	} else if !ok {
		t.Error("openssl dgst -verify: the certificate does not verify")
	} else {
		x := c
		x.Record = bytes.Clone(c.Record)
		x.Record[len(x.Record)/2] ^= 1
		if _, ok := emulatortest.OpenSSLVerify(t, x, pemKey); ok {
			t.Error("openssl dgst -verify: a record altered by one bit verifies")
		}
	}

	// No byte of the record or the signature, nor the key id, can change.
	for i := range c.Record {
		x := c
		x.Record = bytes.Clone(c.Record)
		x.Record[i] ^= 0x20
		if _, err := evidence.Verify(x, trusted); !errors.Is(err, evidence.ErrInvalid) {
			t.Fatalf("record byte %d altered: got %v, want ErrInvalid", i, err)
		}
	}
	for i := range c.Signature {
		x := c
		x.Signature = bytes.Clone(c.Signature)
		x.Signature[i] ^= 0x01
		if _, err := evidence.Verify(x, trusted); !errors.Is(err, evidence.ErrInvalid) {
			t.Fatalf("signature byte %d altered: got %v, want ErrInvalid", i, err)
		}
	}
	x := c
	x.KeyID = strings.ToUpper(c.KeyID) + "0"
	if _, err := evidence.Verify(x, nil); !errors.Is(err, evidence.ErrInvalid) {
		t.Errorf("key id altered: got %v, want ErrInvalid", err)
	}

	// The lock holds: the version cannot be deleted.
	if _, err := e.st.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &e.st.EvidenceBucket, Key: &key, VersionId: &v.VersionID}); err == nil {
		t.Error("deleting the record's version: got no error, want Object Lock to refuse it")
	}
	if got := emulatortest.Ledger(t, e.st); len(got[key]) != 1 {
		t.Errorf("after the refused delete: got %d versions, want 1", len(got[key]))
	}
}

func (e *env) mustGet(t *testing.T, id string) erasure.Request {
	t.Helper()
	r, err := e.store.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ledgerKeys(l map[string][]emulatortest.LedgerVersion) []string {
	var out []string
	for k, vs := range l {
		for range vs {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
