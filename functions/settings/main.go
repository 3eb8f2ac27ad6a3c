// Command settings is the Lambda behind GET and PUT
// /v1/settings/right-to-be-forgotten: a practitioner reads the practice's
// Right To Be Forgotten setting; the team owner changes it.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wellness-rtbf/rtbf/internal/clock"
	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
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
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	return &Handler{svc: erasure.NewSettings(store, store, erasure.Options{Now: clock.Now, Log: log}), log: log}, nil
}
