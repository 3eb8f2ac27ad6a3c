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
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
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
	// EvidenceBucket is the evidence ledger's bucket (Object Lock);
	// CertificateKey the id of the KMS key that signs the certificates,
	// known once Provision made it (CertificateKeyAlias names it).
	EvidenceBucket      string
	CertificateKeyAlias string
	CertificateKey      string
	ScheduleGroup       string
	Sender              string
	SchedulerRole       string
	DeadLetterARN       string

	Config    aws.Config
	DynamoDB  *dynamodb.Client
	S3        *s3.Client
	KMS       *kms.Client
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
		Endpoint:            endpoint,
		Table:               prefix,
		Bucket:              prefix + "-documents",
		ExportsBucket:       prefix + "-exports",
		EvidenceBucket:      prefix + "-evidence",
		CertificateKeyAlias: "alias/" + prefix + "-erasure-certificates",
		ScheduleGroup:       prefix + "-purge",
		Sender:              "no-reply@" + prefix + ".example.com",
		SchedulerRole:       "arn:aws:iam::" + Account + ":role/" + prefix + "-scheduler",
		DeadLetterARN:       "arn:aws:sqs:" + Region + ":" + Account + ":" + prefix + "-schedule-dlq",
		Config:              cfg,
		DynamoDB:            dynamodb.NewFromConfig(cfg),
		S3:                  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		KMS:                 kms.NewFromConfig(cfg),
		Scheduler:           scheduler.NewFromConfig(cfg),
		SES:                 sesv2.NewFromConfig(cfg),
	}, nil
}

// Provision creates the table, versioned documents bucket, exports
// bucket, evidence bucket (Object Lock), certificate signing key, schedule
// group and verified sender. Resources that already exist (a second run
// against the same emulator) are kept.
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
	if err := CreateEvidenceBucket(ctx, s.S3, s.EvidenceBucket, nil); err != nil {
		return fmt.Errorf("create bucket %s: %w", s.EvidenceBucket, err)
	}
	key, err := CreateSigningKey(ctx, s.KMS, s.CertificateKeyAlias)
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	s.CertificateKey = key
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

// CreateEvidenceBucket creates the evidence bucket as template.yaml
// declares it: Object Lock enabled at creation (it cannot be added later),
// versioning, the default retention (its years from params, or the
// template parameter's default) and the lifecycle. A bucket that exists
// is kept and configured again.
func CreateEvidenceBucket(ctx context.Context, c *s3.Client, name string, params map[string]string) error {
	lock, versioning, lifecycle, err := evidenceBucketConfig(name, params)
	if err != nil {
		return err
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil && !exists(err) {
		return err
	}
	if err := createBucket(ctx, c, name, versioning, lifecycle); err != nil {
		return err
	}
	if _, err := c.PutObjectLockConfiguration(ctx, lock); err != nil {
		return fmt.Errorf("object lock: %w", err)
	}
	return nil
}

// CreateSigningKey makes the certificate signing key as template.yaml
// declares it (spec and usage), under alias, and returns its id; when the
// alias names a key already (a second run), that key's id.
func CreateSigningKey(ctx context.Context, c *kms.Client, alias string) (string, error) {
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &alias})
	if err == nil {
		return aws.ToString(d.KeyMetadata.KeyId), nil
	}
	var nf *kmstypes.NotFoundException
	if !errors.As(err, &nf) {
		return "", fmt.Errorf("describe %s: %w", alias, err)
	}
	spec, usage, err := signingKeyConfig()
	if err != nil {
		return "", err
	}
	k, err := c.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     kmstypes.KeySpec(spec),
		KeyUsage:    kmstypes.KeyUsageType(usage),
		Description: aws.String("Signs the erasure certificates (local)"),
	})
	if err != nil {
		return "", err
	}
	id := aws.ToString(k.KeyMetadata.KeyId)
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &alias, TargetKeyId: &id}); err != nil {
		return "", fmt.Errorf("alias %s: %w", alias, err)
	}
	return id, nil
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
