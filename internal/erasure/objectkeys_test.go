package erasure_test

import (
	"strings"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

func TestClientFolder(t *testing.T) {
	if got, want := erasure.ClientFolder("prac-1", "cl-ava"), "practices/prac-1/clients/cl-ava/"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestInClientFolder(t *testing.T) {
	for _, tc := range []struct {
		name, key, practice, client string
		want                        bool
	}{
		{"OK", "practices/prac-1/clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", true},
		{"OK/Directly", "practices/prac-1/clients/cl-ava/d1.pdf", "prac-1", "cl-ava", true},
		{"OK/Deep", "practices/prac-1/clients/cl-ava/a/b/c/d.pdf", "prac-1", "cl-ava", true},
		// Keys are literal: escapes are not decoded, names may hold any
		// character but the separator.
		{"OK/Escapes", "practices/prac-1/clients/cl-ava/uploads/%2E%2E%2Fcl-ben/x", "prac-1", "cl-ava", true},
		{"OK/Names", "practices/prac-1/clients/cl-ava/Ünïcödé résumé (1)...pdf", "prac-1", "cl-ava", true},
		{"OK/IDCharacters", "practices/p.1:x@y_z/clients/c-1.2/f", "p.1:x@y_z", "c-1.2", true},

		{"Empty", "", "prac-1", "cl-ava", false},
		{"AnotherClient", "practices/prac-1/clients/cl-ben/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"AnotherPractice", "practices/prac-2/clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"PrefixSibling", "practices/prac-1/clients/cl-ava2/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"PracticePrefixSibling", "practices/prac-10/clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"TheFolderItself", "practices/prac-1/clients/cl-ava/", "prac-1", "cl-ava", false},
		{"NoSlash", "practices/prac-1/clients/cl-ava", "prac-1", "cl-ava", false},
		{"OtherLayout", "clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"LeadingSlash", "/practices/prac-1/clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"LeadingSpace", " practices/prac-1/clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"Case", "Practices/prac-1/clients/cl-ava/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"CaseOfID", "practices/prac-1/clients/CL-AVA/uploads/d1.pdf", "prac-1", "cl-ava", false},
		{"Backslashes", `practices\prac-1\clients\cl-ava\uploads\d1.pdf`, "prac-1", "cl-ava", false},
		{"Backslash", `practices/prac-1/clients/cl-ava\d1.pdf`, "prac-1", "cl-ava", false},
		{"FullwidthSolidus", "practices/prac-1/clients/cl-ava／d1.pdf", "prac-1", "cl-ava", false},
		{"DoubleSlashBefore", "practices//prac-1/clients/cl-ava/d1.pdf", "prac-1", "cl-ava", false},
		// Segments a path cleaner would resolve, though S3 does not.
		{"DotDot", "practices/prac-1/clients/cl-ava/../cl-ben/d1.pdf", "prac-1", "cl-ava", false},
		{"DotDotLast", "practices/prac-1/clients/cl-ava/uploads/..", "prac-1", "cl-ava", false},
		{"Dot", "practices/prac-1/clients/cl-ava/./d1.pdf", "prac-1", "cl-ava", false},
		{"EmptySegment", "practices/prac-1/clients/cl-ava//d1.pdf", "prac-1", "cl-ava", false},
		{"TrailingSlash", "practices/prac-1/clients/cl-ava/uploads/", "prac-1", "cl-ava", false},
		// Ids that are not ids, or that a path cleaner would resolve.
		{"EmptyClient", "practices/prac-1/clients//d1.pdf", "prac-1", "", false},
		{"EmptyPractice", "practices//clients/cl-ava/d1.pdf", "", "cl-ava", false},
		{"ClientWithSlash", "practices/prac-1/clients/cl-ava/x/d1.pdf", "prac-1", "cl-ava/x", false},
		{"ClientDotDot", "practices/prac-1/clients/../d1.pdf", "prac-1", "..", false},
		{"PracticeDot", "practices/./clients/cl-ava/d1.pdf", ".", "cl-ava", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := erasure.InClientFolder(tc.key, tc.practice, tc.client); got != tc.want {
				t.Errorf("InClientFolder(%q, %q, %q): got %v, want %v", tc.key, tc.practice, tc.client, got, tc.want)
			}
		})
	}
}

func TestKeyHash(t *testing.T) {
	// The first 16 hex digits of SHA-256("") and SHA-256("abc").
	for key, want := range map[string]string{"": "e3b0c44298fc1c14", "abc": "ba7816bf8f01cfea"} {
		if got := erasure.KeyHash(key); got != want {
			t.Errorf("KeyHash(%q): got %q, want %q", key, got, want)
		}
	}
}

func TestSkippedKey(t *testing.T) {
	longest := strings.Repeat("k", 1024)
	if got := erasure.SkippedKey(longest); got != longest {
		t.Errorf("a key of 1024 bytes: got %q, want it as it is", got)
	}
	if got := erasure.SkippedKey(""); got != "" {
		t.Errorf("the empty key: got %q, want it as it is", got)
	}
	a, b := erasure.SkippedKey(longest+"a"), erasure.SkippedKey(longest+"b")
	if !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+64 || a == b {
		t.Errorf("keys over 1024 bytes: got %q and %q, want distinct sha256: names", a, b)
	}
}
