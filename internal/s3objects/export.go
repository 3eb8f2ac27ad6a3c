package s3objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Files reads document files from the documents bucket for an export: the
// current version of each object, streamed.
type Files struct {
	client *s3.Client
	bucket string
}

var _ export.Files = (*Files)(nil)

func NewFiles(client *s3.Client, bucket string) *Files { return &Files{client: client, bucket: bucket} }

// OpenFile returns the object's body; the caller reads and closes it.
func (f *Files) OpenFile(ctx context.Context, key string) (io.ReadCloser, error) {
	res, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &f.bucket, Key: &key})
	if err != nil {
		if missing(err) {
			return nil, fmt.Errorf("get object: %w", identity.ErrNotFound)
		}
		return nil, fmt.Errorf("get object: %w", err)
	}
	return res.Body, nil
}

// missing reports whether S3 says the object (or its current version) is
// not there.
func missing(err error) bool {
	var nsk *s3types.NoSuchKey
	var nf *s3types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")
}

// Archives writes export archives to the exports bucket as multipart
// uploads, each part with a CRC32 checksum that S3 verifies, and presigns
// their downloads.
type Archives struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

var _ export.Archives = (*Archives)(nil)

func NewArchives(client *s3.Client, bucket string) *Archives {
	return &Archives{client: client, presign: s3.NewPresignClient(client), bucket: bucket}
}

func (a *Archives) CreateUpload(ctx context.Context, key, downloadName string) (string, error) {
	res, err := a.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &a.bucket, Key: &key,
		ContentType: aws.String("application/zip"),
		// The name is made of ids and a date: nothing to quote.
		ContentDisposition: aws.String(`attachment; filename="` + downloadName + `"`),
		ChecksumAlgorithm:  s3types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return "", fmt.Errorf("create multipart upload: %w", err)
	}
	return aws.ToString(res.UploadId), nil
}

// UploadPart sends data, which the SDK reads from the caller's buffer
// (a bytes.Reader seeks, so a retry rereads it and nothing is copied).
func (a *Archives) UploadPart(ctx context.Context, key, uploadID string, n int32, data []byte) (export.Part, error) {
	res, err := a.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &a.bucket, Key: &key, UploadId: &uploadID, PartNumber: aws.Int32(n),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return export.Part{}, err
	}
	return export.Part{Number: n, ETag: aws.ToString(res.ETag), Checksum: aws.ToString(res.ChecksumCRC32)}, nil
}

func (a *Archives) CompleteUpload(ctx context.Context, key, uploadID string, parts []export.Part) error {
	done := make([]s3types.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = s3types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
		if p.Checksum != "" {
			done[i].ChecksumCRC32 = aws.String(p.Checksum)
		}
	}
	_, err := a.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &a.bucket, Key: &key, UploadId: &uploadID,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done},
	})
	return err
}

func (a *Archives) AbortUpload(ctx context.Context, key, uploadID string) error {
	_, err := a.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &a.bucket, Key: &key, UploadId: &uploadID})
	var nsu *s3types.NoSuchUpload
	if err != nil && !errors.As(err, &nsu) {
		return fmt.Errorf("abort multipart upload: %w", err)
	}
	return nil
}

// PresignGet signs a GET of the archive, valid for ttl, with the
// function's own credentials: it works while they do.
func (a *Archives) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := a.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &a.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	return req.URL, nil
}
