// Command purge is the Lambda that EventBridge Scheduler invokes when a
// deletion request's 30 days are up: it removes exactly the content the
// client created. An hourly sweep invokes it too, as a safety net.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/sesmail"
)

func main() {
	log := lambdacontext.NewLogger()
	var env config.Env
	table := env.String("TABLE_NAME")
	bucket := env.String("DOCUMENTS_BUCKET")
	sender := env.String("SENDER_EMAIL")
	pathStyle := env.Bool("S3_USE_PATH_STYLE") // local emulators only
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
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	svc := &erasure.Service{
		Settings:      store,
		Directory:     store,
		Requests:      store,
		Notifications: store,
		Content:       store,
		Objects:       s3objects.New(s3c, bucket),
		Mailer:        sesmail.New(sesv2.NewFromConfig(cfg), sender),
		SweepGrace:    time.Hour,
		Log:           log,
	}
	h := &Handler{svc: svc, log: log}
	lambda.StartHandlerFunc(h.Handle)
}
