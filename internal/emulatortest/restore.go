package emulatortest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// The emulator's stand-ins for a restore from backup (README,
// "Operations": the restore runbook): a point-in-time recovery to a new
// table, which the emulator does not do, is a new table of the template's
// schema holding the items as they were; an object is restored from its
// noncurrent version by copying that version over the key.

// RestoreTable creates the table name with the template's schema and puts
// every item of snap in it, as a point-in-time recovery of st's table to
// when snap was taken would.
func RestoreTable(t testing.TB, st *Stack, name string, snap Snapshot) {
	t.Helper()
	ctx := context.Background()
	if err := localstack.CreateTable(ctx, st.DynamoDB, name); err != nil && !localstack.AlreadyExists(err) {
		t.Fatalf("create table %s: %v", name, err)
	}
	for _, item := range snap {
		_, err := st.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &name, Item: item})
		must(t, err)
	}
}

// On is st with its table named table: what TakeSnapshot reads.
func (st *Stack) On(table string) *Stack {
	c := *st
	c.Table = table
	return &c
}

// RestoreObjects makes the newest version of each key of the documents
// bucket that is not a delete marker its current version again (a copy of
// it over the key), and returns the keys it restored: those whose current
// version was gone (deleted, so hidden by a delete marker).
func RestoreObjects(t testing.TB, st *Stack) []string {
	t.Helper()
	ctx := context.Background()
	type newest struct {
		version string
		hidden  bool
	}
	keys := map[string]*newest{}
	var order []string
	p := s3.NewListObjectVersionsPaginator(st.S3, &s3.ListObjectVersionsInput{Bucket: &st.Bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		must(t, err)
		for _, m := range page.DeleteMarkers {
			k := aws.ToString(m.Key)
			if keys[k] == nil {
				keys[k] = &newest{}
				order = append(order, k)
			}
			if aws.ToBool(m.IsLatest) {
				keys[k].hidden = true
			}
		}
		// Versions are listed newest first, per key.
		for _, v := range page.Versions {
			k := aws.ToString(v.Key)
			if keys[k] == nil {
				keys[k] = &newest{}
				order = append(order, k)
			}
			if keys[k].version == "" {
				keys[k].version = aws.ToString(v.VersionId)
			}
		}
	}
	var restored []string
	for _, k := range order {
		n := keys[k]
		if !n.hidden || n.version == "" {
			continue
		}
		segs := strings.Split(k, "/")
		for i, seg := range segs {
			segs[i] = url.PathEscape(seg)
		}
		src := st.Bucket + "/" + strings.Join(segs, "/") + "?versionId=" + url.QueryEscape(n.version)
		_, err := st.S3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &st.Bucket, Key: aws.String(k), CopySource: &src,
			// As the uploads carry one, so reads of the copy validate it.
			ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256})
		must(t, err)
		restored = append(restored, k)
	}
	return restored
}
