// Package evidence is the format of the evidence ledger: the erasure
// record a purge writes when it ends (completed, or set aside as
// needs_attention), and the signed certificate that carries it. The purge
// (internal/erasure) builds records, the ledger adapter (internal/ledger)
// signs and stores them, and anyone holding the signing key's public key
// verifies a certificate with Verify (or openssl; see the README), with no
// access to the service.
//
// A record holds ids, times and counts, never content: no names, emails,
// titles, bodies, file names or object keys. It imports nothing of the
// service, so that every reader of the ledger (the purge, the practice's
// API, a replay after a restore, an auditor's tool) reads one format.
//
// # The record
//
// One JSON object, its members in this order (Encode writes exactly these
// bytes, and they are what is signed):
//
//	{"type":"rtbf.erasure-record","format":1,"outcome":"completed",
//	 "requestId":"…","practiceId":"…","clientId":"…","ruleVersion":"2026-12-01",
//	 "requestedAt":"…","purgeStartedAt":"…","completedAt":"…",
//	 "deleted":{"journalEntries":3,"documents":2,"chatSessions":1,"chatMessages":6},
//	 "skippedObjects":0,"unresolvedObjects":0,"invocations":1,
//	 "keyId":"…","algorithm":"ECDSA_SHA_256"}
//
// Times are RFC 3339 in UTC with up to nanoseconds. A completed record has
// completedAt and no setAsideAt; a needs_attention record has setAsideAt
// and no completedAt. keyId and algorithm name the key that signed it, so
// that a certificate's keyId cannot be changed without breaking its
// signature.
//
// # The certificate
//
// The ledger object, and what GET /v1/deletion-requests/{id}/certificate
// answers with:
//
//	{"type":"rtbf.erasure-certificate","format":1,
//	 "record":"<base64 of the record's bytes>",
//	 "signature":"<base64 of the DER ECDSA signature>",
//	 "keyId":"…","algorithm":"ECDSA_SHA_256",
//	 "publicKeyPem":"-----BEGIN PUBLIC KEY-----\n…"}
//
// The signature is ECDSA P-256 over the SHA-256 of the record's bytes
// exactly as the record member holds them (KMS Sign, MessageType RAW,
// ECDSA_SHA_256): `openssl dgst -sha256 -verify key.pem -signature sig
// record.json` checks it. publicKeyPem is the signing key's public key, a
// convenience for reading old certificates; trust comes from comparing it
// with the key the stack publishes (GET /v1/erasure-certificates/public-key,
// or the key named by the stack's output), which Verify does when given it.
package evidence

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format is the version of the record and certificate formats. A reader
// refuses a format it does not know rather than guess.
const Format = 1

// The type members of the two documents.
const (
	RecordType      = "rtbf.erasure-record"
	CertificateType = "rtbf.erasure-certificate"
)

// Algorithm is the one signing algorithm: ECDSA on P-256 with SHA-256, as
// KMS names it for an ECC_NIST_P256 key.
const Algorithm = "ECDSA_SHA_256"

// Outcome is how the purge a record proves ended.
type Outcome string

const (
	// OutcomeCompleted: nothing of the client's content is left.
	OutcomeCompleted Outcome = "completed"
	// OutcomeNeedsAttention: everything is gone but objects S3 refused to
	// delete for good (UnresolvedObjects), which support must look at.
	OutcomeNeedsAttention Outcome = "needs_attention"
)

// Valid reports whether o is an outcome of this format.
func (o Outcome) Valid() bool { return o == OutcomeCompleted || o == OutcomeNeedsAttention }

// Counts are what the purge deleted, per category.
type Counts struct {
	JournalEntries int `json:"journalEntries"`
	Documents      int `json:"documents"`
	ChatSessions   int `json:"chatSessions"`
	ChatMessages   int `json:"chatMessages"`
}

// Record is one erasure record. The purge fills everything but KeyID and
// Algorithm, which the ledger that signs it sets.
type Record struct {
	Type       string  `json:"type"`   // RecordType
	Format     int     `json:"format"` // Format
	Outcome    Outcome `json:"outcome"`
	RequestID  string  `json:"requestId"`
	PracticeID string  `json:"practiceId"`
	ClientID   string  `json:"clientId"`
	// RuleVersion names the rule that decided what the purge deleted
	// (erasure.RuleVersion), so a replay can tell which rule a record was
	// made under.
	RuleVersion    string     `json:"ruleVersion"`
	RequestedAt    time.Time  `json:"requestedAt"`
	PurgeStartedAt time.Time  `json:"purgeStartedAt"`
	CompletedAt    *time.Time `json:"completedAt,omitempty"` // OutcomeCompleted only
	SetAsideAt     *time.Time `json:"setAsideAt,omitempty"`  // OutcomeNeedsAttention only
	Deleted        Counts     `json:"deleted"`
	// SkippedObjects counts the object keys the client's documents pointed
	// to outside the client's folder (left, not deleted);
	// UnresolvedObjects those S3 refused to delete for good.
	SkippedObjects    int `json:"skippedObjects"`
	UnresolvedObjects int `json:"unresolvedObjects"`
	// Invocations is how many purge invocations it took.
	Invocations int    `json:"invocations"`
	KeyID       string `json:"keyId"`
	Algorithm   string `json:"algorithm"`
}

