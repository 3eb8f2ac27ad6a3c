package config

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestAWSReadsTheLambdaEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_SESSION_TOKEN", "TOKEN")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
	client := &http.Client{}
	var env Env
	cfg := env.AWS(func(c *aws.Config) { c.HTTPClient = client })
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-2" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:5000" || cfg.HTTPClient != client {
		t.Fatalf("config = region %q endpoint %q client %v", cfg.Region, aws.ToString(cfg.BaseEndpoint), cfg.HTTPClient)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "SECRET" || creds.SessionToken != "TOKEN" {
		t.Fatalf("credentials = %+v, %v", creds, err)
	}
}

func TestAWSFallsBackToTheDefaultRegionAndNeedsNoEndpoint(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_ENDPOINT_URL", "")
	var env Env
	cfg := env.AWS()
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-1" || cfg.BaseEndpoint != nil {
		t.Fatalf("region %q endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
}

func TestAWSNamesEveryMissingVariable(t *testing.T) {
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TABLE_NAME"} {
		t.Setenv(name, "")
	}
	var env Env
	env.String("TABLE_NAME")
	env.AWS()
	err := env.Err()
	if err == nil {
		t.Fatal("no error with nothing set")
	}
	for _, name := range []string{"TABLE_NAME", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
