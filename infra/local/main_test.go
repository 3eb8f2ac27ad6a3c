package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// The banner prints a ready token for every demo user: the owner, the
// member and each client, each signed with the claims the seed gives them.
func TestBanner_TokensForEveryDemoUser(t *testing.T) {
	is, err := newIssuer("http://127.0.0.1:3000/_local/issuer", "rtbf-local")
	if err != nil {
		t.Fatal(err)
	}
	demo := localstack.Demo{PracticeID: "demo-practice", OwnerID: "pr-owner", MemberID: "pr-member", Clients: []string{"cl-ava", "cl-ben"}}
	s := &System{URL: "http://127.0.0.1:3000", EmulatorURL: "http://127.0.0.1:4566", Demo: demo, Issuer: is}
	var out bytes.Buffer
	if err := banner(&out, s); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  ([A-Z][A-Z0-9_]*)=(\S+)`).FindAllStringSubmatch(out.String(), -1) {
		tokens[m[1]] = m[2]
	}
	want := map[string]map[string]any{
		"OWNER":  demo.OwnerClaims(),
		"MEMBER": demo.MemberClaims(),
		"AVA":    demo.ClientClaims("cl-ava"),
		"BEN":    demo.ClientClaims("cl-ben"),
	}
	if len(tokens) != len(want) {
		t.Errorf("got tokens %v, want one each for %v", keys(tokens), keys(want))
	}
	for name, claims := range want {
		tok, ok := tokens[name]
		if !ok {
			t.Errorf("no %s= line in the banner:\n%s", name, out.String())
			continue
		}
		got, err := is.Verify(tok, time.Now())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for k, v := range claims {
			if got[k] != v {
				t.Errorf("%s: claim %s: got %q, want %q", name, k, got[k], v)
			}
		}
	}
	for _, who := range []string{"pr-owner", "pr-member", "cl-ava", "cl-ben"} {
		if !strings.Contains(out.String(), who) {
			t.Errorf("the banner does not name %s", who)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// RTBF_EMULATOR_PORT must be a port: anything else stops the start rather
// than quietly picking a free port.
func TestRun_EmulatorPortMustBeAPort(t *testing.T) {
	for _, v := range []string{"moto", "-1", "70000"} {
		t.Setenv("RTBF_EMULATOR_PORT", v)
		var out bytes.Buffer
		err := run(nil, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "RTBF_EMULATOR_PORT") {
			t.Errorf("RTBF_EMULATOR_PORT=%s: got %v, want an error naming it", v, err)
		}
	}
}
