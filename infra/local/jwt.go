package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// issuer is the local stand-in for the identity provider: it signs tokens
// with an RSA key made at start and verifies them the way the HTTP API's JWT
// authorizer does (RS256 signature, iss, aud, exp, nbf).
type issuer struct {
	url      string
	audience string
	kid      string
	key      *rsa.PrivateKey
}

func newIssuer(url, audience string) (*issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &issuer{url: url, audience: audience, kid: "local-" + newID()[:8], key: key}, nil
}

var b64 = base64.RawURLEncoding

// Sign signs claims, adding iss, aud, iat and exp (now+ttl) unless given.
func (is *issuer) Sign(claims map[string]any, now time.Time, ttl time.Duration) (string, error) {
	c := make(map[string]any, len(claims)+4)
	for k, v := range claims {
		c[k] = v
	}
	setDefault(c, "iss", is.url)
	setDefault(c, "aud", is.audience)
	setDefault(c, "iat", now.Unix())
	setDefault(c, "exp", now.Add(ttl).Unix())
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": is.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

var errUnauthorized = errors.New("unauthorized")

// Verify checks token and returns its claims as strings, as the authorizer
// passes them in requestContext.authorizer.jwt.claims.
func (is *issuer) Verify(token string, now time.Time) (map[string]string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a JWS compact token", errUnauthorized)
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errUnauthorized, err)
	}
	if header.Alg != "RS256" {
		return nil, fmt.Errorf("%w: alg %q", errUnauthorized, header.Alg)
	}
	if header.Kid != "" && header.Kid != is.kid {
		return nil, fmt.Errorf("%w: unknown kid", errUnauthorized)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature encoding", errUnauthorized)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&is.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("%w: bad signature", errUnauthorized)
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", errUnauthorized, err)
	}
	if iss, _ := claims["iss"].(string); iss != is.url {
		return nil, fmt.Errorf("%w: iss", errUnauthorized)
	}
	if !hasAudience(claims["aud"], is.audience) {
		return nil, fmt.Errorf("%w: aud", errUnauthorized)
	}
	exp, ok := numericDate(claims["exp"])
	if !ok || !now.Before(exp) {
		return nil, fmt.Errorf("%w: expired or no exp", errUnauthorized)
	}
	if v, present := claims["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok || now.Before(nbf) {
			return nil, fmt.Errorf("%w: not yet valid", errUnauthorized)
		}
	}
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = claimString(v)
	}
	return out, nil
}

func decodeSegment(seg string, v any) error {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// claimString renders a claim the way API Gateway does: strings as they
// are, arrays as "[a b]", other values as their JSON text.
func claimString(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case json.Number:
		return c.String()
	case []any:
		s := make([]string, len(c))
		for i, x := range c {
			s[i] = claimString(x)
		}
		return "[" + strings.Join(s, " ") + "]"
	default:
		b, _ := json.Marshal(c)
		return string(b)
	}
}

// JWKS is the public key set, served for tools that want to check tokens.
func (is *issuer) JWKS() map[string]any {
	pub := is.key.PublicKey
	return map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": is.kid,
		"n": b64.EncodeToString(pub.N.Bytes()),
		"e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}
