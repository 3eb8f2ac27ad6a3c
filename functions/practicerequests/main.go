// Command practicerequests is the Lambda behind GET /v1/deletion-requests,
// GET /v1/deletion-requests/{id}, GET /v1/deletion-requests/{id}/certificate
// and GET /v1/erasure-certificates/public-key: a practitioner follows the
// practice's client deletion requests, each with its timeline and, once
// done, its receipt and its signed erasure certificate.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func main() {
	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
}

// build wires the handler from the environment.
func build(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	var env config.Env
	table := env.String("TABLE_NAME")
	// The evidence ledger: its bucket and the key that signs it.
	evidenceBucket := env.String("EVIDENCE_BUCKET")
	certificateKey := env.String("CERTIFICATE_KEY_ID")
	pathStyle := env.Bool("S3_USE_PATH_STYLE") // local emulators only
	cfg := env.AWS(opts...)
	if err := env.Err(); err != nil {
		return nil, err
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	certs := ledger.New(s3c, kms.NewFromConfig(cfg), evidenceBucket, certificateKey)
	o := erasure.Options{Log: log}
	return &Handler{
		svc:   erasure.NewPracticeRequests(store, store, o),
		certs: erasure.NewCertificates(store, store, certs, o),
		log:   log,
	}, nil
}
