package localstack

import (
	"slices"
	"strings"
	"testing"
)

// The evidence ledger (README, "Erasure certificates"): records are kept
// for years under Object Lock in compliance mode, and no function may
// delete or overwrite one, or change a retention. The purge may only add
// records (a conditional put) and sign them; practicerequests reads them
// and the public key; the replay after a restore lists and reads the
// erasure records, adds its own under replays/ (a conditional put) and
// signs them; nothing else touches either.

// forbiddenOnLedger are the actions no function may hold on the evidence
// bucket: each deletes, overwrites or unlocks a record, or changes the
// bucket's lock, versioning, lifecycle or policy.
var forbiddenOnLedger = []string{
	"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
	"s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention",
	"s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration",
	"s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:DeleteBucket", "s3:PutObjectAcl", "s3:PutObjectVersionAcl",
	"s3:RestoreObject", "s3:ReplicateDelete", "s3:ReplicateObject",
}

// coversLedger reports whether an IAM resource may name the evidence
// bucket or its objects: it does unless it names another resource of the
// template (${Other.Arn}...).
func coversLedger(resource string) bool {
	if strings.HasPrefix(resource, "${EvidenceBucket.Arn}") || strings.HasPrefix(resource, "${EvidenceBucket}") {
		return true
	}
	return !strings.HasPrefix(resource, "${")
}

