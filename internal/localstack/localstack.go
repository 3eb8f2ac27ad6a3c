// Package localstack provisions, in a local AWS emulator (moto), the
// resources template.yaml declares and seeds a demo practice in them. It is
// what `make run` and its tests stand the system up with; unlike
// internal/emulatortest it reports errors instead of failing a test.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"
)

// Region and Account are what every local resource and ARN uses;
// StackName is the stack's name a function is told (AWS::StackName), which
// its metrics carry.
const (
	Region    = "us-east-1"
	Account   = "123456789012"
	StackName = "rtbf-local"
)

// Stack names the local copy of the resources and holds clients for them.
type Stack struct {
	Endpoint      string
	Table         string
	Bucket        string
	ExportsBucket string
	ScheduleGroup string
	Sender        string
	SchedulerRole string
	DeadLetterARN string

	Config    aws.Config
	DynamoDB  *dynamodb.Client
	S3        *s3.Client
	Scheduler *scheduler.Client
	SES       *sesv2.Client
}

// FunctionARN is the ARN a local function goes by.
func FunctionARN(name string) string {
	return "arn:aws:lambda:" + Region + ":" + Account + ":function:" + name
}

// Config is an SDK configuration for the emulator at endpoint, with fake
// credentials and nothing read from the host's AWS profile.
func Config(ctx context.Context, endpoint string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithSharedConfigFiles(nil),
		awsconfig.WithSharedCredentialsFiles(nil),
	)
}

// New names the resources after prefix (e.g. "rtbf-local") and builds the
// clients; it creates nothing.
func New(ctx context.Context, endpoint, prefix string) (*Stack, error) {
	endpoint = strings.TrimRight(endpoint, "/")
	cfg, err := Config(ctx, endpoint)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return &Stack{
		Endpoint:      endpoint,
		Table:         prefix,
		Bucket:        prefix + "-documents",
		ExportsBucket: prefix + "-exports",
		ScheduleGroup: prefix + "-purge",
		Sender:        "no-reply@" + prefix + ".example.com",
		SchedulerRole: "arn:aws:iam::" + Account + ":role/" + prefix + "-scheduler",
		DeadLetterARN: "arn:aws:sqs:" + Region + ":" + Account + ":" + prefix + "-schedule-dlq",
		Config:        cfg,
		DynamoDB:      dynamodb.NewFromConfig(cfg),
		S3:            s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		Scheduler:     scheduler.NewFromConfig(cfg),
		SES:           sesv2.NewFromConfig(cfg),
	}, nil
}

// Provision creates the table, versioned documents bucket, exports
// bucket, schedule group and verified sender. Resources that already exist
// (a second run against the same emulator) are kept.
func (s *Stack) Provision(ctx context.Context) error {
	if err := PrepareEmulator(ctx, s.Endpoint); err != nil {
		return err
	}
	if err := CreateTable(ctx, s.DynamoDB, s.Table); err != nil && !exists(err) {
		return fmt.Errorf("create table %s: %w", s.Table, err)
	}
	if err := CreateBucket(ctx, s.S3, s.Bucket); err != nil && !exists(err) {
		return fmt.Errorf("create bucket %s: %w", s.Bucket, err)
	}
	if err := CreateExportsBucket(ctx, s.S3, s.ExportsBucket); err != nil && !exists(err) {
		return fmt.Errorf("create bucket %s: %w", s.ExportsBucket, err)
	}
	if _, err := s.Scheduler.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: &s.ScheduleGroup}); err != nil && !exists(err) {
		return fmt.Errorf("create schedule group %s: %w", s.ScheduleGroup, err)
	}
	if _, err := s.SES.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: &s.Sender}); err != nil && !exists(err) {
		return fmt.Errorf("create email identity: %w", err)
	}
	return nil
}

// AlreadyExists reports whether err says the resource exists already: a
// second run, or an SDK retry of a create whose first answer was lost.
func AlreadyExists(err error) bool { return exists(err) }

func exists(err error) bool {
	var inUse *ddbtypes.ResourceInUseException
	var conflict *schedtypes.ConflictException
	if errors.As(err, &inUse) || errors.As(err, &conflict) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "BucketAlreadyOwnedByYou", "BucketAlreadyExists", "AlreadyExistsException", "ResourceInUseException", "ConflictException":
			return true
		}
	}
	return false
}

// CreateTable creates the service's table as template.yaml declares it.
func CreateTable(ctx context.Context, db *dynamodb.Client, name string) error {
	in, err := TableInput(name)
	if err != nil {
		return err
	}
	_, err = db.CreateTable(ctx, in)
	return err
}

// CreateBucket creates the documents bucket with the versioning and the
// lifecycle template.yaml declares.
func CreateBucket(ctx context.Context, c *s3.Client, name string) error {
	versioning, lifecycle, err := bucketConfig(name)
	if err != nil {
		return err
	}
	return createBucket(ctx, c, name, versioning, lifecycle)
}

// CreateExportsBucket creates the exports bucket with the lifecycle
// template.yaml declares.
func CreateExportsBucket(ctx context.Context, c *s3.Client, name string) error {
	versioning, lifecycle, err := exportsBucketConfig(name)
	if err != nil {
		return err
	}
	return createBucket(ctx, c, name, versioning, lifecycle)
}

// createBucket creates the bucket, or keeps it when it exists (an SDK
// retry of a create whose answer was lost, or a second run), and sets its
// versioning and lifecycle either way.
func createBucket(ctx context.Context, c *s3.Client, name string, versioning *s3.PutBucketVersioningInput, lifecycle *s3.PutBucketLifecycleConfigurationInput) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil && !exists(err) {
		return err
	}
	if versioning != nil {
		if _, err := c.PutBucketVersioning(ctx, versioning); err != nil {
			return fmt.Errorf("versioning: %w", err)
		}
	}
	if lifecycle != nil {
		if _, err := c.PutBucketLifecycleConfiguration(ctx, lifecycle); err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
	}
	return nil
}
