package export

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes bounds a file name in the archive (most file systems allow
// 255 bytes; the " (n)" of a duplicate needs room).
const maxNameBytes = 200

// SanitizeName turns a file name as the platform recorded it (typed or
// uploaded by anyone) into one safe to extract: a single path element,
// never "." or "..", with no separators, control or format characters,
// nothing a common file system refuses, and at most 200 bytes. fallback is
// used when nothing of the name is left.
func SanitizeName(name, fallback string) string {
	name = strings.ToValidUTF8(name, "_")
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			// Separators would make a path: keep the words, not the path.
			b.WriteRune('_')
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r),
			r == utf8.RuneError:
			// Invisible, or able to reorder what is shown (bidi controls).
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	// Windows drops trailing dots and spaces; leading spaces only confuse.
	s := strings.TrimRight(strings.TrimSpace(b.String()), ". ")
	if strings.Trim(s, ".") == "" {
		// "", ".", "..", "...": nothing of the name is left.
		s = ""
	}
	if s != "" && reservedOnWindows(s) {
		s = "_" + s
	}
	s = truncateName(s, maxNameBytes)
	if s == "" {
		if fallback == "" {
			return "file"
		}
		return SanitizeName(fallback, "file")
	}
	return s
}

// reservedOnWindows reports whether the name, whatever its extension, is a
// device name Windows will not create (CON, PRN, AUX, NUL, COM1-9, LPT1-9).
func reservedOnWindows(s string) bool {
	stem := strings.ToUpper(s)
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	stem = strings.TrimRight(stem, " ")
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '1' && stem[3] <= '9' {
		return true
	}
	return false
}

// splitExt splits "report.final.pdf" into "report.final" and ".pdf"; a name
// that starts with its only dot (".profile") has no extension.
func splitExt(name string) (string, string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	return name[:i], name[i:]
}

// truncateName cuts name to at most n bytes, on a rune boundary, keeping
// its extension when the extension is short.
func truncateName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	stem, ext := splitExt(name)
	if len(ext) > 16 {
		stem, ext = name, ""
	}
	return cut(stem, n-len(ext)) + ext
}

// cut cuts s to at most n bytes, on a rune boundary, without a trailing
// dot or space.
func cut(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.TrimRight(s, ". ")
}

// names hands out unique file names within each folder of the archive.
// Names are compared without case, as on the file systems most people
// extract to, so "Plan.pdf" after "plan.pdf" becomes "Plan (2).pdf".
type names struct {
	used map[string]bool // folder + "/" + lower-cased name
}

func newNames() *names { return &names{used: map[string]bool{}} }

// unique returns name, or the first of "stem (2).ext", "stem (3).ext", ...
// not yet used in folder, and marks it used.
func (ns *names) unique(folder, name string) string {
	candidate := name
	for n := 2; ns.used[folder+"/"+strings.ToLower(candidate)]; n++ {
		stem, ext := splitExt(name)
		suffix := fmt.Sprintf(" (%d)", n)
		candidate = cut(stem, maxNameBytes-len(suffix)-len(ext)) + suffix + ext
	}
	ns.used[folder+"/"+strings.ToLower(candidate)] = true
	return candidate
}
