// Command deletionrequest is the Lambda behind GET and POST
// /v1/portal/account-deletion: a client sees whether they may delete their
// account and asks to; accepting the request schedules the purge and tells
// the practitioners.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/wellness-rtbf/rtbf/internal/clock"
	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/metrics"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
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
	sched := oneshot.Config{
		Group:         env.String("SCHEDULE_GROUP"),
		TargetARN:     env.String("PURGE_FUNCTION_ARN"),
		RoleARN:       env.String("SCHEDULER_ROLE_ARN"),
		DeadLetterARN: env.String("SCHEDULE_DLQ_ARN"),
	}
	sender := env.String("SENDER_EMAIL")
	delayDays := env.Int("PURGE_DELAY_DAYS", 30, 1, 365)
	stack := env.String("STACK_NAME") // the metrics' dimension
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	svc := erasure.NewClientRequests(store, store, store, store, store,
		oneshot.New(scheduler.NewFromConfig(cfg), sched),
		sesmail.New(sesv2.NewFromConfig(cfg), sender),
		time.Duration(delayDays)*24*time.Hour,
		erasure.Options{Now: clock.Now, Log: log})
	return &Handler{svc: svc, log: log, metrics: metrics.New(os.Stdout, stack)}, nil
}
