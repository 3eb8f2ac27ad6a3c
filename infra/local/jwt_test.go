package main

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"
)

func TestIssuer_Verify(t *testing.T) {
	is, err := newIssuer("http://127.0.0.1:1/_local/issuer", "rtbf-local")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	sign := func(t *testing.T, claims map[string]any) string {
		t.Helper()
		tok, err := is.Sign(claims, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	t.Run("OK", func(t *testing.T) {
		tok := sign(t, map[string]any{"sub": "cl-ava", "custom:role": "client", "n": 3, "groups": []string{"a", "b"}})
		c, err := is.Verify(tok, now)
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		for k, want := range map[string]string{"sub": "cl-ava", "custom:role": "client", "n": "3", "groups": "[a b]", "aud": "rtbf-local", "iss": is.url} {
			if c[k] != want {
				t.Errorf("claim %s: got %q, want %q", k, c[k], want)
			}
		}
	})
	t.Run("OKAudienceList", func(t *testing.T) {
		if _, err := is.Verify(sign(t, map[string]any{"sub": "x", "aud": []string{"other", "rtbf-local"}}), now); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
	})

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := &issuer{url: is.url, audience: is.audience, kid: is.kid, key: other}
	forgedTok, _ := forged.Sign(map[string]any{"sub": "x"}, now, time.Hour)
	valid := sign(t, map[string]any{"sub": "x"})
	parts := strings.Split(valid, ".")
	noneTok := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."

	for name, tc := range map[string]struct {
		tok string
		at  time.Time
	}{
		"ErrSignature":  {forgedTok, now},
		"ErrAlgNone":    {noneTok, now},
		"ErrTampered":   {parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"y","iss":"`+is.url+`","aud":"rtbf-local","exp":9999999999}`)) + "." + parts[2], now},
		"ErrExpired":    {valid, now.Add(time.Hour)},
		"ErrIssuer":     {sign(t, map[string]any{"iss": "https://evil.example.com"}), now},
		"ErrAudience":   {sign(t, map[string]any{"aud": "someone-else"}), now},
		"ErrNotBefore":  {sign(t, map[string]any{"nbf": now.Add(time.Minute).Unix()}), now},
		"ErrMalformed":  {"not-a-token", now},
		"ErrNoExpClaim": {sign(t, map[string]any{"exp": "soon"}), now},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := is.Verify(tc.tok, tc.at); err == nil {
				t.Fatal("got nil, want an error")
			}
		})
	}
}
