// Command verifycert verifies an erasure certificate offline, with no AWS
// access: `make verify-certificate FILE=certificate.json [KEY=key.json]`.
//
// FILE is a certificate as GET /v1/deletion-requests/{id}/certificate
// answers it (or as the evidence bucket keeps it). KEY is the stack's
// public key: the body of GET /v1/erasure-certificates/public-key (its key
// id is checked too), or a PEM file of it (`aws kms get-public-key` of the
// CertificateSigningKeyId output, written as PEM). Without KEY the
// certificate is checked with the key it carries, which proves it whole
// but not who signed it; the command says so.
//
// It prints the record and exits 0 when the certificate verifies, 1 when
// it does not, 2 on a usage error.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verifycert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "the stack's public key: the JSON of GET /v1/erasure-certificates/public-key, or a PEM file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: verifycert [-key public-key.json|key.pem] certificate.json")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	c, err := evidence.DecodeCertificate(b)
	if err != nil {
		fmt.Fprintf(stderr, "NOT VERIFIED: %v\n", err)
		return 1
	}
	var trusted *evidence.Trusted
	if *keyFile != "" {
		if trusted, err = readKey(*keyFile); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	rec, err := evidence.Verify(c, trusted)
	if err != nil {
		fmt.Fprintf(stderr, "NOT VERIFIED: %v\n", err)
		return 1
	}
	carried, _ := evidence.ParsePublicKey([]byte(c.PublicKeyPEM))
	pretty, _ := json.MarshalIndent(rec, "", "  ")
	fmt.Fprintf(stdout, "%s\n", pretty)
	if trusted == nil {
		fmt.Fprintf(stdout, "VERIFIED with the key the certificate carries (key id %s, SHA-256 of the key %s).\n"+
			"That proves the certificate whole, not who signed it: compare that key with the stack's\n"+
			"(GET /v1/erasure-certificates/public-key), or pass it: make verify-certificate FILE=… KEY=…\n", c.KeyID, evidence.Fingerprint(carried))
		return 0
	}
	fmt.Fprintf(stdout, "VERIFIED: signed by the given key (key id %s, SHA-256 of the key %s).\n", c.KeyID, evidence.Fingerprint(trusted.Key))
	return 0
}

// readKey reads the public key document of the API (checking its key id
// too) or a PEM or DER public key.
func readKey(path string) (*evidence.Trusted, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var pk evidence.PublicKey
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pk); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if pk.KeyID == "" || pk.Algorithm != evidence.Algorithm {
			return nil, fmt.Errorf("%s: key id %q algorithm %q, want a key id and %s", path, pk.KeyID, pk.Algorithm, evidence.Algorithm)
		}
		k, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &evidence.Trusted{KeyID: pk.KeyID, Key: k}, nil
	}
	k, err := evidence.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &evidence.Trusted{Key: k}, nil
}
