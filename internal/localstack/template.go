package localstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gopkg.in/yaml.v3"
)

// The local stack's table and bucket are read from template.yaml, so they
// cannot drift from what `sam deploy` creates. Only the properties an
// emulator acts on are taken: keys, indexes, versioning and the lifecycle.

// template is the part of template.yaml read here.
type template struct {
	Resources struct {
		Table struct {
			Properties struct {
				AttributeDefinitions []struct {
					AttributeName string `yaml:"AttributeName"`
					AttributeType string `yaml:"AttributeType"`
				} `yaml:"AttributeDefinitions"`
				KeySchema              []keyElement `yaml:"KeySchema"`
				GlobalSecondaryIndexes []struct {
					IndexName  string       `yaml:"IndexName"`
					KeySchema  []keyElement `yaml:"KeySchema"`
					Projection struct {
						ProjectionType string `yaml:"ProjectionType"`
					} `yaml:"Projection"`
				} `yaml:"GlobalSecondaryIndexes"`
			} `yaml:"Properties"`
		} `yaml:"Table"`
		DocumentsBucket       bucketResource `yaml:"DocumentsBucket"`
		ExportsBucket         bucketResource `yaml:"ExportsBucket"`
		EvidenceBucket        bucketResource `yaml:"EvidenceBucket"`
		CertificateSigningKey struct {
			Properties struct {
				KeySpec  string `yaml:"KeySpec"`
				KeyUsage string `yaml:"KeyUsage"`
			} `yaml:"Properties"`
		} `yaml:"CertificateSigningKey"`
	} `yaml:"Resources"`
}

// bucketResource is the part of an AWS::S3::Bucket read here.
type bucketResource struct {
	Properties struct {
		ObjectLockEnabled       bool `yaml:"ObjectLockEnabled"`
		ObjectLockConfiguration struct {
			ObjectLockEnabled string `yaml:"ObjectLockEnabled"`
			Rule              struct {
				DefaultRetention struct {
					Mode  string    `yaml:"Mode"`
					Years yaml.Node `yaml:"Years"` // a number, or !Ref a parameter
					Days  yaml.Node `yaml:"Days"`
				} `yaml:"DefaultRetention"`
			} `yaml:"Rule"`
		} `yaml:"ObjectLockConfiguration"`
		VersioningConfiguration struct {
			Status string `yaml:"Status"`
		} `yaml:"VersioningConfiguration"`
		LifecycleConfiguration struct {
			Rules []struct {
				ID                          string `yaml:"Id"`
				Status                      string `yaml:"Status"`
				ExpirationInDays            int32  `yaml:"ExpirationInDays"`
				NoncurrentVersionExpiration *struct {
					NoncurrentDays int32 `yaml:"NoncurrentDays"`
				} `yaml:"NoncurrentVersionExpiration"`
				AbortIncompleteMultipartUpload *struct {
					DaysAfterInitiation int32 `yaml:"DaysAfterInitiation"`
				} `yaml:"AbortIncompleteMultipartUpload"`
				ExpiredObjectDeleteMarker bool `yaml:"ExpiredObjectDeleteMarker"`
			} `yaml:"Rules"`
		} `yaml:"LifecycleConfiguration"`
	} `yaml:"Properties"`
}

type keyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// TemplatePath finds template.yaml in the working directory or the nearest
// one above it that has one (tests run in their package's directory).
func TemplatePath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "template.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("template.yaml not found in this directory or above")
		}
		dir = parent
	}
}

func loadTemplate() (*template, error) {
	path, err := TemplatePath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t template
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(t.Resources.Table.Properties.KeySchema) == 0 {
		return nil, fmt.Errorf("%s: Resources.Table has no KeySchema", path)
	}
	return &t, nil
}

func keySchema(ks []keyElement) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)}
	}
	return out
}

// TableInput is the CreateTable request for the template's table, named name.
func TableInput(name string) (*dynamodb.CreateTableInput, error) {
	t, err := loadTemplate()
	if err != nil {
		return nil, err
	}
	p := t.Resources.Table.Properties
	in := &dynamodb.CreateTableInput{
		TableName:   &name,
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(p.KeySchema),
	}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range p.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(g.Projection.ProjectionType)},
		})
	}
	return in, nil
}

// bucketConfig is the template's versioning and lifecycle for the documents
// bucket.
func bucketConfig(bucket string) (*s3.PutBucketVersioningInput, *s3.PutBucketLifecycleConfigurationInput, error) {
	t, err := loadTemplate()
	if err != nil {
		return nil, nil, err
	}
	versioning, lifecycle := bucketInputs(t.Resources.DocumentsBucket, bucket)
	return versioning, lifecycle, nil
}

