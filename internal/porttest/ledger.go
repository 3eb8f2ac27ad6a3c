package porttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Ledger is a fake evidence ledger with a key of its own: it seals real
// certificates (evidence.Seal, a local P-256 key in place of KMS) and
// keeps each once, under its key, as the S3 ledger does.
type Ledger struct {
	mu    sync.Mutex
	key   *ecdsa.PrivateKey
	der   []byte
	certs map[string]evidence.Certificate
	// raw are objects put in the ledger by hand (Put), read as they are.
	raw map[string][]byte
	// replays are the replay records' certificates, by key.
	replays map[string]evidence.Certificate
	// KeyID names the fake's key.
	KeyID string
	// Calls counts Record calls; Writes the certificates kept.
	Calls, Writes int
	// FailNext fails this many calls to Record before succeeding.
	FailNext int
}

var (
	_ erasure.Ledger           = (*Ledger)(nil)
	_ erasure.CertificateStore = (*Ledger)(nil)
	_ erasure.ReplayLedger     = (*Ledger)(nil)
)

// NewLedger returns an empty ledger with a fresh key.
func NewLedger() *Ledger {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return &Ledger{key: k, der: der, certs: map[string]evidence.Certificate{}, raw: map[string][]byte{},
		replays: map[string]evidence.Certificate{}, KeyID: "test-key"}
}

func (l *Ledger) Record(_ context.Context, rec evidence.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Calls++
	if l.FailNext > 0 {
		l.FailNext--
		return fmt.Errorf("ledger unavailable")
	}
	key := evidence.Key(rec.RequestID, rec.Outcome)
	if _, ok := l.certs[key]; ok {
		return nil
	}
	c, err := evidence.Seal(rec, l.KeyID, l.der, func(m []byte) ([]byte, error) {
		d := sha256.Sum256(m)
		return ecdsa.SignASN1(rand.Reader, l.key, d[:])
	})
	if err != nil {
		return err
	}
	l.certs[key] = c
	l.Writes++
	return nil
}

func (l *Ledger) Certificate(_ context.Context, requestID string, o evidence.Outcome) (evidence.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.certs[evidence.Key(requestID, o)]
	if !ok {
		return evidence.Certificate{}, identity.ErrNotFound
	}
	return c, nil
}

func (l *Ledger) PublicKey(context.Context) (evidence.PublicKey, error) {
	p, err := evidence.PublicKeyPEM(l.der)
	return evidence.PublicKey{KeyID: l.KeyID, Algorithm: evidence.Algorithm, PublicKeyPEM: p}, err
}

// Trusted is the fake's key, for evidence.Verify.
func (l *Ledger) Trusted() *evidence.Trusted {
	return &evidence.Trusted{KeyID: l.KeyID, Key: &l.key.PublicKey}
}

// Keys returns the keys of the certificates kept, sorted.
func (l *Ledger) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ks []string
	for k := range l.certs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Records returns the records of the certificates kept, by key, each
// verified with the fake's key.
func (l *Ledger) Records() (map[string]evidence.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]evidence.Record{}
	for k, c := range l.certs {
		r, err := evidence.Verify(c, &evidence.Trusted{KeyID: l.KeyID, Key: &l.key.PublicKey})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}

// Put keeps b under key in place of whatever is there, as a hand (or a
// fault) might: what CertificateAt then reads.
func (l *Ledger) Put(key string, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.raw[key] = b
}

// CertificateOf returns the certificate kept under key (for a test to alter).
func (l *Ledger) CertificateOf(key string) (evidence.Certificate, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.certs[key]
	return c, ok
}

// ErasureKeys lists the erasure certificates' keys, two a page.
func (l *Ledger) ErasureKeys(_ context.Context, fn func([]string) error) error {
	l.mu.Lock()
	var ks []string
	for k := range l.certs {
		ks = append(ks, k)
	}
	for k := range l.raw {
		if _, ok := l.certs[k]; !ok && strings.HasPrefix(k, evidence.KeyPrefix) {
			ks = append(ks, k)
		}
	}
	l.mu.Unlock()
	slices.Sort(ks)
	for len(ks) > 0 {
		n := min(2, len(ks))
		if err := fn(ks[:n]); err != nil {
			return err
		}
		ks = ks[n:]
	}
	return nil
}

func (l *Ledger) CertificateAt(_ context.Context, key string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.raw[key]; ok {
		return b, nil
	}
	c, ok := l.certs[key]
	if !ok {
		return nil, identity.ErrNotFound
	}
	return evidence.EncodeCertificate(c)
}

func (l *Ledger) RecordReplay(_ context.Context, rec evidence.ReplayRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := evidence.ReplayKey(rec.ReplayID, rec.RequestID)
	if _, ok := l.replays[key]; ok {
		return nil
	}
	c, err := evidence.SealReplay(rec, l.KeyID, l.der, func(m []byte) ([]byte, error) {
		d := sha256.Sum256(m)
		return ecdsa.SignASN1(rand.Reader, l.key, d[:])
	})
	if err != nil {
		return err
	}
	l.replays[key] = c
	return nil
}

// Replays returns the replay records kept, by key, each verified with the
// fake's key.
func (l *Ledger) Replays() (map[string]evidence.ReplayRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]evidence.ReplayRecord{}
	for k, c := range l.replays {
		r, err := evidence.VerifyReplay(c, &evidence.Trusted{KeyID: l.KeyID, Key: &l.key.PublicKey})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}
