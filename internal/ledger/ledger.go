// Package ledger is the evidence ledger's AWS adapter: erasure.Ledger and
// erasure.CertificateStore over an S3 bucket under Object Lock (the
// evidence bucket) and an asymmetric KMS key that signs (ECC_NIST_P256,
// SIGN_VERIFY). The formats are internal/evidence's.
//
// A record is signed by KMS (Sign, MessageType RAW, ECDSA_SHA_256) and
// its certificate written once, with a conditional put (If-None-Match: *)
// under evidence.Key: S3 refuses to write over an object that exists, so a
// retry, which signs again (ECDSA signatures differ each time), never
// makes a second version, and the first certificate stands. The bucket's
// default retention (compliance mode) locks each version when it is
// written; this adapter sets no retention of its own and deletes nothing.
package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Ledger keeps and reads erasure certificates.
type Ledger struct {
	s3     *s3.Client
	kms    *kms.Client
	bucket string
	keyID  string

	mu  sync.Mutex
	der []byte // the key's public key (PKIX DER), read once
}

var (
	_ erasure.Ledger           = (*Ledger)(nil)
	_ erasure.CertificateStore = (*Ledger)(nil)
	_ erasure.ReplayLedger     = (*Ledger)(nil)
)

// New returns the ledger in bucket, signing with the KMS key keyID (the
// key's id, as certificates name it).
func New(s3c *s3.Client, kmsc *kms.Client, bucket, keyID string) *Ledger {
	return &Ledger{s3: s3c, kms: kmsc, bucket: bucket, keyID: keyID}
}

// maxCertificate bounds what Certificate reads: a certificate is well
// under a kilobyte and a half.
const maxCertificate = 64 << 10

// Record signs rec and writes its certificate once. A certificate already
// kept under its key is left as it is, and is no error.
func (l *Ledger) Record(ctx context.Context, rec evidence.Record) error {
	der, err := l.publicKeyDER(ctx)
	if err != nil {
		return err
	}
	c, err := evidence.Seal(rec, l.keyID, der, l.sign(ctx))
	if err != nil {
		return err
	}
	return l.putOnce(ctx, evidence.Key(rec.RequestID, rec.Outcome), c)
}

// sign is the Signer of the KMS key.
func (l *Ledger) sign(ctx context.Context) evidence.Signer {
	return func(m []byte) ([]byte, error) {
		out, err := l.kms.Sign(ctx, &kms.SignInput{
			KeyId:            &l.keyID,
			Message:          m,
			MessageType:      kmstypes.MessageTypeRaw,
			SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256,
		})
		if err != nil {
			return nil, fmt.Errorf("kms sign: %w", err)
		}
		return out.Signature, nil
	}
}

// putOnce writes the certificate under key unless an object is kept there
// already (then it is left as it is, and that is no error).
func (l *Ledger) putOnce(ctx context.Context, key string, c evidence.Certificate) error {
	body, err := evidence.EncodeCertificate(c)
	if err != nil {
		return err
	}
	_, err = l.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      &l.bucket,
		Key:         &key,
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
		// Never over an existing certificate: a retry's put is refused.
		IfNoneMatch: aws.String("*"),
		// Object Lock wants every put to carry a checksum.
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
	})
	if kept(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// RecordReplay signs a replay record and writes its certificate once,
// under evidence.ReplayKey: outside the erasure certificates' prefix.
func (l *Ledger) RecordReplay(ctx context.Context, rec evidence.ReplayRecord) error {
	der, err := l.publicKeyDER(ctx)
	if err != nil {
		return err
	}
	c, err := evidence.SealReplay(rec, l.keyID, der, l.sign(ctx))
	if err != nil {
		return err
	}
	return l.putOnce(ctx, evidence.ReplayKey(rec.ReplayID, rec.RequestID), c)
}

// ErasureKeys lists the keys under evidence.KeyPrefix, a page at a time.
func (l *Ledger) ErasureKeys(ctx context.Context, fn func([]string) error) error {
	p := s3.NewListObjectsV2Paginator(l.s3, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: aws.String(evidence.KeyPrefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", evidence.KeyPrefix, err)
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if err := fn(keys); err != nil {
			return err
		}
	}
	return nil
}

// CertificateAt reads the object under key, as it is.
func (l *Ledger) CertificateAt(ctx context.Context, key string) ([]byte, error) {
	out, err := l.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
	if missing(err) {
		return nil, fmt.Errorf("get %s: %w", key, identity.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxCertificate+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if len(b) > maxCertificate {
		return nil, fmt.Errorf("read %s: over %d bytes", key, maxCertificate)
	}
	return b, nil
}

// kept reports whether S3 refused the conditional put because the object
// exists: the certificate was written before. A put racing another put of
// the same key may instead get 409 ConditionalRequestConflict: that is an
// error, so the caller retries, and the retry finds the object kept.
func kept(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "PreconditionFailed"
}

// Certificate reads the certificate of the request's outcome.
func (l *Ledger) Certificate(ctx context.Context, requestID string, o evidence.Outcome) (evidence.Certificate, error) {
	b, err := l.CertificateAt(ctx, evidence.Key(requestID, o))
	if err != nil {
		return evidence.Certificate{}, err
	}
	return evidence.DecodeCertificate(b)
}

func missing(err error) bool {
	var nsk *s3types.NoSuchKey
	var api smithy.APIError
	return errors.As(err, &nsk) || (errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound"))
}

// PublicKey returns the signing key's public key.
func (l *Ledger) PublicKey(ctx context.Context) (evidence.PublicKey, error) {
	der, err := l.publicKeyDER(ctx)
	if err != nil {
		return evidence.PublicKey{}, err
	}
	p, err := evidence.PublicKeyPEM(der)
	if err != nil {
		return evidence.PublicKey{}, err
	}
	return evidence.PublicKey{KeyID: l.keyID, Algorithm: evidence.Algorithm, PublicKeyPEM: p}, nil
}

// publicKeyDER reads the key's public key once per process (it never
// changes), and checks that the key signs as the certificates say.
func (l *Ledger) publicKeyDER(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.der != nil {
		return l.der, nil
	}
	out, err := l.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &l.keyID})
	if err != nil {
		return nil, fmt.Errorf("kms get public key: %w", err)
	}
	if out.KeyUsage != kmstypes.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("kms key %s: usage %s, want %s", l.keyID, out.KeyUsage, kmstypes.KeyUsageTypeSignVerify)
	}
	if _, err := evidence.ParsePublicKey(out.PublicKey); err != nil {
		return nil, fmt.Errorf("kms key %s: %w", l.keyID, err)
	}
	l.der = out.PublicKey
	return l.der, nil
}
