package exportmodel_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestOnlyExportFunctionsLinkArchiveCode keeps the ZIP code in the two
// export functions: every other function's bootstrap would carry it (see
// the package doc) if one of its packages imported internal/export.
func TestOnlyExportFunctionsLinkArchiveCode(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./functions/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		fn, deps := fields[0], fields[1:]
		seen++
		links := slices.Contains(deps, "archive/zip")
		want := strings.HasSuffix(fn, "/functions/exports") || strings.HasSuffix(fn, "/functions/exportworker")
		if links != want {
			t.Errorf("%s links archive/zip: %v, want %v", fn, links, want)
		}
		if !want && slices.Contains(deps, "github.com/wellness-rtbf/rtbf/internal/export") {
			t.Errorf("%s imports internal/export; import internal/exportmodel for the records and ports", fn)
		}
	}
	if seen < 7 {
		t.Errorf("go list found %d functions, want the 7 of template.yaml", seen)
	}
}
