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

// childCommand runs one purge, wired as the purge function wires it, in
// this process alone, so that its memory is its own.
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The purge function's deadline: a Lambda invocation of 15 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var env config.Env
	table, bucket := env.String("TABLE_NAME"), env.String("DOCUMENTS_BUCKET")
	concurrency := env.Int("PURGE_CONCURRENCY", 8, 1, 64)
	cfg := env.AWS()
	if err := env.Err(); err != nil {
		return err
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	svc := erasure.NewPurger(store, store, store, store,
		s3objects.New(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), bucket),
		oneshot.New(scheduler.NewFromConfig(cfg), oneshot.Config{Group: "unused", TargetARN: "unused", RoleARN: "unused", DeadLetterARN: "unused"}),
		discardMailer{}, // the client's receipt email is not what is measured
		discardLedger{}, // nor the erasure record (one KMS signature and one put)
		erasure.PurgeConfig{Concurrency: concurrency},
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
