package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// # The replay record
//
// A replay after a restore (erasure.Replayer) erases again, in a restored
// table and bucket, the clients of the erasure records that ended after
// the restore point. For each request it replays it keeps a replay record,
// signed like an erasure record but of its own type, under its own prefix
// (ReplayKey: replays/<replayId>/<requestId>.json), so that no reader of
// erasure certificates (the practice's API, a later replay) ever takes it
// for one:
//
//	{"type":"rtbf.replay-record","format":1,"replayId":"…",
//	 "requestId":"…","practiceId":"…","clientId":"…","ruleVersion":"…",
//	 "since":"…","erasureEndedAt":"…","replayedAt":"…",
//	 "found":{…},"deleted":{…},"deletedObjects":0,
//	 "skippedObjects":0,"unresolvedObjects":0,
//	 "keyId":"…","algorithm":"ECDSA_SHA_256"}
//
// found is what the replay found of the client's content in the restored
// table when it started on the request, deleted what it deleted again.
// Its certificate is a Certificate of type ReplayCertificateType.

// The type members of a replay record and its certificate.
const (
	ReplayRecordType      = "rtbf.replay-record"
	ReplayCertificateType = "rtbf.replay-certificate"
)

// ReplayKeyPrefix is the prefix of every replay record's key: outside
// KeyPrefix, so a listing of erasure certificates never holds one.
const ReplayKeyPrefix = "replays/"

// ReplayKey is where the ledger keeps the replay record of a request in
// the replay replayID.
func ReplayKey(replayID, requestID string) string {
	return ReplayKeyPrefix + replayID + "/" + requestID + ".json"
}

// ReplayRecord is what a replay did for one erasure record.
type ReplayRecord struct {
	Type        string `json:"type"`   // ReplayRecordType
	Format      int    `json:"format"` // Format
	ReplayID    string `json:"replayId"`
	RequestID   string `json:"requestId"`
	PracticeID  string `json:"practiceId"`
	ClientID    string `json:"clientId"`
	RuleVersion string `json:"ruleVersion"` // the rule the replay ran
	// Since is the restore point the replay was given; ErasureEndedAt the
	// end of the erasure record it replayed (after Since).
	Since          time.Time `json:"since"`
	ErasureEndedAt time.Time `json:"erasureEndedAt"`
	ReplayedAt     time.Time `json:"replayedAt"`
	Found          Counts    `json:"found"`
	Deleted        Counts    `json:"deleted"`
	// DeletedObjects counts the objects of the documents deleted again.
	DeletedObjects    int    `json:"deletedObjects"`
	SkippedObjects    int    `json:"skippedObjects"`
	UnresolvedObjects int    `json:"unresolvedObjects"`
	KeyID             string `json:"keyId"`
	Algorithm         string `json:"algorithm"`
}

// Check reports what makes r not a replay record of this format.
func (r ReplayRecord) Check() error {
	var errs []error
	if r.Type != ReplayRecordType || r.Format != Format {
		errs = append(errs, fmt.Errorf("type %q format %d, want %q format %d", r.Type, r.Format, ReplayRecordType, Format))
	}
	if r.ReplayID == "" || r.RequestID == "" || r.PracticeID == "" || r.ClientID == "" || r.RuleVersion == "" {
		errs = append(errs, errors.New("replayId, requestId, practiceId, clientId and ruleVersion are required"))
	}
	if strings.Contains(r.ReplayID, "/") || strings.Contains(r.RequestID, "/") {
		errs = append(errs, errors.New("replayId or requestId holds a slash"))
	}
	if r.KeyID == "" || r.Algorithm != Algorithm {
		errs = append(errs, fmt.Errorf("keyId %q algorithm %q, want a key id and %s", r.KeyID, r.Algorithm, Algorithm))
	}
	return errors.Join(errs...)
}

// EncodeReplay writes the replay record's canonical bytes, as Encode does
// an erasure record's.
func EncodeReplay(r ReplayRecord) ([]byte, error) {
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("replay record: %w", err)
	}
	r.Since, r.ErasureEndedAt, r.ReplayedAt = r.Since.UTC(), r.ErasureEndedAt.UTC(), r.ReplayedAt.UTC()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// DecodeReplayRecord reads a replay record's bytes strictly.
func DecodeReplayRecord(b []byte) (ReplayRecord, error) {
	var r ReplayRecord
	if err := strictDecode(b, &r); err != nil {
		return ReplayRecord{}, fmt.Errorf("replay record: %w", err)
	}
	if err := r.Check(); err != nil {
		return ReplayRecord{}, fmt.Errorf("replay record: %w", err)
	}
	return r, nil
}

// SealReplay makes the certificate of a replay record, as Seal does an
// erasure record's.
func SealReplay(r ReplayRecord, keyID string, publicKeyDER []byte, sign Signer) (Certificate, error) {
	r.KeyID, r.Algorithm = keyID, Algorithm
	return seal(ReplayCertificateType, keyID, publicKeyDER, sign, func() ([]byte, error) { return EncodeReplay(r) },
		func(c Certificate) error { _, err := VerifyReplay(c, nil); return err })
}

// VerifyReplay checks a replay record's certificate, as Verify does an
// erasure certificate, and returns its record. An erasure certificate is
// not a replay certificate, nor the other way round.
func VerifyReplay(c Certificate, trusted *Trusted) (ReplayRecord, error) {
	return verify(c, ReplayCertificateType, trusted, DecodeReplayRecord,
		func(r ReplayRecord) (string, string) { return r.KeyID, r.Algorithm })
}

// DecodeReplayCertificate reads a replay certificate strictly. It checks
// the shape, not the signature: see VerifyReplay.
func DecodeReplayCertificate(b []byte) (Certificate, error) {
	var c Certificate
	if err := strictDecode(b, &c); err != nil {
		return Certificate{}, fmt.Errorf("replay certificate: %w", err)
	}
	if c.Type != ReplayCertificateType || c.Format != Format {
		return Certificate{}, fmt.Errorf("replay certificate: type %q format %d, want %q format %d", c.Type, c.Format, ReplayCertificateType, Format)
	}
	return c, nil
}
