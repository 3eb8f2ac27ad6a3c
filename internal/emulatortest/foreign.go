package emulatortest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ForeignPointers are documents seeded in a client's file whose object
// keys point outside the client's folder, with what a purge and an export
// of the client must make of them.
type ForeignPointers struct {
	// Uploaded are the client's own such documents: a purge deletes them.
	Uploaded []erasure.ItemKey
	// OwnObjects are the keys they hold in the client's folder: a purge
	// deletes those objects.
	OwnObjects []string
	// Skipped are the distinct keys they hold outside the folder: a purge
	// leaves them and records each once.
	Skipped []string
	// ForeignObjects are the objects those keys name: they must stay as
	// they are.
	ForeignObjects []string
	// SkippedDocuments are the ids, in key order, of the documents (the
	// client's and a practitioner's) whose file is outside the folder: an
	// export lists them in its manifest and copies none of them.
	SkippedDocuments []string
}

// SeedForeignPointers writes, in the client's file, documents whose keys
// point into another client's folder (other's), another practice's (the
// client's namesake there), a prefix sibling's (the client id with "2"
// after it) and the client's own folder with a leading slash (another key
// to S3, and no object): three uploaded by the client (one also with
// a preview in the client's folder, one repeating another's key) and one a
// practitioner shared. The foreign objects exist and hold
// OtherClientMarker.
func SeedForeignPointers(t testing.TB, st *Stack, store *dynamostore.Store, p Practice, clientID, other string) ForeignPointers {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC)
	otherClient := fmt.Sprintf("practices/%s/clients/%s/uploads/%s-foreign.pdf", p.ID, other, other)
	otherPractice := fmt.Sprintf("practices/%s-elsewhere/clients/%s/uploads/%s-foreign.pdf", p.ID, clientID, clientID)
	sibling := fmt.Sprintf("practices/%s/clients/%s2/uploads/%s2-foreign.pdf", p.ID, clientID, clientID)
	preview := fmt.Sprintf("practices/%s/clients/%s/uploads/%s-fa-preview.png", p.ID, clientID, clientID)
	slashed := "/" + erasure.ClientFolder(p.ID, clientID) + "uploads/fc.pdf"
	f := ForeignPointers{
		OwnObjects:     []string{preview},
		Skipped:        []string{otherClient, otherPractice, sibling, slashed},
		ForeignObjects: []string{otherClient, otherPractice, sibling},
	}
	for _, o := range f.ForeignObjects {
		_, err := st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: aws.String(o), Body: strings.NewReader(OtherClientMarker + " " + o)})
		must(t, err)
	}
	_, err := st.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: aws.String(preview), Body: strings.NewReader("a preview")})
	must(t, err)

	client := erasure.Author{Role: identity.RoleClient, ID: clientID}
	member := erasure.Author{Role: identity.RolePractitioner, ID: p.MemberID}
	for _, d := range []struct {
		id     string
		author erasure.Author
		keys   []string
	}{
		{"fa", client, []string{otherClient, preview}},
		{"fb", client, []string{otherPractice, otherClient}},
		{"fc", client, []string{sibling, slashed}},
		{"fd", member, []string{otherClient}},
	} {
		id := clientID + "-" + d.id
		k := erasure.ItemKey{PK: dynamostore.ClientPK(p.ID, clientID), SK: dynamostore.DocumentSK(id)}
		must(t, store.Put(ctx, dynamostore.Record{PK: k.PK, SK: k.SK, Type: "document", AuthorRole: d.author.Role, AuthorID: d.author.ID,
			CreatedAt: at, Title: "Document " + id, FileName: id + ".pdf", ObjectKeys: d.keys}))
		if d.author == client {
			f.Uploaded = append(f.Uploaded, k)
		}
		f.SkippedDocuments = append(f.SkippedDocuments, id)
	}
	slices.Sort(f.SkippedDocuments)
	return f
}

// ObjectVersions lists every version and delete marker of the documents
// bucket, by key, each as "version <id> <etag> latest=<bool>" or
// "delete-marker <id> latest=<bool>", sorted.
func ObjectVersions(t testing.TB, st *Stack) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	p := s3.NewListObjectVersionsPaginator(st.S3, &s3.ListObjectVersionsInput{Bucket: &st.Bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		must(t, err)
		for _, v := range page.Versions {
			k := aws.ToString(v.Key)
			out[k] = append(out[k], fmt.Sprintf("version %s %s latest=%v", aws.ToString(v.VersionId), aws.ToString(v.ETag), aws.ToBool(v.IsLatest)))
		}
		for _, m := range page.DeleteMarkers {
			k := aws.ToString(m.Key)
			out[k] = append(out[k], fmt.Sprintf("delete-marker %s latest=%v", aws.ToString(m.VersionId), aws.ToBool(m.IsLatest)))
		}
	}
	for _, vs := range out {
		slices.Sort(vs)
	}
	return out
}
