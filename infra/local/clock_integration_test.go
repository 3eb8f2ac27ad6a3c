//go:build integration

package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
)

// clockTarget is a local function that records its invocations.
type clockTarget struct {
	mu    sync.Mutex
	calls []string
}

func (r *clockTarget) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, string(payload))
	return []byte(`{"ok":true}`), nil
}

func (r *clockTarget) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// The local scheduler's clock fires, on its own, each schedule due by the
// real clock once, and deletes it; one not yet due stays.
func TestLocal_SchedulerClock(t *testing.T) {
	st := emulatortest.Provision(t)
	ctx := context.Background()
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:clock-test"
	create := func(name string, at time.Time) {
		t.Helper()
		_, err := st.Scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name: aws.String(name), GroupName: &st.ScheduleGroup,
			ScheduleExpression:         aws.String("at(" + at.UTC().Format("2006-01-02T15:04:05") + ")"),
			ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow:         &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
			ActionAfterCompletion:      schedtypes.ActionAfterCompletionDelete,
			Target: &schedtypes.Target{
				Arn: aws.String(arn), RoleArn: aws.String(st.SchedulerRole), Input: aws.String(`{"exportId":"` + name + `"}`),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	create("due", time.Now().Add(-time.Minute))
	create("later", time.Now().Add(time.Hour))

	fn := &clockTarget{}
	l := &localAPI{
		sched: st.Scheduler, group: st.ScheduleGroup, targets: map[string]invoker{arn: fn},
		log: slog.New(slog.DiscardHandler), now: time.Now,
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.tick(tctx, 50*time.Millisecond)
	}()
	ok := emulatortest.Eventually(t, 5*time.Second, func() bool { return len(fn.Calls()) > 0 })
	time.Sleep(300 * time.Millisecond) // several more ticks
	cancel()
	<-done
	if !ok {
		t.Fatal("the clock fired nothing")
	}
	if got := fn.Calls(); len(got) != 1 || got[0] != `{"exportId":"due"}` {
		t.Fatalf("invocations: got %q, want the due schedule's input once", got)
	}
	var missing *schedtypes.ResourceNotFoundException
	if _, err := st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("due"), GroupName: &st.ScheduleGroup}); !errors.As(err, &missing) {
		t.Errorf("the fired schedule: got %v, want it deleted", err)
	}
	if _, err := st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("later"), GroupName: &st.ScheduleGroup}); err != nil {
		t.Errorf("the schedule not yet due: got %v, want it kept", err)
	}
}