// exportsBucketConfig is the template's versioning and lifecycle for the
// exports bucket.
func exportsBucketConfig(bucket string) (*s3.PutBucketVersioningInput, *s3.PutBucketLifecycleConfigurationInput, error) {
	t, err := loadTemplate()
	if err != nil {
		return nil, nil, err
	}
	if len(t.Resources.ExportsBucket.Properties.LifecycleConfiguration.Rules) == 0 {
		return nil, nil, errors.New("template.yaml: Resources.ExportsBucket has no lifecycle rules")
	}
	versioning, lifecycle := bucketInputs(t.Resources.ExportsBucket, bucket)
	return versioning, lifecycle, nil
}

// bucketInputs turns a bucket resource's properties into the emulator's
// requests.
func bucketInputs(r bucketResource, bucket string) (*s3.PutBucketVersioningInput, *s3.PutBucketLifecycleConfigurationInput) {
	p := r.Properties
	var versioning *s3.PutBucketVersioningInput
	if p.VersioningConfiguration.Status != "" {
		versioning = &s3.PutBucketVersioningInput{
			Bucket:                  &bucket,
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(p.VersioningConfiguration.Status)},
		}
	}
	var rules []s3types.LifecycleRule
	for _, r := range p.LifecycleConfiguration.Rules {
		rule := s3types.LifecycleRule{
			ID:     aws.String(r.ID),
			Status: s3types.ExpirationStatus(r.Status),
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
		}
		if r.NoncurrentVersionExpiration != nil {
			rule.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(r.NoncurrentVersionExpiration.NoncurrentDays)}
		}
		if r.AbortIncompleteMultipartUpload != nil {
			rule.AbortIncompleteMultipartUpload = &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation)}
		}
		if r.ExpiredObjectDeleteMarker {
			rule.Expiration = &s3types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)}
		}
		if r.ExpirationInDays > 0 {
			rule.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(r.ExpirationInDays)}
		}
		rules = append(rules, rule)
	}
	var lifecycle *s3.PutBucketLifecycleConfigurationInput
	if len(rules) > 0 {
		lifecycle = &s3.PutBucketLifecycleConfigurationInput{Bucket: &bucket, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}}
	}
	return versioning, lifecycle
}

// evidenceBucketConfig is the template's evidence bucket: Object Lock with
// its default retention (years from the template's parameter: params, or
// its default), versioning and lifecycle.
func evidenceBucketConfig(bucket string, params map[string]string) (*s3.PutObjectLockConfigurationInput, *s3.PutBucketVersioningInput, *s3.PutBucketLifecycleConfigurationInput, error) {
	t, err := loadTemplate()
	if err != nil {
		return nil, nil, nil, err
	}
	p := t.Resources.EvidenceBucket.Properties
	lock := p.ObjectLockConfiguration
	if !p.ObjectLockEnabled || lock.ObjectLockEnabled != "Enabled" || lock.Rule.DefaultRetention.Mode == "" {
		return nil, nil, nil, errors.New("template.yaml: Resources.EvidenceBucket has no Object Lock with a default retention")
	}
	ret := &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionMode(lock.Rule.DefaultRetention.Mode)}
	for _, f := range []struct {
		node *yaml.Node
		set  func(int32)
	}{
		{&lock.Rule.DefaultRetention.Years, func(n int32) { ret.Years = aws.Int32(n) }},
		{&lock.Rule.DefaultRetention.Days, func(n int32) { ret.Days = aws.Int32(n) }},
	} {
		if f.node.Kind == 0 {
			continue
		}
		v := f.node.Value
		if f.node.Tag == "!Ref" {
			if pv, ok := params[v]; ok {
				v = pv
			} else if v, err = ParameterDefault(v); err != nil {
				return nil, nil, nil, err
			}
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return nil, nil, nil, fmt.Errorf("template.yaml: EvidenceBucket's default retention %q is not a positive number", v)
		}
		f.set(int32(n))
	}
	if ret.Years == nil && ret.Days == nil {
		return nil, nil, nil, errors.New("template.yaml: EvidenceBucket's default retention has no Years or Days")
	}
	versioning, lifecycle := bucketInputs(t.Resources.EvidenceBucket, bucket)
	return &s3.PutObjectLockConfigurationInput{
		Bucket: &bucket,
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
			ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule:              &s3types.ObjectLockRule{DefaultRetention: ret},
		},
	}, versioning, lifecycle, nil
}

// signingKeyConfig is the template's certificate signing key: its spec and
// usage.
func signingKeyConfig() (spec, usage string, err error) {
	t, err := loadTemplate()
	if err != nil {
		return "", "", err
	}
	k := t.Resources.CertificateSigningKey.Properties
	if k.KeySpec == "" || k.KeyUsage == "" {
		return "", "", errors.New("template.yaml: Resources.CertificateSigningKey has no KeySpec or KeyUsage")
	}
	return k.KeySpec, k.KeyUsage, nil
}
