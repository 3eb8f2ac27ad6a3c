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
	"github.com/wellness-rtbf/rtbf/internal/localstack"
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

// flakyTarget is a local function that fails its first fails invocations.
type flakyTarget struct {
	mu    sync.Mutex
	fails int
	calls int
}

func (f *flakyTarget) Invoke(context.Context, []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.fails {
		return nil, &FunctionError{Type: "wrapError", Message: "purge r1: documents: boom"}
	}
	return []byte(`{"ok":true}`), nil
}

func (f *flakyTarget) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// A schedule whose target fails is retried as AWS would, then goes to the
// dead-letter queue, not for ever: a function that fails, per its
// EventInvokeConfig (Lambda's retries of the asynchronous invocation, a
// minute and two minutes later); a target Scheduler cannot invoke, per the
// schedule's RetryPolicy (retries and the events' age). Each run goes
// through POST /_local/scheduler/run?at=, which moves the local clock.
func TestLocal_SchedulerRetries(t *testing.T) {
	st := emulatortest.Provision(t)
	ctx := context.Background()
	const (
		failing = "arn:aws:lambda:us-east-1:123456789012:function:failing"
		flaky   = "arn:aws:lambda:us-east-1:123456789012:function:flaky"
		missing = "arn:aws:lambda:us-east-1:123456789012:function:missing"
	)
	start := time.Now().Truncate(time.Second)
	create := func(name, arn string, policy *schedtypes.RetryPolicy) {
		t.Helper()
		_, err := st.Scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name: aws.String(name), GroupName: &st.ScheduleGroup,
			ScheduleExpression:         aws.String("at(" + start.UTC().Format("2006-01-02T15:04:05") + ")"),
			ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow:         &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
			ActionAfterCompletion:      schedtypes.ActionAfterCompletionDelete,
			Target: &schedtypes.Target{
				Arn: aws.String(arn), RoleArn: aws.String(st.SchedulerRole), Input: aws.String(`{"requestId":"` + name + `"}`),
				RetryPolicy:      policy,
				DeadLetterConfig: &schedtypes.DeadLetterConfig{Arn: aws.String(st.DeadLetterARN)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	exists := func(name string) bool {
		_, err := st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: &st.ScheduleGroup})
		var missing *schedtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &missing) {
			t.Fatal(err)
		}
		return err == nil
	}
	file := clock.NewFile(filepath.Join(t.TempDir(), "clock"))
	fail, flake := &flakyTarget{fails: 1000}, &flakyTarget{fails: 1}
	l := &localAPI{
		sched: st.Scheduler, group: st.ScheduleGroup, targets: map[string]invoker{failing: fail, flaky: flake},
		async: map[string]localstack.AsyncRetry{failing: {MaxRetries: 2, MaxAgeSec: 6 * 3600}, flaky: {MaxRetries: 2, MaxAgeSec: 6 * 3600}},
		log:   slog.New(slog.DiscardHandler), now: file.Now, travel: file.Travel,
	}
	run := func(at time.Time) map[string]ranSchedule {
		t.Helper()
		w := httptest.NewRecorder()
		l.runScheduler(w, httptest.NewRequest("POST", "/_local/scheduler/run?at="+at.UTC().Format(time.RFC3339), nil))
		var body struct{ Ran []ranSchedule }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
			t.Fatalf("run at %s: got %d %s, want 200", at, w.Code, w.Body)
		}
		out := map[string]ranSchedule{}
		for _, r := range body.Ran {
			out[r.Name] = r
		}
		return out
	}
	deadLetters := func() []deadLetter {
		t.Helper()
		w := httptest.NewRecorder()
		l.listDeadLetters(w, httptest.NewRequest("GET", "/_local/scheduler/dead-letters", nil))
		var body struct{ DeadLetters []deadLetter }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
			t.Fatalf("dead letters: got %d %s", w.Code, w.Body)
		}
		return body.DeadLetters
	}

	create("fails", failing, nil)
	create("flaky", flaky, nil)
	create("unknown", missing, &schedtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(1), MaximumEventAgeInSeconds: aws.Int32(3600)})
	create("too-old", missing, &schedtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(185), MaximumEventAgeInSeconds: aws.Int32(60)})

	// First attempts, at the schedules' time.
	ran := run(start)
	if r := ran["fails"]; r.Attempt != 1 || r.Error == "" || r.RetryAt == nil || !r.RetryAt.Equal(start.Add(time.Minute)) || r.DeadLetter || r.Deleted {
		t.Fatalf("fails, attempt 1: got %+v, want an error and a retry a minute later", r)
	}
	if r := ran["flaky"]; r.Attempt != 1 || r.RetryAt == nil {
		t.Fatalf("flaky, attempt 1: got %+v, want a retry", r)
	}
	if r := ran["unknown"]; r.Attempt != 1 || r.RetryAt == nil || !r.RetryAt.Equal(start.Add(time.Second)) {
		t.Fatalf("unknown, attempt 1: got %+v, want a retry a second later", r)
	}
	// Nothing is retried before its time.
	if ran := run(start.Add(500 * time.Millisecond)); len(ran) != 0 || fail.Calls() != 1 {
		t.Fatalf("before the retries are due: got %+v (%d calls), want nothing run", ran, fail.Calls())
	}

	// The schedule's retry (one allowed) fails too: dead-lettered. The
	// events of too-old may wait 60 s: its next retry, two seconds on,
	// still fits.
	ran = run(start.Add(2 * time.Second))
	if r := ran["unknown"]; r.Attempt != 2 || !r.DeadLetter || !r.Deleted || r.RetryAt != nil {
		t.Fatalf("unknown, attempt 2: got %+v, want the dead-letter queue and the schedule deleted", r)
	}
	if r := ran["too-old"]; r.Attempt != 2 || r.DeadLetter {
		t.Fatalf("too-old, attempt 2: got %+v, want another retry", r)
	}
	// An hour on, its next retry would come past the events' age.
	ran = run(start.Add(time.Hour))
	if r := ran["too-old"]; !r.DeadLetter || !r.Deleted {
		t.Fatalf("too-old an hour on: got %+v, want the dead-letter queue", r)
	}
	// That hour also ran the function's retries once each: the flaky one
	// succeeds; the failing one has one retry left.
	if r := ran["flaky"]; r.Attempt != 2 || r.Error != "" || !r.Deleted || r.DeadLetter {
		t.Fatalf("flaky, attempt 2: got %+v, want it done and deleted", r)
	}
	if r := ran["fails"]; r.Attempt != 2 || r.RetryAt == nil || r.DeadLetter {
		t.Fatalf("fails, attempt 2: got %+v, want a last retry", r)
	}
	ran = run(r0(ran["fails"]).Add(time.Second))
	if r := ran["fails"]; r.Attempt != 3 || !r.DeadLetter || !r.Deleted {
		t.Fatalf("fails, attempt 3: got %+v, want the dead-letter queue after Lambda's two retries", r)
	}
	if ran := run(start.Add(3 * time.Hour)); len(ran) != 0 {
		t.Fatalf("after the dead-letter queue: got %+v, want nothing more", ran)
	}
	if fail.Calls() != 3 || flake.Calls() != 2 {
		t.Errorf("calls: got %d and %d, want 3 (one and two retries) and 2", fail.Calls(), flake.Calls())
	}
	for _, name := range []string{"fails", "flaky", "unknown", "too-old"} {
		if exists(name) {
			t.Errorf("%s: still scheduled, want it deleted once its delivery ended", name)
		}
	}

	dls := deadLetters()
	byName := map[string]deadLetter{}
	for _, d := range dls {
		byName[d.Schedule] = d
	}
	if len(dls) != 3 {
		t.Fatalf("dead letters: got %+v, want unknown, too-old and fails", dls)
	}
	for name, want := range map[string]struct {
		attempts int
		reason   string
	}{
		"unknown": {2, "the schedule's RetryPolicy: 1 retries spent"},
		"too-old": {3, "the schedule's RetryPolicy: events older than 1m0s are given up"},
		"fails":   {3, "the function's EventInvokeConfig: 2 retries spent"},
	} {
		d := byName[name]
		if d.Attempts != want.attempts || d.Reason != want.reason || d.Queue != st.DeadLetterARN || d.Error == "" ||
			string(d.Input) != `{"requestId":"`+name+`"}` {
			t.Errorf("dead letter %s: got %+v, want %d attempts, reason %q, the schedule's queue and input", name, d, want.attempts, want.reason)
		}
	}
}

// r0 is when a ran schedule is retried (the zero time if it is not).
func r0(r ranSchedule) time.Time {
	if r.RetryAt == nil {
		return time.Time{}
	}
	return *r.RetryAt
}
