// Package config reads a function's configuration from its environment,
// all at once, and builds the AWS SDK configuration every client shares.
package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
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

// AWS loads the SDK configuration the standard way: credentials, region and
// endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, ...) all come from
// the environment, so one binary runs against AWS and a local emulator.
func AWS(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
