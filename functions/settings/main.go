// Command settings is the Lambda behind GET and PUT
// /v1/settings/right-to-be-forgotten: a practitioner reads the practice's
// Right To Be Forgotten setting; the team owner changes it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

func main() {
	log := lambdacontext.NewLogger()
	var env config.Env
	table := env.String("TABLE_NAME")
	if err := env.Err(); err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	cfg, err := config.AWS(context.Background())
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	h := &Handler{svc: &erasure.Service{Settings: store, Log: log}, log: log}
	lambda.StartHandlerFunc(h.Handle)
}

