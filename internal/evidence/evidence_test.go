package evidence_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

var (
	requested = time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC)
	started   = requested.Add(30 * 24 * time.Hour)
	completed = started.Add(90 * time.Second)
)

func record() evidence.Record {
	return evidence.Record{
		Type: evidence.RecordType, Format: evidence.Format, Outcome: evidence.OutcomeCompleted,
		RequestID: "3f0c", PracticeID: "p1", ClientID: "cl-ava", RuleVersion: "2026-12-01",
		RequestedAt: requested, PurgeStartedAt: started, CompletedAt: &completed,
		Deleted:        evidence.Counts{JournalEntries: 3, Documents: 2, ChatSessions: 1, ChatMessages: 6},
		SkippedObjects: 1, Invocations: 2,
	}
}

// key is a P-256 key and a Signer with it, as KMS signs: SHA-256 of the
// message, DER signature.
func key(t *testing.T) (*ecdsa.PrivateKey, []byte, evidence.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, der, func(m []byte) ([]byte, error) {
		d := sha256.Sum256(m)
		return ecdsa.SignASN1(rand.Reader, k, d[:])
	}
}

func seal(t *testing.T) (evidence.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, der, sign := key(t)
	c, err := evidence.Seal(record(), "key-1", der, sign)
	if err != nil {
		t.Fatalf("Seal: got error %v, want nil", err)
	}
	return c, k
}

