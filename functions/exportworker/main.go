// Command exportworker is the Lambda that an export's one-shot schedule
// invokes with {"exportId":"..."}: it writes the ZIP archive of the
// client's file (journal, chats, uploaded and shared documents) to the
// exports bucket, streamed through one part buffer, and marks the export
// ready (or failed, with a reason code).
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/clock"
	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func main() {
	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
}

// build wires the handler from the environment: configuration, the AWS
// clients (built once, per cold start) and the service.
func build(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	var env config.Env
	table := env.String("TABLE_NAME")
	documents := env.String("DOCUMENTS_BUCKET")
	exports := env.String("EXPORTS_BUCKET")
	partMiB := env.Int("EXPORT_PART_SIZE_MIB", export.DefaultPartSize>>20, export.MinPartSize>>20, 64)
	pathStyle := env.Bool("S3_USE_PATH_STYLE") // local emulators only
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.NewExports(dynamodb.NewFromConfig(cfg), table)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	svc := export.NewWorker(store, store,
		s3objects.NewFiles(s3c, documents),
		s3objects.NewArchives(s3c, exports),
		export.WorkerConfig{PartSize: partMiB << 20},
		erasure.Options{Now: clock.Now, Log: log})
	return &Handler{svc: svc, log: log}, nil
}
