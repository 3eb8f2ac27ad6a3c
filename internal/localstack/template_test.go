package localstack

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
)

// The table the local stack and the tests create is template.yaml's, and it
// has the indexes the store queries.
func TestTableInput(t *testing.T) {
	in, err := TableInput("t")
	if err != nil {
		t.Fatalf("TableInput: got error %v, want nil", err)
	}
	key := map[string]string{}
	for _, k := range in.KeySchema {
		key[string(k.KeyType)] = aws.ToString(k.AttributeName)
	}
	if key["HASH"] != "pk" || key["RANGE"] != "sk" {
		t.Errorf("key schema: got %v, want pk/sk", key)
	}
	indexes := map[string]bool{}
	for _, g := range in.GlobalSecondaryIndexes {
		indexes[aws.ToString(g.IndexName)] = true
		if g.Projection == nil || g.Projection.ProjectionType != "ALL" {
			t.Errorf("index %s: got projection %v, want ALL", aws.ToString(g.IndexName), g.Projection)
		}
	}
	for _, name := range []string{dynamostore.PendingIndex, dynamostore.InboxIndex} {
		if !indexes[name] {
			t.Errorf("index %q: missing from template.yaml's table", name)
		}
	}
	if len(in.AttributeDefinitions) != 2+2*len(in.GlobalSecondaryIndexes) {
		t.Errorf("attribute definitions: got %d, want one per key attribute", len(in.AttributeDefinitions))
	}
}

// The bucket is versioned and its lifecycle ends every old copy of a
// deleted document: noncurrent versions after 30 days, then the delete
// markers.
func TestBucketConfig(t *testing.T) {
	versioning, lifecycle, err := bucketConfig("b")
	if err != nil {
		t.Fatalf("bucketConfig: got error %v, want nil", err)
	}
	if versioning == nil || versioning.VersioningConfiguration.Status != "Enabled" {
		t.Errorf("versioning: got %+v, want Enabled", versioning)
	}
	var noncurrent int32
	markers := false
	for _, r := range lifecycle.LifecycleConfiguration.Rules {
		if r.NoncurrentVersionExpiration != nil {
			noncurrent = aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays)
		}
		if r.Expiration != nil && aws.ToBool(r.Expiration.ExpiredObjectDeleteMarker) {
			markers = true
		}
	}
	if noncurrent != 30 || !markers {
		t.Errorf("lifecycle: got noncurrent days %d, expired delete markers %v; want 30, true", noncurrent, markers)
	}
}

// The exports bucket keeps nothing long: archives expire after 7 days and
// an upload left unfinished goes after a day.
func TestExportsBucketConfig(t *testing.T) {
	versioning, lifecycle, err := exportsBucketConfig("b")
	if err != nil {
		t.Fatalf("exportsBucketConfig: got error %v, want nil", err)
	}
	if versioning != nil {
		t.Errorf("versioning: got %+v, want none (no old copies of an archive)", versioning)
	}
	var expire, abort int32
	for _, r := range lifecycle.LifecycleConfiguration.Rules {
		if r.Expiration != nil {
			expire = aws.ToInt32(r.Expiration.Days)
		}
		if r.AbortIncompleteMultipartUpload != nil {
			abort = aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation)
		}
	}
	if expire != 7 || abort != 1 {
		t.Errorf("lifecycle: got expiry %d days, abort after %d; want 7 and 1", expire, abort)
	}
}
