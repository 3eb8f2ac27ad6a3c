// Package oneshot is the EventBridge Scheduler adapter of the
// one-shot schedules: each invokes its target function once, with an
// input, and then deletes itself. A deletion request's purge
// (erasure.Scheduler) and an export's worker (export.Scheduler, in
// export.go) are scheduled so, each by a Scheduler configured with its
// target.
package oneshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Config names where schedules go and what they invoke.
type Config struct {
	Group          string // schedule group
	TargetARN      string // the function the schedules invoke
	RoleARN        string // the role Scheduler assumes to invoke it
	DeadLetterARN  string // SQS queue for deliveries that fail for good
	MaxRetries     int32  // Scheduler's delivery retries
	MaxEventAgeSec int32
}

// Scheduler creates one-shot schedules for one target.
type Scheduler struct {
	client *scheduler.Client
	cfg    Config
}

var _ erasure.Scheduler = (*Scheduler)(nil)

// New returns a Scheduler; zero retry settings get Scheduler's maximum
// (185 retries over 24 hours): a delivery must not be given up early.
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
	return s.CreateOneShot(ctx, OneShot{
		Name: ps.Name, At: ps.At, Input: Input{RequestID: ps.RequestID},
		Description: "Purge of client deletion request " + ps.RequestID,
	})
}

// OneShot is a schedule that fires once, at At, invoking the target with
// Input as JSON.
type OneShot struct {
	Name        string
	At          time.Time
	Input       any
	Description string
}

// CreateOneShot creates the schedule in the group: at(At) in UTC,
// flexible window off, deleted after it has run, with Scheduler's retries
// and the dead-letter queue. It returns identity.ErrAlreadyExists when a
// schedule with that name exists.
func (s *Scheduler) CreateOneShot(ctx context.Context, o OneShot) error {
	input, err := json.Marshal(o.Input)
	if err != nil {
		return err
	}
	_, err = s.client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name:                       &o.Name,
		GroupName:                  &s.cfg.Group,
		ScheduleExpression:         aws.String("at(" + o.At.UTC().Format("2006-01-02T15:04:05") + ")"),
		ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow:         &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		ActionAfterCompletion:      schedtypes.ActionAfterCompletionDelete,
		Description:                aws.String(o.Description),
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
		return fmt.Errorf("create schedule %s: %w", o.Name, identity.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", o.Name, err)
	}
	return nil
}
