// Command purge is the Lambda that EventBridge Scheduler invokes when a
// deletion request's 30 days are up: it removes exactly the content the
// client created. An hourly sweep invokes it too, as a safety net.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	wallclock "github.com/wellness-rtbf/rtbf/internal/clock" // the tests have a clock of their own
	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/metrics"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
	"github.com/wellness-rtbf/rtbf/internal/sesmail"
)

func main() {
	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
}

// build wires the handler from the environment: configuration, the AWS
// clients (built once, per cold start) and the service.
func build(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	var env config.Env
	table := env.String("TABLE_NAME")
	bucket := env.String("DOCUMENTS_BUCKET")
	sender := env.String("SENDER_EMAIL")
	// The evidence ledger: its bucket and the key that signs its records.
	evidenceBucket := env.String("EVIDENCE_BUCKET")
	certificateKey := env.String("CERTIFICATE_KEY_ID")
	// Where an unfinished purge schedules its continuation.
	sched := oneshot.Config{
		Group:         env.String("SCHEDULE_GROUP"),
		TargetARN:     env.String("PURGE_FUNCTION_ARN"),
		RoleARN:       env.String("SCHEDULER_ROLE_ARN"),
		DeadLetterARN: env.String("SCHEDULE_DLQ_ARN"),
	}
	pathStyle := env.Bool("S3_USE_PATH_STYLE") // local emulators only
	concurrency := env.Int("PURGE_CONCURRENCY", 8, 1, 64)
	stack := env.String("STACK_NAME") // the metrics' dimension
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.New(dynamostore.ForBatch(dynamodb.NewFromConfig(cfg)), table)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	svc := erasure.NewPurger(store, store, store, store,
		s3objects.New(s3c, bucket),
		oneshot.New(scheduler.NewFromConfig(cfg), sched),
		sesmail.New(sesv2.NewFromConfig(cfg), sender),
		ledger.New(s3c, kms.NewFromConfig(cfg), evidenceBucket, certificateKey),
		erasure.PurgeConfig{Concurrency: concurrency, SweepGrace: time.Hour},
		erasure.Options{Now: wallclock.Now, Log: log})
	return &Handler{svc: svc, log: log, metrics: metrics.New(os.Stdout, stack), now: wallclock.Now}, nil
}
