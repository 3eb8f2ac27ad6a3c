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
	"slices"
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
// key that failed for a while (transientKeyError), or that S3 left out of
// its answer, is sent again. A key that failed for good, or that no object
// can have (erasure.ValidObjectKey: S3 would refuse the whole call for
// it), is refused: returned, not sent again, so that it cannot hold back
// the others. S3 is strongly consistent: a key it reports deleted has no
// current version.
func (o *Objects) DeleteObjects(ctx context.Context, keys []string) ([]string, error) {
	var refused, valid []string
	for _, k := range keys {
		if erasure.ValidObjectKey(k) {
			valid = append(valid, k)
		} else {
			refused = append(refused, k)
		}
	}
	for start := 0; start < len(valid); start += deleteLimit {
		pending := valid[start:min(start+deleteLimit, len(valid))]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == maxAttempts {
				return refused, fmt.Errorf("delete objects: %d keys still not confirmed after %d attempts", len(pending), attempt)
			}
			if attempt > 0 {
				if err := sleep(ctx, attempt); err != nil {
					return refused, err
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
				return refused, fmt.Errorf("delete objects: %w", err)
			}
			done := make(map[string]bool, len(res.Deleted)+len(res.Errors))
			for _, d := range res.Deleted {
				done[aws.ToString(d.Key)] = true
			}
			for _, e := range res.Errors {
				if k := aws.ToString(e.Key); !transientKeyError[aws.ToString(e.Code)] && !done[k] && slices.Contains(pending, k) {
					done[k] = true
					refused = append(refused, k)
				}
			}
			var again []string
			for _, k := range pending {
				if !done[k] {
					again = append(again, k)
				}
			}
			pending = again
		}
	}
	return refused, nil
}

// transientKeyError are the per-key error codes of DeleteObjects that a
// later call may not meet: S3's own trouble or load. Any other (AccessDenied,
// InvalidArgument, ...) says the key will fail every time.
var transientKeyError = map[string]bool{
	"InternalError": true, "SlowDown": true, "ServiceUnavailable": true, "RequestTimeout": true, "OperationAborted": true,
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