// EndedAt is when the purge the record proves ended: its completion, or
// when it was set aside.
func (r Record) EndedAt() time.Time {
	switch {
	case r.CompletedAt != nil:
		return *r.CompletedAt
	case r.SetAsideAt != nil:
		return *r.SetAsideAt
	}
	return time.Time{}
}

// Key is where the ledger keeps the certificate of a request's outcome:
// erasures/<requestId>/<outcome>.json. One key per request and outcome, so
// that writing it again (a retry) is writing the same object, which the
// ledger refuses to overwrite.
func Key(requestID string, o Outcome) string {
	return "erasures/" + requestID + "/" + string(o) + ".json"
}

// KeyPrefix is the prefix of every ledger key.
const KeyPrefix = "erasures/"

// Check reports what makes r not a record of this format (nil when it is
// one). Encode refuses a record that fails it, and Verify a certificate
// whose record does.
func (r Record) Check() error {
	var errs []error
	if r.Type != RecordType || r.Format != Format {
		errs = append(errs, fmt.Errorf("type %q format %d, want %q format %d", r.Type, r.Format, RecordType, Format))
	}
	if !r.Outcome.Valid() {
		errs = append(errs, fmt.Errorf("outcome %q is not one of %q, %q", r.Outcome, OutcomeCompleted, OutcomeNeedsAttention))
	}
	if r.RequestID == "" || r.PracticeID == "" || r.ClientID == "" || r.RuleVersion == "" {
		errs = append(errs, errors.New("requestId, practiceId, clientId and ruleVersion are required"))
	}
	if strings.ContainsAny(r.RequestID, "/") {
		errs = append(errs, errors.New("requestId holds a slash"))
	}
	switch {
	case r.Outcome == OutcomeCompleted && (r.CompletedAt == nil || r.SetAsideAt != nil):
		errs = append(errs, errors.New("a completed record has completedAt and no setAsideAt"))
	case r.Outcome == OutcomeNeedsAttention && (r.SetAsideAt == nil || r.CompletedAt != nil):
		errs = append(errs, errors.New("a needs_attention record has setAsideAt and no completedAt"))
	}
	if r.KeyID == "" || r.Algorithm != Algorithm {
		errs = append(errs, fmt.Errorf("keyId %q algorithm %q, want a key id and %s", r.KeyID, r.Algorithm, Algorithm))
	}
	return errors.Join(errs...)
}

// utc is t in UTC (nil stays nil).
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Encode writes the record's canonical bytes: compact JSON, members in the
// order of Record's fields, times in UTC. The same record always encodes
// to the same bytes.
func Encode(r Record) ([]byte, error) {
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("erasure record: %w", err)
	}
	r.RequestedAt = r.RequestedAt.UTC()
	r.PurgeStartedAt = r.PurgeStartedAt.UTC()
	r.CompletedAt, r.SetAsideAt = utc(r.CompletedAt), utc(r.SetAsideAt)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// DecodeRecord reads a record's bytes strictly: one object, no unknown
// member, a record of this format.
func DecodeRecord(b []byte) (Record, error) {
	var r Record
	if err := strictDecode(b, &r); err != nil {
		return Record{}, fmt.Errorf("erasure record: %w", err)
	}
	if err := r.Check(); err != nil {
		return Record{}, fmt.Errorf("erasure record: %w", err)
	}
	return r, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// Certificate is a signed record: the ledger object.
type Certificate struct {
	Type      string `json:"type"`      // CertificateType
	Format    int    `json:"format"`    // Format
	Record    []byte `json:"record"`    // the record's bytes (base64 in JSON)
	Signature []byte `json:"signature"` // DER ECDSA signature (base64 in JSON)
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	// PublicKeyPEM is the signing key's public key (PKIX, PEM).
	PublicKeyPEM string `json:"publicKeyPem"`
}

// EncodeCertificate writes the certificate as the ledger keeps it:
// compact JSON with a final newline.
func EncodeCertificate(c Certificate) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DecodeCertificate reads a certificate strictly (one object, no unknown
// member). It checks the shape, not the signature: see Verify.
func DecodeCertificate(b []byte) (Certificate, error) {
	var c Certificate
	if err := strictDecode(b, &c); err != nil {
		return Certificate{}, fmt.Errorf("erasure certificate: %w", err)
	}
	if c.Type != CertificateType || c.Format != Format {
		return Certificate{}, fmt.Errorf("erasure certificate: type %q format %d, want %q format %d", c.Type, c.Format, CertificateType, Format)
	}
	return c, nil
}

// PublicKey is the signing key's public key as the API publishes it (GET
// /v1/erasure-certificates/public-key).
type PublicKey struct {
	KeyID        string `json:"keyId"`
	Algorithm    string `json:"algorithm"`
	PublicKeyPEM string `json:"publicKeyPem"`
}

// ParsePublicKey reads a PKIX public key, PEM or DER, and wants it an
// ECDSA P-256 key.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	if p, _ := pem.Decode(b); p != nil {
		if p.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("public key: PEM block %q, want PUBLIC KEY", p.Type)
		}
		b = p.Bytes
	}
	k, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("public key: %T, want an ECDSA P-256 key", k)
	}
	return ec, nil
}

