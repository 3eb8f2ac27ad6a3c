package export

import (
	"context"
	"errors"
	"fmt"
)

// errTooLarge: the archive would need more parts than an upload may have.
var errTooLarge = errors.New("the archive exceeds the upload's part limit")

// partWriter is the archive's destination: it fills one part buffer and
// uploads it as the next part each time it is full, so the archive never
// lies in memory beyond one part. The buffer is the same for every part.
type partWriter struct {
	ctx      context.Context
	archives Archives
	key      string
	uploadID string
	buf      []byte
	n        int // bytes in buf
	parts    []Part
	written  int64
	err      error
}

func newPartWriter(ctx context.Context, a Archives, key, uploadID string, buf []byte) *partWriter {
	return &partWriter{ctx: ctx, archives: a, key: key, uploadID: uploadID, buf: buf}
}

func (w *partWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	done := 0
	for len(p) > 0 {
		c := copy(w.buf[w.n:], p)
		w.n += c
		done += c
		p = p[c:]
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// flush uploads what the buffer holds as the next part.
func (w *partWriter) flush() error {
	if len(w.parts) == MaxParts {
		w.err = errTooLarge
		return w.err
	}
	number := int32(len(w.parts) + 1)
	part, err := w.archives.UploadPart(w.ctx, w.key, w.uploadID, number, w.buf[:w.n])
	if err != nil {
		w.err = fmt.Errorf("upload part %d: %w", number, err)
		return w.err
	}
	w.parts = append(w.parts, part)
	w.written += int64(w.n)
	w.n = 0
	return nil
}

// Close uploads the last part, however small (an upload has at least one).
func (w *partWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.n > 0 || len(w.parts) == 0 {
		return w.flush()
	}
	return nil
}
