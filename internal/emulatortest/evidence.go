package emulatortest

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

// LedgerVersion is one version of an object of the evidence bucket.
type LedgerVersion struct {
	Key, VersionID string
	Body           []byte
	Lock           s3types.ObjectLockMode
}

// Ledger lists every version of every object of the evidence bucket, by
// key, oldest first; a delete marker fails the test (no record is ever
// hidden).
func Ledger(t testing.TB, st *Stack) map[string][]LedgerVersion {
	t.Helper()
	ctx := context.Background()
	out := map[string][]LedgerVersion{}
	p := s3.NewListObjectVersionsPaginator(st.S3, &s3.ListObjectVersionsInput{Bucket: &st.EvidenceBucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		must(t, err)
		for _, m := range page.DeleteMarkers {
			t.Errorf("evidence bucket: got a delete marker on %s, want none", aws.ToString(m.Key))
		}
		for _, v := range page.Versions {
			res, err := st.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.EvidenceBucket, Key: v.Key, VersionId: v.VersionId})
			must(t, err)
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			must(t, err)
			k := aws.ToString(v.Key)
			// Listed newest first.
			out[k] = append([]LedgerVersion{{Key: k, VersionID: aws.ToString(v.VersionId), Body: b, Lock: res.ObjectLockMode}}, out[k]...)
		}
	}
	return out
}

// TrustedKey is the stack's signing key, read from KMS as a verifier
// would from the stack's published key.
func TrustedKey(t testing.TB, st *Stack) (*evidence.Trusted, string) {
	t.Helper()
	out, err := st.KMS.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: &st.CertificateKey})
	must(t, err)
	k, err := evidence.ParsePublicKey(out.PublicKey)
	must(t, err)
	p, err := evidence.PublicKeyPEM(out.PublicKey)
	must(t, err)
	return &evidence.Trusted{KeyID: st.CertificateKey, Key: k}, p
}

// OpenSSLVerify checks a certificate's signature as the README tells
// anyone to, with openssl and the public key's PEM: it writes the record's
// bytes, the signature and the key to files and runs `openssl dgst -sha256
// -verify`. It returns whether openssl is installed (when not, it checked
// nothing) and whether it said "Verified OK".
func OpenSSLVerify(t testing.TB, c evidence.Certificate, publicKeyPEM string) (ran, ok bool) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		return false, false
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, b, 0o600))
		return p
	}
	rec, sig, key := write("record.json", c.Record), write("record.sig", c.Signature), write("key.pem", []byte(publicKeyPEM))
	out, err := exec.Command(bin, "dgst", "-sha256", "-verify", key, "-signature", sig, rec).CombinedOutput()
	return true, err == nil && strings.TrimSpace(string(out)) == "Verified OK"
}
