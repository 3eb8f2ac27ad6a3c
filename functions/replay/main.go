// Command replay is the Lambda an operator invokes after restoring the
// table (and the documents bucket's objects) from a backup: it erases
// again, in the restored table, what every purge that ended after the
// restore point erased, as the evidence ledger records them (README,
// "Operations": the restore runbook). Nothing schedules it.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	wallclock "github.com/wellness-rtbf/rtbf/internal/clock"
	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func main() {
	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
}

// build wires the handler from the environment: the AWS clients once per
// cold start; the replay per invocation, on the table the event names.
func build(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	var env config.Env
	table := env.String("TABLE_NAME")
	// A restored table is named <stack>-<prefix>...: what the template's
	// IAM policy lets it touch.
	prefix := env.String("STACK_NAME") + "-" + env.String("RESTORE_TABLE_PREFIX")
	bucket := env.String("DOCUMENTS_BUCKET")
	evidenceBucket := env.String("EVIDENCE_BUCKET")
	certificateKey := env.String("CERTIFICATE_KEY_ID")
	pathStyle := env.Bool("S3_USE_PATH_STYLE") // local emulators only
	concurrency := env.Int("PURGE_CONCURRENCY", 8, 1, 64)
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	db := dynamostore.ForBatch(dynamodb.NewFromConfig(cfg))
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	objects := s3objects.New(s3c, bucket)
	l := ledger.New(s3c, kms.NewFromConfig(cfg), evidenceBucket, certificateKey)
	return &Handler{
		live: table, prefix: prefix, bucket: bucket, log: log,
		replayer: func(restored string) *erasure.Replayer {
			store := dynamostore.New(db, restored)
			return erasure.NewReplayer(store, store, objects, l,
				erasure.PurgeConfig{Concurrency: concurrency}, erasure.Options{Now: wallclock.Now, Log: log})
		},
	}, nil
}
