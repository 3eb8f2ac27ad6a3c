//go:build integration

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/clock"
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

// A scheduler run at a later time moves the local clock there first, and
// never back; the scheduler's own ticks then go by that clock, so a
// schedule made after the move (an export's, a minute out) fires a minute
// later, not a month.
func TestLocal_SchedulerTravels(t *testing.T) {
	st := emulatortest.Provision(t)
	ctx := context.Background()
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:travel-test"
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
	file := clock.NewFile(filepath.Join(t.TempDir(), "clock"))
	fn := &clockTarget{}
	l := &localAPI{
		sched: st.Scheduler, group: st.ScheduleGroup, targets: map[string]invoker{arn: fn},
		log: slog.New(slog.DiscardHandler), now: file.Now, travel: file.Travel,
	}
	run := func(at time.Time) map[string]any {
		t.Helper()
		w := httptest.NewRecorder()
		l.runScheduler(w, httptest.NewRequest("POST", "/_local/scheduler/run?at="+at.UTC().Format(time.RFC3339), nil))
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
			t.Fatalf("run at %s: got %d %s, want 200", at, w.Code, w.Body)
		}
		return body
	}

	month := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	create("purge", month)
	body := run(month.Add(time.Minute))
	if got := fn.Calls(); len(got) != 1 || got[0] != `{"exportId":"purge"}` {
		t.Fatalf("run a month on: got invocations %q, want the purge's", got)
	}
	clockAt, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(body["clock"]))
	if clockAt.Before(month.Add(time.Minute)) {
		t.Errorf("clock after the run: got %v, want at or after %s", body["clock"], month.Add(time.Minute))
	}

	// Back in time: what was due then fires, the clock stays.
	before := file.Now()
	run(time.Now())
	if now := file.Now(); now.Before(before) {
		t.Errorf("after a run at the real time: got %s, want no earlier than %s", now, before)
	}

	// A schedule a second ahead of the local clock (a month ahead of the
	// real one): the ticks fire it once that second has passed.
	create("export", file.Now().Add(time.Second))
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.tick(tctx, 50*time.Millisecond)
	}()
	ok := emulatortest.Eventually(t, 10*time.Second, func() bool { return len(fn.Calls()) > 1 })
	cancel()
	<-done
	if got := fn.Calls(); !ok || len(got) != 2 || got[1] != `{"exportId":"export"}` {
		t.Fatalf("ticks after the move: got invocations %q, want the export's after the purge's", got)
	}
}