// grants are "<action> <resource>" of every statement of fn whose action
// matches pattern (an IAM pattern: an action of the policy that is itself
// a wildcard, like s3:*, matches too) on a resource cover reports true for.
func grants(t *testing.T, tmpl map[string]any, fn string, match func(action string) bool, cover func(string) bool) []string {
	t.Helper()
	var out []string
	for _, s := range functionStatements(t, tmpl, fn) {
		for _, a := range s.actions {
			if !match(a) {
				continue
			}
			for _, r := range s.resources {
				if cover(r) {
					out = append(out, a+" "+r)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestTemplateIAM_EvidenceLedger(t *testing.T) {
	tmpl := cfnTree(t)
	fns := functions(t, tmpl)

	// No function holds a forbidden action, or a wildcard that covers
	// one, on anything that may be the evidence bucket.
	for _, fn := range fns {
		got := grants(t, tmpl, fn, func(a string) bool {
			return slices.ContainsFunc(forbiddenOnLedger, func(f string) bool { return like(strings.ToLower(a), strings.ToLower(f)) })
		}, coversLedger)
		if len(got) > 0 {
			t.Errorf("%s: got %v, which may delete, overwrite or unlock ledger records; want none", fn, got)
		}
	}

	// What each function may do with the ledger's objects, and only that.
	want := map[string][]string{
		"PurgeFunction":            {"s3:PutObject ${EvidenceBucket.Arn}/erasures/*"},
		"PracticeRequestsFunction": {"s3:GetObject ${EvidenceBucket.Arn}/erasures/*"},
		"ReplayFunction": {"s3:GetObject ${EvidenceBucket.Arn}/erasures/*", "s3:ListBucket ${EvidenceBucket.Arn}",
			"s3:PutObject ${EvidenceBucket.Arn}/replays/*"},
	}
	for _, fn := range fns {
		got := grants(t, tmpl, fn, func(a string) bool { return strings.HasPrefix(a, "s3:") },
			func(r string) bool { return strings.HasPrefix(r, "${EvidenceBucket") })
		if !slices.Equal(got, want[fn]) {
			t.Errorf("%s: got %v on the evidence bucket, want %v", fn, got, want[fn])
		}
	}
	// Every put on the ledger makes a new object or nothing:
	// If-None-Match: *.
	for _, fn := range fns {
		for _, s := range functionStatements(t, tmpl, fn) {
			if slices.ContainsFunc(s.actions, func(a string) bool { return like(strings.ToLower(a), "s3:putobject") }) &&
				slices.ContainsFunc(s.resources, coversLedger) {
				if got := s.condValues("StringEquals", "s3:if-none-match"); !slices.Equal(got, []string{"*"}) {
					t.Errorf("%s %s: got s3:if-none-match %v, want the put conditioned on \"*\" (never over a record)", fn, s.sid, got)
				}
			}
		}
	}
	if !slices.Contains(fns, "ReplayFunction") {
		t.Error("got no ReplayFunction in template.yaml, want the replay held to the ledger's rules above")
	}
	// The replay lists the erasure records alone, and never puts one: its
	// records go under replays/, where no erasure certificate is read.
	for _, s := range functionStatements(t, tmpl, "ReplayFunction") {
		if slices.Contains(s.actions, "s3:ListBucket") {
			if got := s.condValues("StringLike", "s3:prefix"); !slices.Equal(got, []string{"erasures/*"}) {
				t.Errorf("ReplayFunction %s: got s3:ListBucket with prefix %v, want erasures/* alone", s.sid, got)
			}
		}
		if slices.Contains(s.actions, "s3:PutObject") && slices.ContainsFunc(s.resources, func(r string) bool { return strings.Contains(r, "/erasures/") }) {
			t.Errorf("ReplayFunction %s: got s3:PutObject on %v, want its records under replays/ only", s.sid, s.resources)
		}
	}

	// The signing key: only the purge and the replay sign, whole messages
	// with the one algorithm; they and practicerequests read its public
	// key.
	wantKMS := map[string][]string{
		"PurgeFunction":            {"kms:GetPublicKey ${CertificateSigningKey.Arn}", "kms:Sign ${CertificateSigningKey.Arn}"},
		"PracticeRequestsFunction": {"kms:GetPublicKey ${CertificateSigningKey.Arn}"},
		"ReplayFunction":           {"kms:GetPublicKey ${CertificateSigningKey.Arn}", "kms:Sign ${CertificateSigningKey.Arn}"},
	}
	for _, fn := range fns {
		got := grants(t, tmpl, fn, func(a string) bool { return strings.HasPrefix(a, "kms:") }, func(string) bool { return true })
		if !slices.Equal(got, wantKMS[fn]) {
			t.Errorf("%s: got KMS grants %v, want %v", fn, got, wantKMS[fn])
		}
		for _, s := range functionStatements(t, tmpl, fn) {
			if slices.Contains(s.actions, "kms:Sign") {
				if a, m := s.condValues("StringEquals", "kms:SigningAlgorithm"), s.condValues("StringEquals", "kms:MessageType"); !slices.Equal(a, []string{"ECDSA_SHA_256"}) || !slices.Equal(m, []string{"RAW"}) {
					t.Errorf("%s %s: got kms:Sign with algorithm %v and message type %v, want ECDSA_SHA_256 and RAW", fn, s.sid, a, m)
				}
			}
		}
	}
}

// The bucket: Object Lock in compliance mode for EvidenceRetentionYears
// (default 6), versioned, encrypted, private, TLS only; its policy refuses
// every delete and every put that could overwrite.
func TestTemplate_EvidenceBucket(t *testing.T) {
	tmpl := cfnTree(t)
	b := at(tmpl, "Resources", "EvidenceBucket", "Properties")
	if at(b, "ObjectLockEnabled") != "true" || at(b, "ObjectLockConfiguration", "ObjectLockEnabled") != "Enabled" {
		t.Errorf("EvidenceBucket: got Object Lock %v / %v, want enabled", at(b, "ObjectLockEnabled"), at(b, "ObjectLockConfiguration"))
	}
	ret := at(b, "ObjectLockConfiguration", "Rule", "DefaultRetention")
	if at(ret, "Mode") != "COMPLIANCE" || render(at(ret, "Years")) != "${EvidenceRetentionYears}" || at(ret, "Days") != nil {
		t.Errorf("EvidenceBucket: got default retention %v, want COMPLIANCE for !Ref EvidenceRetentionYears years", ret)
	}
	if p := at(tmpl, "Parameters", "EvidenceRetentionYears"); at(p, "Type") != "Number" || at(p, "Default") != "6" || at(p, "MinValue") != "1" {
		t.Errorf("EvidenceRetentionYears: got %v, want a Number, default 6, at least 1", p)
	}
	if at(b, "VersioningConfiguration", "Status") != "Enabled" {
		t.Error("EvidenceBucket: got no versioning, want Enabled")
	}
	if enc := at(b, "BucketEncryption", "ServerSideEncryptionConfiguration"); enc == nil {
		t.Error("EvidenceBucket: got no encryption")
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if at(b, "PublicAccessBlockConfiguration", k) != "true" {
			t.Errorf("EvidenceBucket: %s is not true", k)
		}
	}
	if at(tmpl, "Resources", "EvidenceBucket", "DeletionPolicy") != "Retain" {
		t.Error("EvidenceBucket: want DeletionPolicy Retain: the records outlive the stack")
	}

	pol := at(tmpl, "Resources", "EvidenceBucketPolicy", "Properties")
	if render(at(pol, "Bucket")) != "${EvidenceBucket}" {
		t.Fatalf("EvidenceBucketPolicy: got bucket %v, want the evidence bucket", at(pol, "Bucket"))
	}
	denies := map[string]map[string]any{}
	for _, s := range at(pol, "PolicyDocument", "Statement").([]any) {
		if at(s, "Effect") != "Deny" || at(s, "Principal") != "*" {
			t.Errorf("EvidenceBucketPolicy: got %v, want only denials for everyone", s)
			continue
		}
		for _, a := range strs(at(s, "Action")) {
			denies[a] = s.(map[string]any)
		}
	}
	if s := denies["s3:*"]; s == nil || at(s, "Condition", "Bool", "aws:SecureTransport") != "false" {
		t.Error("EvidenceBucketPolicy: got no denial of plain HTTP")
	}
	for _, a := range []string{"s3:DeleteObject", "s3:DeleteObjectVersion"} {
		if s := denies[a]; s == nil || at(s, "Condition") != nil {
			t.Errorf("EvidenceBucketPolicy: got no unconditional denial of %s", a)
		}
	}
	if s := denies["s3:PutObject"]; s == nil || at(s, "Condition", "Null", "s3:if-none-match") != "true" {
		t.Error("EvidenceBucketPolicy: got no denial of a put without If-None-Match")
	}
}

// The signing key: asymmetric, for signing only; its policy lets the
// account administer it and delegates to IAM nothing but the public key
// and signing whole messages with the one algorithm.
func TestTemplate_CertificateSigningKey(t *testing.T) {
	tmpl := cfnTree(t)
	k := at(tmpl, "Resources", "CertificateSigningKey", "Properties")
	if at(k, "KeySpec") != "ECC_NIST_P256" || at(k, "KeyUsage") != "SIGN_VERIFY" {
		t.Errorf("CertificateSigningKey: got %v %v, want ECC_NIST_P256 SIGN_VERIFY", at(k, "KeySpec"), at(k, "KeyUsage"))
	}
	for _, s := range at(k, "KeyPolicy", "Statement").([]any) {
		if p := render(at(s, "Principal", "AWS")); at(s, "Effect") != "Allow" || p != "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" {
			t.Errorf("key policy %v: got effect %v principal %q, want Allow for the account alone", at(s, "Sid"), at(s, "Effect"), p)
		}
		for _, a := range strs(at(s, "Action")) {
			switch {
			// a is an IAM pattern: like(a, x) is whether it grants x.
			case like(a, "kms:Sign") && a != "kms:Sign" || like(a, "kms:Verify") || like(a, "kms:Encrypt") || like(a, "kms:Decrypt"):
				t.Errorf("key policy %v: got %s, want no wildcard over signing and no other use", at(s, "Sid"), a)
			case a == "kms:Sign":
				c := at(s, "Condition", "StringEquals")
				if at(c, "kms:SigningAlgorithm") != "ECDSA_SHA_256" || at(c, "kms:MessageType") != "RAW" {
					t.Errorf("key policy %v: got kms:Sign with %v, want ECDSA_SHA_256 over RAW messages only", at(s, "Sid"), c)
				}
			}
		}
	}
	if got := render(at(tmpl, "Outputs", "CertificateSigningKeyId", "Value")); got != "${CertificateSigningKey}" {
		t.Errorf("Outputs: got CertificateSigningKeyId %q, want the key's id", got)
	}
}
