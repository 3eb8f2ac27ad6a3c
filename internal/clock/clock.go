// Package clock is the functions' wall clock. In every build but the local
// stack's, Now is time.Now and nothing can move it. The local stack
// (infra/local) builds its functions with the build tag BuildTag; in that
// build Now is the real clock plus the offset kept in the file the
// environment variable EnvFile names, which the local stack moves forward
// when it is asked to fire schedules at a later time. Only the local
// stack sets the tag and the variable.
package clock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// BuildTag is the build tag under which Now reads the local clock.
const BuildTag = "localclock"

// EnvFile is the environment variable naming the local clock's file. Only
// a build with BuildTag reads it.
const EnvFile = "RTBF_LOCAL_CLOCK_FILE"

// File is a clock kept in a file: the real clock plus an offset that only
// grows, so the time it tells never goes back. One process writes it (the
// local stack); any number read it, each Now reading the file again, so a
// move reaches processes already running.
type File struct {
	path string
	mu   sync.Mutex // serialises this process's moves
}

// NewFile returns the clock kept at path. A missing file is an offset of 0.
func NewFile(path string) *File { return &File{path: path} }

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Reset writes an offset of 0: the clock tells the real time.
func (f *File) Reset() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.write(0)
}

// Offset is how far ahead of the real clock this clock is.
func (f *File) Offset() (time.Duration, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("local clock %s: %q is not an offset", f.path, b)
	}
	return d, nil
}

// Now is the real time plus the offset; an unreadable file counts as no
// offset.
func (f *File) Now() time.Time {
	d, err := f.Offset()
	if err != nil {
		d = 0
	}
	return time.Now().Add(d)
}

// Travel moves the clock forward to t, if t is ahead of it, and returns
// the time it then tells. It never moves the clock back.
func (f *File) Travel(t time.Time) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.Offset()
	if err != nil {
		return time.Time{}, err
	}
	now := time.Now()
	if t.After(now.Add(d)) {
		d = t.Sub(now)
		if err := f.write(d); err != nil {
			return time.Time{}, err
		}
	}
	return now.Add(d), nil
}

// write replaces the file in one rename, so a reader sees the old offset or
// the new one, never half of one.
func (f *File) write(d time.Duration) error {
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".clock-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(d.String() + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("local clock %s: %w", f.path, err)
	}
	return nil
}
