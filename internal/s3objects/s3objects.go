// Package s3objects is the S3 adapter of erasure.Objects: it deletes
// document objects with DeleteObjects, 1000 keys a call, until S3 confirms
// every key deleted. export.go adapts the export ports: reading document
// files, and writing archives as multipart uploads with pre-signed
// downloads.
package s3objects

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// Objects deletes objects from the documents bucket. In a versioned bucket
// a delete adds a delete marker; the bucket's lifecycle expires the
// noncurrent versions after 30 days.
type Objects struct {
	client *s3.Client
	bucket string
}

var _ erasure.Objects = (*Objects)(nil)

func New(client *s3.Client, bucket string) *Objects { return &Objects{client: client, bucket: bucket} }

// deleteLimit is DeleteObjects' maximum number of keys.
const deleteLimit = 1000

const maxAttempts = 8

// DeleteObjects deletes keys, 1000 a call. S3 answers for every key,
// deleted or failed; a key is done only once S3 lists it as deleted, so a
// failed key, or one S3 left out of its answer, is sent again. S3 is
// strongly consistent: a key it reports deleted has no current version.
func (o *Objects) DeleteObjects(ctx context.Context, keys []string) error {
	for start := 0; start < len(keys); start += deleteLimit {
		pending := keys[start:min(start+deleteLimit, len(keys))]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == maxAttempts {
				return fmt.Errorf("delete objects: %d keys still not confirmed after %d attempts", len(pending), attempt)
			}
			if attempt > 0 {
				if err := sleep(ctx, attempt); err != nil {
					return err
				}
			}
			ids := make([]s3types.ObjectIdentifier, len(pending))
			for i, k := range pending {
				ids[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
			}
			res, err := o.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: &o.bucket,
				Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(false)},
			})
			if err != nil {
				return fmt.Errorf("delete objects: %w", err)
			}
			deleted := make(map[string]bool, len(res.Deleted))
			for _, d := range res.Deleted {
				deleted[aws.ToString(d.Key)] = true
			}
			var again []string
			for _, k := range pending {
				if !deleted[k] {
					again = append(again, k)
				}
			}
			pending = again
		}
	}
	return nil
}

func sleep(ctx context.Context, attempt int) error {
	maxDelay := min(50*time.Millisecond<<min(attempt, 10), 2*time.Second)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(maxDelay)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
