//go:build !localclock

package clock_test

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/clock"
)

// A build without the local stack's tag (every build sam makes) has
// nothing that can move its clock: the local clock's file is not compiled
// in, no file that is reads the environment, and the variable changes
// nothing.
func TestNow_DeployedBuild(t *testing.T) {
	t.Run("Files", func(t *testing.T) {
		deployed, err := build.Default.ImportDir(".", 0)
		if err != nil {
			t.Fatal(err)
		}
		local := build.Default
		local.BuildTags = []string{clock.BuildTag}
		localPkg, err := local.ImportDir(".", 0)
		if err != nil {
			t.Fatal(err)
		}
		// The files only the local build compiles are what make its clock
		// movable; there must be some, and none of them in the deployed build.
		var localOnly []string
		for _, f := range localPkg.GoFiles {
			if !slices.Contains(deployed.GoFiles, f) {
				localOnly = append(localOnly, f)
			}
		}
		if len(localOnly) == 0 {
			t.Fatalf("files: deployed %v, local %v; want the local clock in files of the local build only", deployed.GoFiles, localPkg.GoFiles)
		}
		for _, f := range deployed.GoFiles {
			if env := readsEnvironment(t, f); env != "" {
				t.Errorf("%s (in the deployed build) calls os.%s, want no file of that build to read the environment", f, env)
			}
		}
	})

	t.Run("EnvIgnored", func(t *testing.T) {
		f := clock.NewFile(filepath.Join(t.TempDir(), "clock"))
		if _, err := f.Travel(time.Now().Add(1000 * time.Hour)); err != nil {
			t.Fatal(err)
		}
		t.Setenv(clock.EnvFile, f.Path())
		before := time.Now()
		got := clock.Now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Errorf("Now with %s set: got %s, want the real time (%s to %s)", clock.EnvFile, got, before, after)
		}
	})
}

// readsEnvironment reports which os function reading the environment the
// file calls, if any.
func readsEnvironment(t *testing.T, name string) string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	ast.Inspect(file, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" &&
			slices.Contains([]string{"Getenv", "LookupEnv", "Environ", "ExpandEnv"}, sel.Sel.Name) {
			found = sel.Sel.Name
		}
		return true
	})
	return found
}

func TestFile_Travel(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "clock")
		f := clock.NewFile(path)
		if d, err := f.Offset(); err != nil || d != 0 {
			t.Fatalf("Offset of a missing file: got %s, %v, want 0, nil", d, err)
		}
		if err := f.Reset(); err != nil {
			t.Fatal(err)
		}
		start := f.Now()
		if real := time.Now(); real.Sub(start) < 0 || real.Sub(start) > time.Second {
			t.Fatalf("Now after Reset: got %s, want the real time %s", start, real)
		}

		ahead := time.Now().Add(30 * 24 * time.Hour)
		got, err := f.Travel(ahead)
		if err != nil {
			t.Fatal(err)
		}
		if got.Before(ahead) || got.Sub(ahead) > time.Second {
			t.Errorf("Travel(%s): got %s, want that time", ahead, got)
		}
		// Another process reading the same file (a function) tells the
		// same time.
		other := clock.NewFile(path)
		if n := other.Now(); n.Before(ahead) || n.Sub(ahead) > time.Second {
			t.Errorf("another reader: got %s, want %s", n, ahead)
		}

		// Back in time: the clock stays where it is.
		last := f.Now()
		for _, back := range []time.Time{time.Now(), ahead.Add(-time.Minute), time.Time{}} {
			got, err := f.Travel(back)
			if err != nil {
				t.Fatal(err)
			}
			if got.Before(last) {
				t.Errorf("Travel(%s): got %s, want no earlier than %s", back, got, last)
			}
			if n := other.Now(); n.Before(last) {
				t.Errorf("after Travel(%s): another reader got %s, want no earlier than %s", back, n, last)
			}
			last = got
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Moves racing each other leave the clock at the furthest.
		f := clock.NewFile(filepath.Join(t.TempDir(), "clock"))
		base := time.Now().Add(time.Hour)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if _, err := f.Travel(base.Add(time.Duration(i) * time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, want := f.Now(), base.Add(19*time.Minute); got.Before(want) || got.Sub(want) > time.Second {
			t.Errorf("Now: got %s, want %s", got, want)
		}
	})

	t.Run("ErrCorrupt", func(t *testing.T) {
		// A file that is not an offset is not overwritten by a guess: the
		// clock could go back.
		path := filepath.Join(t.TempDir(), "clock")
		if err := os.WriteFile(path, []byte("soon"), 0o644); err != nil {
			t.Fatal(err)
		}
		f := clock.NewFile(path)
		if _, err := f.Travel(time.Now().Add(time.Hour)); err == nil {
			t.Error("Travel over a corrupt file: got nil error, want one")
		}
		if b, _ := os.ReadFile(path); string(b) != "soon" {
			t.Errorf("file: got %q, want it untouched", b)
		}
	})
}
