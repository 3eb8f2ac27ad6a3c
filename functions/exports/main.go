// Command exports is the Lambda behind POST /v1/clients/{clientId}/exports
// and GET /v1/clients/{clientId}/exports/{exportId}: a practitioner asks
// for an export of a client's file (recorded, and a one-shot schedule
// starts the export worker at the next minute) and follows it until its
// archive can be downloaded through a pre-signed URL.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/wellness-rtbf/rtbf/internal/clock"
	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func main() {
	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
}

// build wires the handler from the environment.
func build(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	var env config.Env
	table := env.String("TABLE_NAME")
	bucket := env.String("EXPORTS_BUCKET")
	// The export's schedule invokes the worker.
	sched := oneshot.Config{
		Group:         env.String("SCHEDULE_GROUP"),
		TargetARN:     env.String("EXPORT_WORKER_ARN"),
		RoleARN:       env.String("SCHEDULER_ROLE_ARN"),
		DeadLetterARN: env.String("SCHEDULE_DLQ_ARN"),
	}
	pathStyle := env.Bool("S3_USE_PATH_STYLE") // local emulators only
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.NewExports(dynamodb.NewFromConfig(cfg), table)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	svc := export.NewRequests(store, store, store,
		oneshot.New(scheduler.NewFromConfig(cfg), sched),
		s3objects.NewArchives(s3c, bucket),
		export.Downloads{}, erasure.Options{Now: clock.Now, Log: log})
	return &Handler{svc: svc, log: log}, nil
}
