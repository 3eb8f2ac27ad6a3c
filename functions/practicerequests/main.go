// Command practicerequests is the Lambda behind GET /v1/deletion-requests and
// GET /v1/deletion-requests/{id}: a practitioner follows the practice's
// client deletion requests, each with its timeline and, once done, its
// receipt.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func main() {
	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
}

// build wires the handler from the environment.
func build(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	var env config.Env
	table := env.String("TABLE_NAME")
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	return &Handler{svc: erasure.NewPracticeRequests(store, store, erasure.Options{Log: log}), log: log}, nil
}
