// Package purgeschedule is the EventBridge Scheduler adapter of
// erasure.Scheduler: one one-shot schedule per deletion request, which
// invokes the purge function with the request id and then deletes itself.
package purgeschedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// Config names where schedules go and what they invoke.
type Config struct {
	Group          string // schedule group
	TargetARN      string // the purge function
	RoleARN        string // the role Scheduler assumes to invoke it
	DeadLetterARN  string // SQS queue for deliveries that fail for good
	MaxRetries     int32  // Scheduler's delivery retries
	MaxEventAgeSec int32
}

// Scheduler creates purge schedules.
type Scheduler struct {
	client *scheduler.Client
	cfg    Config
}

var _ erasure.Scheduler = (*Scheduler)(nil)

// New returns a Scheduler; zero retry settings get Scheduler's maximum
// (185 retries over 24 hours): a purge delivery must not be given up early.
func New(client *scheduler.Client, cfg Config) *Scheduler {
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 185
	}
	if cfg.MaxEventAgeSec == 0 {
		cfg.MaxEventAgeSec = 86400
	}
	return &Scheduler{client: client, cfg: cfg}
}

// Input is what the schedule passes to the purge function.
type Input struct {
	RequestID string `json:"requestId"`
}

func (s *Scheduler) DeletePurgeSchedule(ctx context.Context, name string) error {
	_, err := s.client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: &name, GroupName: &s.cfg.Group})
	var missing *schedtypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

func (s *Scheduler) CreatePurgeSchedule(ctx context.Context, ps erasure.PurgeSchedule) error {
	input, err := json.Marshal(Input{RequestID: ps.RequestID})
	if err != nil {
		return err
	}
	_, err = s.client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name:                       &ps.Name,
		GroupName:                  &s.cfg.Group,
		ScheduleExpression:         aws.String("at(" + ps.At.UTC().Format("2006-01-02T15:04:05") + ")"),
		ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow:         &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		ActionAfterCompletion:      schedtypes.ActionAfterCompletionDelete,
		Description:                aws.String("Purge of client deletion request " + ps.RequestID),
		Target: &schedtypes.Target{
			Arn:     &s.cfg.TargetARN,
			RoleArn: &s.cfg.RoleARN,
			Input:   aws.String(string(input)),
			RetryPolicy: &schedtypes.RetryPolicy{
				MaximumRetryAttempts:     aws.Int32(s.cfg.MaxRetries),
				MaximumEventAgeInSeconds: aws.Int32(s.cfg.MaxEventAgeSec),
			},
			DeadLetterConfig: &schedtypes.DeadLetterConfig{Arn: &s.cfg.DeadLetterARN},
		},
	})
	var conflict *schedtypes.ConflictException
	if errors.As(err, &conflict) {
		return fmt.Errorf("create schedule %s: %w", ps.Name, erasure.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", ps.Name, err)
	}
	return nil
}
