//go:build integration

package s3objects_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
)

// TestFiles_Emulator reads document files, and reports a missing one as
// not found.
func TestFiles_Emulator(t *testing.T) {
	ctx := context.Background()
	st := emulatortest.Provision(t)
	if _, err := st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: aws.String("a/b.pdf"), Body: strings.NewReader("%PDF")}); err != nil {
		t.Fatal(err)
	}
	f := s3objects.NewFiles(st.S3, st.Bucket)
	rc, err := f.OpenFile(ctx, "a/b.pdf")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "%PDF" {
		t.Fatalf("got %q, %v", b, err)
	}
	if _, err := f.OpenFile(ctx, "a/missing.pdf"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("missing: got %v, want ErrNotFound", err)
	}
}

// TestArchives_Emulator writes an archive as a multipart upload, reads it
// back through its pre-signed URL, and aborts another.
func TestArchives_Emulator(t *testing.T) {
	ctx := context.Background()
	st := emulatortest.Provision(t)
	a := s3objects.NewArchives(st.S3, st.ExportsBucket)
	const key = "practices/p/clients/c/exports/e.zip"

	t.Run("OK", func(t *testing.T) {
		id, err := a.CreateUpload(ctx, key, "client-c-export-2026-11-28.zip")
		if err != nil {
			t.Fatal(err)
		}
		first := bytes.Repeat([]byte{'a'}, export.MinPartSize)
		last := []byte("the end")
		var parts []export.Part
		for i, data := range [][]byte{first, last} {
			p, err := a.UploadPart(ctx, key, id, int32(i+1), data)
			if err != nil {
				t.Fatal(err)
			}
			if p.Number != int32(i+1) || p.ETag == "" {
				t.Fatalf("part %d: got %+v", i+1, p)
			}
			parts = append(parts, p)
		}
		if err := a.CompleteUpload(ctx, key, id, parts); err != nil {
			t.Fatal(err)
		}
		head, err := st.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &st.ExportsBucket, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(head.ContentType) != "application/zip" || aws.ToString(head.ContentDisposition) != `attachment; filename="client-c-export-2026-11-28.zip"` {
			t.Errorf("got content type %q, disposition %q", aws.ToString(head.ContentType), aws.ToString(head.ContentDisposition))
		}
		url, err := a.PresignGet(ctx, key, 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(url, "X-Amz-Expires=900") || !strings.Contains(url, "X-Amz-Signature=") {
			t.Errorf("got URL %s, want a signed URL valid 900 seconds", url)
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Equal(got, append(first, last...)) {
			t.Fatalf("download: got %d and %d bytes, want 200 and the two parts", resp.StatusCode, len(got))
		}
	})
	t.Run("Abort", func(t *testing.T) {
		id, err := a.CreateUpload(ctx, key+".2", "x.zip")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.UploadPart(ctx, key+".2", id, 1, []byte("part")); err != nil {
			t.Fatal(err)
		}
		if err := a.AbortUpload(ctx, key+".2", id); err != nil {
			t.Fatal(err)
		}
		ups, err := st.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &st.ExportsBucket})
		if err != nil {
			t.Fatal(err)
		}
		if len(ups.Uploads) != 0 {
			t.Errorf("got %d uploads after the abort, want none", len(ups.Uploads))
		}
		if _, err := st.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &st.ExportsBucket, Key: aws.String(key + ".2")}); err == nil {
			t.Error("an aborted upload left an object")
		}
		// Aborting again is no error.
		if err := a.AbortUpload(ctx, key+".2", id); err != nil {
			t.Errorf("second abort: got %v, want nil", err)
		}
	})
	t.Run("EmulatorStateReadable", func(t *testing.T) {
		// The uploads' parts must not break the emulator's state dump,
		// where tests and the local console read sent email
		// (localstack.PrepareEmulator).
		emulatortest.SentEmails(t, "nobody@example.com")
	})
	t.Run("ErrSmallPart", func(t *testing.T) {
		id, err := a.CreateUpload(ctx, key+".3", "x.zip")
		if err != nil {
			t.Fatal(err)
		}
		var parts []export.Part
		for i, data := range [][]byte{[]byte("small"), []byte("last")} {
			p, err := a.UploadPart(ctx, key+".3", id, int32(i+1), data)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p)
		}
		if err := a.CompleteUpload(ctx, key+".3", id, parts); err == nil {
			t.Error("completing with a small part that is not the last: got nil, want S3's error")
		}
		_ = a.AbortUpload(ctx, key+".3", id)
	})
}
