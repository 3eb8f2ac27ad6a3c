package emulatortest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ObjectVersions lists every version and delete marker in the bucket, one
// line each (key, version id, ETag, whether latest), sorted: a delete or an
// overwrite in a versioned bucket changes the list even though the old
// version stays.
func ObjectVersions(t testing.TB, st *Stack, bucket string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectVersionsPaginator(st.S3, &s3.ListObjectVersionsInput{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		must(t, err)
		for _, v := range page.Versions {
			out = append(out, fmt.Sprintf("version %s %s %s latest=%v", aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToString(v.ETag), aws.ToBool(v.IsLatest)))
		}
		for _, m := range page.DeleteMarkers {
			out = append(out, fmt.Sprintf("delete-marker %s %s latest=%v", aws.ToString(m.Key), aws.ToString(m.VersionId), aws.ToBool(m.IsLatest)))
		}
	}
	slices.Sort(out)
	return out
}