// PublicKeyPEM writes a PKIX DER public key as PEM, after checking it is
// an ECDSA P-256 key.
func PublicKeyPEM(der []byte) (string, error) {
	if _, err := ParsePublicKey(der); err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// Fingerprint is the SHA-256 of a public key's DER, in hex: what a person
// compares to tell two keys apart.
func Fingerprint(k *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Trusted is the key a certificate is checked against: the stack's
// published key. KeyID may be empty when only the key itself is known
// (a PEM file).
type Trusted struct {
	KeyID string
	Key   *ecdsa.PublicKey
}

// ErrInvalid is what Verify's errors wrap: the certificate is not one the
// key signed, or it was altered.
var ErrInvalid = errors.New("the certificate does not verify")

// Verify checks a certificate and returns its record. The signature must
// be the key's over the record's bytes, and the record must name the
// certificate's key id and algorithm, so that no byte of the record, the
// signature or the key id can change unnoticed. With trusted set, the
// certificate must be signed by that key (and name its key id, when
// trusted has one); without it, the key the certificate carries is used,
// which proves only that the certificate is whole, not who signed it.
func Verify(c Certificate, trusted *Trusted) (Record, error) {
	return verify(c, CertificateType, trusted, DecodeRecord, func(r Record) (string, string) { return r.KeyID, r.Algorithm })
}

// verify checks a certificate of type typ and decodes its record, which
// must name the certificate's key id and algorithm (named returns them).
func verify[R any](c Certificate, typ string, trusted *Trusted, decode func([]byte) (R, error), named func(R) (string, string)) (R, error) {
	var zero R
	fail := func(format string, args ...any) (R, error) {
		return zero, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if c.Type != typ || c.Format != Format {
		return fail("type %q format %d, want %q format %d", c.Type, c.Format, typ, Format)
	}
	if c.Algorithm != Algorithm {
		return fail("algorithm %q, want %s", c.Algorithm, Algorithm)
	}
	carried, err := ParsePublicKey([]byte(c.PublicKeyPEM))
	if err != nil {
		return fail("%v", err)
	}
	key := carried
	if trusted != nil {
		if trusted.KeyID != "" && c.KeyID != trusted.KeyID {
			return fail("key id %q, want the trusted key's %q", c.KeyID, trusted.KeyID)
		}
		if !trusted.Key.Equal(carried) {
			return fail("the certificate carries another key than the trusted one (%s)", Fingerprint(carried))
		}
		key = trusted.Key
	}
	digest := sha256.Sum256(c.Record)
	if !ecdsa.VerifyASN1(key, digest[:], c.Signature) {
		return fail("the signature is not the key's over the record")
	}
	r, err := decode(c.Record)
	if err != nil {
		return fail("%v", err)
	}
	if kid, alg := named(r); kid != c.KeyID || alg != c.Algorithm {
		return fail("the record names key %q (%s), the certificate %q (%s)", kid, alg, c.KeyID, c.Algorithm)
	}
	return r, nil
}

// Signer signs a message's bytes with ECDSA_SHA_256 (the SHA-256 of the
// message, signed with the P-256 key) and returns the DER signature: KMS
// Sign with MessageType RAW, or a local key in tests.
type Signer func(message []byte) ([]byte, error)

// Seal makes the certificate of r: it names the key (keyID, and its
// public key as PKIX DER) in the record, encodes it, has sign sign its
// bytes and checks the signature with the public key before returning, so
// that a certificate the ledger keeps always verifies.
func Seal(r Record, keyID string, publicKeyDER []byte, sign Signer) (Certificate, error) {
	r.KeyID, r.Algorithm = keyID, Algorithm
	return seal(CertificateType, keyID, publicKeyDER, sign, func() ([]byte, error) { return Encode(r) },
		func(c Certificate) error { _, err := Verify(c, nil); return err })
}

// seal signs the bytes encode makes as a certificate of type typ, and
// checks it with check before returning it.
func seal(typ, keyID string, publicKeyDER []byte, sign Signer, encode func() ([]byte, error), check func(Certificate) error) (Certificate, error) {
	pemKey, err := PublicKeyPEM(publicKeyDER)
	if err != nil {
		return Certificate{}, err
	}
	b, err := encode()
	if err != nil {
		return Certificate{}, err
	}
	sig, err := sign(b)
	if err != nil {
		return Certificate{}, fmt.Errorf("sign: %w", err)
	}
	c := Certificate{Type: typ, Format: Format, Record: b, Signature: sig, KeyID: keyID, Algorithm: Algorithm, PublicKeyPEM: pemKey}
	if err := check(c); err != nil {
		return Certificate{}, fmt.Errorf("the signature made does not verify: %w", err)
	}
	return c, nil
}
