package export

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".pdf" // 300 bytes of stem
	for _, tc := range []struct {
		name, in, fallback, want string
	}{
		{"OK/Plain", "Blood results.pdf", "x", "Blood results.pdf"},
		{"OK/Unicode", "Résumé 履歴書.docx", "x", "Résumé 履歴書.docx"},
		{"OK/HiddenFile", ".profile", "x", ".profile"},
		{"Traversal/Parent", "../../etc/passwd", "x", ".._.._etc_passwd"},
		{"Traversal/Backslash", `..\..\boot.ini`, "x", ".._.._boot.ini"},
		{"Traversal/Absolute", "/etc/passwd", "x", "_etc_passwd"},
		{"Traversal/Drive", `C:\Windows\win.ini`, "x", "C__Windows_win.ini"},
		{"Traversal/DotDot", "..", "fallback.pdf", "fallback.pdf"},
		{"Traversal/Dot", ".", "fallback.pdf", "fallback.pdf"},
		{"Traversal/Dots", "....", "", "file"},
		{"Control/NewlineTabNul", "a\nb\tc\x00d\x7f.pdf", "x", "abcd.pdf"},
		{"Control/C1", "a\u0085b.txt", "x", "ab.txt"},
		{"Control/BidiOverride", "invoice\u202Efdp.exe", "x", "invoicefdp.exe"},
		{"Control/ZeroWidth", "a\u200bb.pdf", "x", "ab.pdf"},
		{"Invalid/UTF8", "a\xffb.pdf", "x", "a_b.pdf"},
		{"Reserved/Chars", `what?<is>:this|"*.pdf`, "x", "what__is__this___.pdf"},
		{"Reserved/Device", "CON.txt", "x", "_CON.txt"},
		{"Reserved/DeviceLower", "lpt1", "x", "_lpt1"},
		{"Reserved/NotDevice", "CONSOLE.txt", "x", "CONSOLE.txt"},
		{"Trim/TrailingDotsSpaces", "  report. . ", "x", "report"},
		{"Empty/Fallback", "", "d1.pdf", "d1.pdf"},
		{"Empty/OnlyControl", "\x01\x02", "", "file"},
		{"Empty/FallbackSanitized", "", "../x.pdf", ".._x.pdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SanitizeName(tc.in, tc.fallback); got != tc.want {
				t.Errorf("SanitizeName(%q, %q): got %q, want %q", tc.in, tc.fallback, got, tc.want)
			}
		})
	}
	t.Run("Long", func(t *testing.T) {
		got := SanitizeName(long, "x")
		if len(got) > maxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".pdf") {
			t.Errorf("got %q (%d bytes), want at most %d valid bytes ending .pdf", got, len(got), maxNameBytes)
		}
	})
	// Whatever comes in, what goes out is one safe path element.
	t.Run("Property", func(t *testing.T) {
		inputs := []string{"", ".", "..", "/", "\\", "a/../b", "\x00", " . ", "\u202e..", "C:", "../" + long}
		for _, in := range inputs {
			got := SanitizeName(in, "")
			if got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\\\x00") || len(got) > maxNameBytes || !utf8.ValidString(got) {
				t.Errorf("SanitizeName(%q): got unsafe %q", in, got)
			}
		}
	})
}

func TestNames_Unique(t *testing.T) {
	ns := newNames()
	var got []string
	for _, n := range []string{"plan.pdf", "plan.pdf", "Plan.PDF", "plan (2).pdf", "notes", "notes", ".env", ".env", "plan.pdf"} {
		got = append(got, ns.unique("documents/shared", n))
	}
	want := []string{"plan.pdf", "plan (2).pdf", "Plan (3).PDF", "plan (2) (2).pdf", "notes", "notes (2)", ".env", ".env (2)", "plan (4).pdf"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q,\nwant %q", got, want)
	}
	// Folders are apart.
	if got := ns.unique("documents/uploaded", "plan.pdf"); got != "plan.pdf" {
		t.Errorf("another folder: got %q, want plan.pdf", got)
	}
	// A long name keeps its suffix and its extension within the limit.
	long := strings.Repeat("a", maxNameBytes-4) + ".pdf"
	ns.unique("x", long)
	if got := ns.unique("x", long); len(got) > maxNameBytes || !strings.HasSuffix(got, " (2).pdf") {
		t.Errorf("long duplicate: got %q (%d bytes)", got, len(got))
	}
}
