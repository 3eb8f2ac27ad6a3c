package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/clock"
)

// Only the local stack's build of a function reads the local clock. The
// same target of infra/sam.mk run as sam build runs it, even with the local
// tags in its environment (as make variables and in GOFLAGS), builds a
// function on the real clock, whatever the clock's file says.
func TestLocalBuild_Clock(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const probe = "PKG=./internal/clock/testdata/probe"
	file := clock.NewFile(filepath.Join(t.TempDir(), "clock"))
	ahead := time.Now().Add(1000 * time.Hour)
	if _, err := file.Travel(ahead); err != nil {
		t.Fatal(err)
	}
	// run builds with cmd and returns the time the program tells with the
	// clock's file in its environment.
	run := func(t *testing.T, cmd *exec.Cmd, dir string) time.Time {
		t.Helper()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		p := exec.Command(filepath.Join(dir, "bootstrap"))
		p.Env = []string{clock.EnvFile + "=" + file.Path()}
		out, err := p.Output()
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			t.Fatalf("probe said %q: %v", out, err)
		}
		return time.Unix(0, ns)
	}

	t.Run("Local", func(t *testing.T) {
		dir := t.TempDir()
		got := run(t, localBuild(ctx, root, "build-package", dir, probe), dir)
		if got.Before(ahead) || got.Sub(ahead) > time.Minute {
			t.Errorf("local build: got %s, want the local clock's %s", got, ahead)
		}
	})

	t.Run("Deployed", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.CommandContext(ctx, "make", "-C", root, "--no-print-directory", "build-package",
			"ARTIFACTS_DIR="+dir, "GOARCH="+runtime.GOARCH, probe)
		cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=",
			"LOCAL_BUILD_TAGS="+clock.BuildTag, "GOFLAGS=-buildvcs=false -tags="+clock.BuildTag)
		before := time.Now()
		got := run(t, cmd, dir)
		if got.Before(before) || got.After(time.Now()) {
			t.Errorf("sam's build: got %s, want the real time (from %s)", got, before)
		}
	})
}
