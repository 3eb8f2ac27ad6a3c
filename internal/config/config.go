// Package config reads a function's configuration from its environment,
// all at once, and builds the AWS SDK configuration every client shares.
package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

// Env reads variables and remembers every problem, so that one error names
// all of them.
type Env struct {
	missing []string
	invalid []string
}

// String returns the variable, noting it missing when empty.
func (e *Env) String(name string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

// Optional returns the variable or def.
func (e *Env) Optional(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Int returns the variable as an integer in [lo, hi], or def when unset.
func (e *Env) Int(name string, def, lo, hi int) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.invalid = append(e.invalid, fmt.Sprintf("%s (want an integer from %d to %d)", name, lo, hi))
		return def
	}
	return n
}

// Bool returns the variable as a boolean, false when unset.
func (e *Env) Bool(name string) bool {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.invalid = append(e.invalid, name+" (want true or false)")
	}
	return b
}

// Err returns one error naming every missing or invalid variable.
func (e *Env) Err() error {
	var errs []error
	if len(e.missing) > 0 {
		errs = append(errs, fmt.Errorf("missing environment variables: %s", strings.Join(e.missing, ", ")))
	}
	if len(e.invalid) > 0 {
		errs = append(errs, fmt.Errorf("invalid environment variables: %s", strings.Join(e.invalid, ", ")))
	}
	return errors.Join(errs...)
}

// AWS builds the SDK configuration every client of a function shares from
// the variables the Lambda service sets for every function: AWS_REGION and
// the execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_SESSION_TOKEN, valid for the life of the execution environment).
// AWS_ENDPOINT_URL, when set, sends every client to one endpoint (a local
// emulator). A missing region or key is reported with the other missing
// variables by Err.
//
// It does not use the SDK's config.LoadDefaultConfig: that walks shared
// files, profiles, SSO, STS and the instance metadata service, none of which
// a function has, and links them all into every binary (about 1.2 MB each).
// opts adjust the result, e.g. a test's HTTP client.
func (e *Env) AWS(opts ...func(*aws.Config)) aws.Config {
	region := e.Optional("AWS_REGION", strings.TrimSpace(os.Getenv("AWS_DEFAULT_REGION")))
	if region == "" {
		e.missing = append(e.missing, "AWS_REGION")
	}
	creds := aws.Credentials{
		AccessKeyID:     e.String("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: e.String("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    e.Optional("AWS_SESSION_TOKEN", ""),
		Source:          "environment",
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
	}
	if url := e.Optional("AWS_ENDPOINT_URL", ""); url != "" {
		cfg.BaseEndpoint = aws.String(url)
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// MustBuild builds a function's handler once, at cold start, with the
// Lambda logger (JSON, with the request id) behind safelog.Handler, so
// that no error attribute of any log line carries an AWS service's message
// (which may quote an address or a name). A configuration error is logged
// and ends the process, which Lambda reports as an init failure. Every
// function's main is
//
//	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
func MustBuild[H any](build func(context.Context, *slog.Logger, ...func(*aws.Config)) (H, error)) H {
	log := slog.New(safelog.Handler(lambdacontext.NewLogHandler()))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	return h
}
