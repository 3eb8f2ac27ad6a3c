package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/wellness-rtbf/rtbf/internal/config"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

// childCommand runs one invocation of the purge, wired as the purge
// function wires it, in this process alone, so that its memory is its own.
const childCommand = "purge-child"

type childResult struct {
	Status  erasure.Status `json:"status"`
	Seconds float64        `json:"seconds"`
	PeakKiB int            `json:"peakKiB"`
}

// peakRSS is this process's peak resident memory in KiB (VmHWM), counted
// from its exec. (The parent's rusage for a child is no use here: Go starts
// a child with a vfork-style clone, and the child's maxrss then includes the
// parent's memory.)
func peakRSS() (int, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

func runChild(args []string) error {
	fs := flag.NewFlagSet(childCommand, flag.ContinueOnError)
	id := fs.String("request", "", "request id")
	deadline := fs.Duration("deadline", 15*time.Minute, "the invocation's deadline")
	margin := fs.Duration("margin", time.Minute, "what the purge keeps free before the deadline")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The purge function's deadline: a Lambda invocation's.
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	var env config.Env
	table, bucket := env.String("TABLE_NAME"), env.String("DOCUMENTS_BUCKET")
	group, target, role, dlq := env.String("SCHEDULE_GROUP"), env.String("PURGE_FUNCTION_ARN"), env.String("SCHEDULER_ROLE_ARN"), env.String("DEAD_LETTER_ARN")
	concurrency := env.Int("PURGE_CONCURRENCY", 8, 1, 64)
	cfg := env.AWS()
	if err := env.Err(); err != nil {
		return err
	}
	store := dynamostore.New(dynamostore.ForBatch(dynamodb.NewFromConfig(cfg)), table)
	svc := erasure.NewPurger(store, store, store, store,
		s3objects.New(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), bucket),
		oneshot.New(scheduler.NewFromConfig(cfg), oneshot.Config{Group: group, TargetARN: target, RoleARN: role, DeadLetterARN: dlq}),
		discardMailer{}, // the client's receipt email is not what is measured
		discardLedger{}, // nor the erasure record (one KMS signature and one put)
		erasure.PurgeConfig{Concurrency: concurrency, Margin: *margin},
		erasure.Options{Log: slog.New(safelog.Handler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))})
	start := time.Now()
	r, err := svc.Purge(ctx, *id)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	secs := time.Since(start).Seconds()
	peak, err := peakRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(childResult{Status: r.Status, Seconds: secs, PeakKiB: peak})
}
