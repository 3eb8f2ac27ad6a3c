package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// certificate writes a real certificate (porttest's ledger seals it with
// a key of its own) and its public key document to dir.
func certificate(t *testing.T, dir string) (evidence.Certificate, string, string, *porttest.Ledger) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 12, 28, 12, 0, 0, 0, time.UTC)
	done := at.Add(time.Minute)
	l := porttest.NewLedger()
	r := erasure.Request{ID: "rq-1", PracticeID: "p1", ClientID: "cl-ava", RequestedAt: at.AddDate(0, 0, -30), PurgeStartedAt: &at, CompletedAt: &done,
		Deleted: erasure.Counts{JournalEntries: 3}, Invocations: 1}
	if err := l.Record(ctx, erasure.ErasureRecord(r, evidence.OutcomeCompleted)); err != nil {
		t.Fatal(err)
	}
	c, err := l.Certificate(ctx, "rq-1", evidence.OutcomeCompleted)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := l.PublicKey(ctx)
	return c, write(t, dir, "cert.json", c), write(t, dir, "key.json", pk), l
}

func write(t *testing.T, dir, name string, v any) string {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	case evidence.Certificate:
		b, _ = evidence.EncodeCertificate(v)
	default:
		b, _ = json.Marshal(v)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func call(args ...string) (int, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestVerifyCertificate(t *testing.T) {
	dir := t.TempDir()
	c, cert, key, l := certificate(t, dir)
	pk, _ := l.PublicKey(context.Background())
	pem := write(t, dir, "key.pem", []byte(pk.PublicKeyPEM))

	if code, out := call("-key", key, cert); code != 0 || !strings.Contains(out, "VERIFIED: signed by the given key") || !strings.Contains(out, `"requestId": "rq-1"`) {
		t.Errorf("with the key document: got %d %s", code, out)
	}
	if code, out := call("-key", pem, cert); code != 0 || !strings.Contains(out, "VERIFIED") {
		t.Errorf("with the PEM: got %d %s", code, out)
	}
	if code, out := call(cert); code != 0 || !strings.Contains(out, "not who signed it") {
		t.Errorf("without a key: got %d %s, want verified with the carried key and a warning", code, out)
	}

	// One byte of the record, the signature, the key id: refused.
	altered := map[string]evidence.Certificate{}
	x := c
	x.Record = bytes.Clone(c.Record)
	x.Record[10] ^= 1
	altered["Record"] = x
	x = c
	x.Signature = bytes.Clone(c.Signature)
	x.Signature[len(x.Signature)-1] ^= 1
	altered["Signature"] = x
	x = c
	x.KeyID = c.KeyID + "x"
	altered["KeyID"] = x
	for name, a := range altered {
		f := write(t, dir, name+".json", a)
		for _, args := range [][]string{{"-key", key, f}, {f}} {
			if code, out := call(args...); code != 1 || !strings.Contains(out, "NOT VERIFIED") {
				t.Errorf("%s altered, %v: got %d %s, want 1 NOT VERIFIED", name, args[:len(args)-1], code, out)
			}
		}
	}
	// A byte of the file itself (a digit of the record's base64).
	raw, _ := os.ReadFile(cert)
	i := bytes.Index(raw, []byte(`"record":"`)) + len(`"record":"`) + 4
	raw[i] = map[bool]byte{true: 'A', false: 'B'}[raw[i] != 'A']
	if code, out := call("-key", key, write(t, dir, "edited.json", raw)); code != 1 {
		t.Errorf("the file edited: got %d %s, want 1", code, out)
	}

	// Another stack's key: refused.
	_, _, otherKey, _ := certificate(t, t.TempDir())
	if code, out := call("-key", otherKey, cert); code != 1 || !strings.Contains(out, "NOT VERIFIED") {
		t.Errorf("another key: got %d %s, want 1", code, out)
	}
	if code, _ := call(); code != 2 {
		t.Errorf("no file: got %d, want 2", code)
	}
}