// The record's bytes are its fields in order, compact, times in UTC: the
// same record encodes the same way whatever the zone of its times.
func TestEncode(t *testing.T) {
	r := record()
	r.KeyID, r.Algorithm = "key-1", evidence.Algorithm
	b, err := evidence.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"rtbf.erasure-record","format":1,"outcome":"completed","requestId":"3f0c","practiceId":"p1","clientId":"cl-ava",` +
		`"ruleVersion":"2026-12-01","requestedAt":"2026-11-28T12:00:00.123456789Z","purgeStartedAt":"2026-12-28T12:00:00.123456789Z",` +
		`"completedAt":"2026-12-28T12:01:30.123456789Z","deleted":{"journalEntries":3,"documents":2,"chatSessions":1,"chatMessages":6},` +
		`"skippedObjects":1,"unresolvedObjects":0,"invocations":2,"keyId":"key-1","algorithm":"ECDSA_SHA_256"}`
	if string(b) != want {
		t.Errorf("Encode:\n got %s\nwant %s", b, want)
	}
	zoned := r
	paris := time.FixedZone("CET", 3600)
	zoned.RequestedAt = r.RequestedAt.In(paris)
	c := completed.In(paris)
	zoned.CompletedAt = &c
	if b2, err := evidence.Encode(zoned); err != nil || !bytes.Equal(b, b2) {
		t.Errorf("Encode in another zone: got %s (%v), want the same bytes", b2, err)
	}
	back, err := evidence.DecodeRecord(b)
	if err != nil {
		t.Fatalf("DecodeRecord: %v", err)
	}
	if b3, _ := evidence.Encode(back); !bytes.Equal(b, b3) {
		t.Errorf("decoded and encoded again: got %s, want %s", b3, b)
	}
}

func TestRecord_Check(t *testing.T) {
	signed := func(r evidence.Record) evidence.Record { r.KeyID, r.Algorithm = "k", evidence.Algorithm; return r }
	aside := signed(record())
	aside.Outcome, aside.CompletedAt, aside.SetAsideAt = evidence.OutcomeNeedsAttention, nil, &completed
	if err := aside.Check(); err != nil {
		t.Errorf("a needs_attention record: got %v, want nil", err)
	}
	if got := aside.EndedAt(); !got.Equal(completed) {
		t.Errorf("EndedAt: got %v, want %v", got, completed)
	}
	for name, change := range map[string]func(*evidence.Record){
		"Type":               func(r *evidence.Record) { r.Type = "x" },
		"Format":             func(r *evidence.Record) { r.Format = 2 },
		"Outcome":            func(r *evidence.Record) { r.Outcome = "done" },
		"NoRequest":          func(r *evidence.Record) { r.RequestID = "" },
		"SlashInRequest":     func(r *evidence.Record) { r.RequestID = "a/b" },
		"NoRule":             func(r *evidence.Record) { r.RuleVersion = "" },
		"CompletedNoTime":    func(r *evidence.Record) { r.CompletedAt = nil },
		"CompletedSetAside":  func(r *evidence.Record) { r.SetAsideAt = &completed },
		"AsideWithCompleted": func(r *evidence.Record) { r.Outcome = evidence.OutcomeNeedsAttention },
		"NoKey":              func(r *evidence.Record) { r.KeyID = "" },
		"OtherAlgorithm":     func(r *evidence.Record) { r.Algorithm = "RSASSA_PSS_SHA_256" },
	} {
		t.Run(name, func(t *testing.T) {
			r := signed(record())
			change(&r)
			if err := r.Check(); err == nil {
				t.Error("Check: got nil, want an error")
			}
			if _, err := evidence.Encode(r); err == nil {
				t.Error("Encode: got no error, want the record refused")
			}
		})
	}
}

func TestKey(t *testing.T) {
	if got := evidence.Key("3f0c", evidence.OutcomeCompleted); got != "erasures/3f0c/completed.json" {
		t.Errorf("Key: got %q", got)
	}
	if got := evidence.Key("3f0c", evidence.OutcomeNeedsAttention); !strings.HasPrefix(got, evidence.KeyPrefix) || got != "erasures/3f0c/needs_attention.json" {
		t.Errorf("Key: got %q", got)
	}
}

// A sealed certificate verifies, with the key it carries and with the
// trusted key, and survives being written and read back.
func TestVerify(t *testing.T) {
	c, k := seal(t)
	b, err := evidence.EncodeCertificate(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := evidence.DecodeCertificate(b)
	if err != nil {
		t.Fatalf("DecodeCertificate: %v", err)
	}
	for name, trusted := range map[string]*evidence.Trusted{
		"CarriedKey":      nil,
		"TrustedKey":      {Key: &k.PublicKey},
		"TrustedKeyAndId": {KeyID: "key-1", Key: &k.PublicKey},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := evidence.Verify(back, trusted)
			if err != nil {
				t.Fatalf("Verify: got %v, want nil", err)
			}
			if r.RequestID != "3f0c" || r.KeyID != "key-1" || r.Deleted.Documents != 2 || !r.CompletedAt.Equal(completed) {
				t.Errorf("Verify: got record %+v", r)
			}
		})
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"type", "format", "record", "signature", "keyId", "algorithm", "publicKeyPem"} {
		if _, ok := m[f]; !ok {
			t.Errorf("certificate JSON: no %q in %s", f, b)
		}
	}
}

// Any byte of the record or the signature changed, the key id, the
// algorithm or the key changed: the certificate does not verify.
func TestVerify_Altered(t *testing.T) {
	c, k := seal(t)
	trusted := &evidence.Trusted{KeyID: "key-1", Key: &k.PublicKey}
	check := func(t *testing.T, what string, x evidence.Certificate, tr *evidence.Trusted) {
		t.Helper()
		if _, err := evidence.Verify(x, tr); !errors.Is(err, evidence.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", what, err)
		}
	}
	for i := range c.Record {
		for _, flip := range []byte{0x01, 0x80} {
			x := c
			x.Record = bytes.Clone(c.Record)
			x.Record[i] ^= flip
			check(t, "record byte", x, nil)
			check(t, "record byte", x, trusted)
		}
	}
	for i := range c.Signature {
		x := c
		x.Signature = bytes.Clone(c.Signature)
		x.Signature[i] ^= 0x01
		check(t, "signature byte", x, nil)
	}
	x := c
	x.Signature = append(bytes.Clone(c.Signature), 0)
	check(t, "signature with a byte more", x, nil)

	x = c
	x.KeyID = "key-2"
	check(t, "key id", x, nil)
	check(t, "key id", x, &evidence.Trusted{Key: &k.PublicKey})
	x = c
	x.Algorithm = "ECDSA_SHA_384"
	check(t, "algorithm", x, nil)
	x = c
	x.Type = "rtbf.other"
	check(t, "type", x, nil)

	// Re-signed by another key: whole, but not the trusted key's.
	other, der, sign := key(t)
	forged, err := evidence.Seal(record(), "key-1", der, sign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Verify(forged, nil); err != nil {
		t.Errorf("a certificate of another key, against its own key: got %v, want it whole", err)
	}
	check(t, "another key", forged, trusted)
	check(t, "the trusted key's id, another key", c, &evidence.Trusted{KeyID: "key-1", Key: &other.PublicKey})
	check(t, "another trusted key id", c, &evidence.Trusted{KeyID: "key-2", Key: &k.PublicKey})
}

func TestDecodeCertificate_Strict(t *testing.T) {
	c, _ := seal(t)
	b, _ := evidence.EncodeCertificate(c)
	for name, in := range map[string]string{
		"Unknown":  strings.Replace(string(b), `{"type"`, `{"extra":1,"type"`, 1),
		"Trailing": string(b) + "{}",
		"Format":   strings.Replace(string(b), `"format":1`, `"format":2`, 1),
		"NotJSON":  "x",
	} {
		if _, err := evidence.DecodeCertificate([]byte(in)); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	_, der, _ := key(t)
	p, err := evidence.PublicKeyPEM(der)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"PEM": []byte(p), "DER": der} {
		if _, err := evidence.ParsePublicKey(in); err != nil {
			t.Errorf("%s: got %v", name, err)
		}
	}
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&k384.PublicKey)
	if _, err := evidence.ParsePublicKey(der384); err == nil {
		t.Error("a P-384 key: got no error, want it refused")
	}
	if _, err := evidence.PublicKeyPEM([]byte("junk")); err == nil {
		t.Error("junk: got no error")
	}
}
