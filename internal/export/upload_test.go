package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// recordingArchives keeps what each part was sent with: its bytes and the
// address of the buffer they came in.
type recordingArchives struct {
	parts [][]byte
	bufs  []*byte
	fail  int32
}

func (r *recordingArchives) CreateUpload(context.Context, string, string) (string, error) {
	return "u", nil
}
func (r *recordingArchives) UploadPart(_ context.Context, _, _ string, n int32, data []byte) (Part, error) {
	if n == r.fail {
		return Part{}, errors.New("injected")
	}
	if n != int32(len(r.parts)+1) {
		return Part{}, fmt.Errorf("part %d out of order", n)
	}
	r.parts = append(r.parts, bytes.Clone(data))
	if len(data) > 0 {
		r.bufs = append(r.bufs, &data[:1][0])
	}
	return Part{Number: n, ETag: fmt.Sprint("etag-", n)}, nil
}
func (r *recordingArchives) CompleteUpload(context.Context, string, string, []Part) error { return nil }
func (r *recordingArchives) AbortUpload(context.Context, string, string) error            { return nil }
func (r *recordingArchives) PresignGet(context.Context, string, time.Duration) (string, error) {
	return "", nil
}

func TestPartWriter(t *testing.T) {
	data := make([]byte, 10*7+3)
	for i := range data {
		data[i] = byte(i)
	}
	t.Run("OK/PartsOfTheBufferSize", func(t *testing.T) {
		ra := &recordingArchives{}
		buf := make([]byte, 10)
		w := newPartWriter(context.Background(), ra, "k", "u", buf)
		// Writes of every size: smaller than, across and larger than a part.
		for rest, i := data, 0; len(rest) > 0; i++ {
			n := min(len(rest), []int{1, 3, 17, 10, 25}[i%5])
			if got, err := w.Write(rest[:n]); err != nil || got != n {
				t.Fatalf("Write: got %d, %v; want %d, nil", got, err, n)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if len(ra.parts) != 8 {
			t.Fatalf("got %d parts, want 8 (7 full, 1 of 3 bytes)", len(ra.parts))
		}
		for i, p := range ra.parts[:7] {
			if len(p) != 10 {
				t.Errorf("part %d: got %d bytes, want 10", i+1, len(p))
			}
		}
		if got := bytes.Join(ra.parts, nil); !bytes.Equal(got, data) {
			t.Errorf("parts joined: got %d bytes that differ, want the data", len(got))
		}
		for i, b := range ra.bufs {
			if b != &buf[0] {
				t.Errorf("part %d: sent from another buffer, want the one part buffer", i+1)
			}
		}
		if w.written != int64(len(data)) || len(w.parts) != 8 || w.parts[7] != (Part{Number: 8, ETag: "etag-8"}) {
			t.Errorf("got written %d parts %v", w.written, w.parts)
		}
	})
	t.Run("OK/ExactMultiple", func(t *testing.T) {
		ra := &recordingArchives{}
		w := newPartWriter(context.Background(), ra, "k", "u", make([]byte, 10))
		_, _ = w.Write(data[:20])
		if err := w.Close(); err != nil || len(ra.parts) != 2 {
			t.Fatalf("got %d parts, %v; want 2 and no empty third", len(ra.parts), err)
		}
	})
	t.Run("OK/EmptyHasOnePart", func(t *testing.T) {
		ra := &recordingArchives{}
		w := newPartWriter(context.Background(), ra, "k", "u", make([]byte, 10))
		if err := w.Close(); err != nil || len(ra.parts) != 1 {
			t.Fatalf("got %d parts, %v; want 1", len(ra.parts), err)
		}
	})
	t.Run("ErrPartFails", func(t *testing.T) {
		ra := &recordingArchives{fail: 2}
		w := newPartWriter(context.Background(), ra, "k", "u", make([]byte, 10))
		if _, err := w.Write(data); err == nil {
			t.Fatal("Write: got nil, want the part's error")
		}
		if _, err := w.Write(data[:1]); err == nil {
			t.Fatal("Write after an error: got nil, want the error again")
		}
		if err := w.Close(); err == nil {
			t.Fatal("Close after an error: got nil, want the error")
		}
	})
	t.Run("ErrTooManyParts", func(t *testing.T) {
		ra := &recordingArchives{}
		w := newPartWriter(context.Background(), ra, "k", "u", make([]byte, 1))
		_, err := w.Write(make([]byte, MaxParts+1))
		if !errors.Is(err, errTooLarge) {
			t.Fatalf("got %v, want errTooLarge", err)
		}
	})
}
