// Package model is a model of how AWS answers, put between the SDK and the
// local emulator (moto). moto answers every call at once, from one
// process, with no limit but its own speed; AWS does not. The model adds
// what decides a real purge's time and its failures, each parameter taken
// from AWS's documentation (the README's Benchmark section lists them):
//
//   - a latency per call, by service and operation: a log-normal
//     distribution given by its median and its 99th percentile;
//   - DynamoDB's per-partition throughput: a token bucket of write units
//     (1,000 a second) and one of read units (3,000 a second) per partition
//     key value, write units counted from item sizes (1 KB each, rounded
//     up; a delete costs the size of the item it deletes; a transactional
//     write twice), read units likewise (4 KB each, half for an eventually
//     consistent read). What exceeds them is answered as DynamoDB does:
//     UnprocessedItems and UnprocessedKeys in a batch, a
//     ProvisionedThroughputExceededException for a single-item call, a
//     query, or a batch of which nothing could be done, a cancelled
//     transaction with the reason ThrottlingError;
//   - TransactionConflict: a transaction touching an item that another
//     transaction in flight touches is cancelled, and a single-item write
//     to such an item fails with TransactionConflictException;
//   - a lag on global secondary index reads: a query on an index sees the
//     table as it was that long ago;
//   - S3's per-prefix request rates (3,500 writes and 5,500 reads a
//     second), the excess answered 503 SlowDown;
//   - a rate of 5xx answers (DynamoDB's InternalServerError, S3's
//     InternalError, SES's and Scheduler's internal failures).
//
// A call's latency is drawn when it arrives: half of it passes before the
// call reaches the emulator, the rest on its way back, the emulator's own
// time counting toward that rest (it stands for AWS's work on the call).
//
// It changes no answer beyond what AWS itself may answer: every answer is
// moto's, or one AWS documents for the call. It is deterministic with a
// seed (the same seed draws the same sequence; under concurrency the order
// in which calls draw follows their arrival), and runs on a time scale: a
// modelled second lasts TimeScale wall seconds.
//
// It is an http.RoundTripper (New), usable in-process through an SDK
// client's HTTP client, and an HTTP proxy (Model.Handler, Serve) for
// processes that take their endpoint from AWS_ENDPOINT_URL.
package model

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dist is a latency distribution: log-normal, given by its median and its
// 99th percentile (a draw is capped at ten times the latter).
type Dist struct {
	P50, P99 time.Duration
}

func (d Dist) String() string { return d.P50.String() + "/" + d.P99.String() }

// Params are the model's parameters. The zero value of a rate means no
// limit; Defaults gives AWS's documented figures.
type Params struct {
	// Seed makes the model's draws (latencies, 5xx answers) repeatable.
	Seed uint64
	// TimeScale is how many wall seconds one modelled second lasts: the
	// model's latencies and lag are multiplied by it and its rates divided
	// by it (1: AWS's own pace).
	TimeScale float64
	// WCU and RCU are the write and read units one partition key value
	// takes a second (DynamoDB: 1,000 and 3,000).
	WCU, RCU float64
	// Burst is how many seconds of its rate a partition's bucket holds
	// when it has been idle.
	Burst float64
	// S3Write and S3Read are the requests a second one S3 prefix takes:
	// PUT, COPY, POST and DELETE (each key of a DeleteObjects counting
	// one), and GET and HEAD.
	S3Write, S3Read float64
	// GSILag is how far behind the table a global secondary index read is.
	GSILag time.Duration
	// Errors is the share of calls answered with a 5xx before they reach
	// the emulator (the call has no effect; the SDK retries it).
	Errors float64
	// Conflicts turns on TransactionConflict.
	Conflicts bool
	// Latency is the latency of a call by "service.Operation", falling
	// back to "service" (dynamodb, s3, sesv2, scheduler).
	Latency map[string]Dist
}

// Defaults are the parameters the bench and `make run -model` use: AWS's
// documented limits and latencies of the order AWS states (see the
// README), no 5xx answers and no index lag (the purge reads no index).
func Defaults() Params {
	return Params{
		Seed:      1,
		TimeScale: 1,
		WCU:       1000,
		RCU:       3000,
		Burst:     1,
		S3Write:   3500,
		S3Read:    5500,
		Conflicts: true,
		Latency: map[string]Dist{
			"dynamodb":                    {4 * time.Millisecond, 15 * time.Millisecond},
			"dynamodb.BatchWriteItem":     {8 * time.Millisecond, 30 * time.Millisecond},
			"dynamodb.BatchGetItem":       {6 * time.Millisecond, 25 * time.Millisecond},
			"dynamodb.Query":              {6 * time.Millisecond, 25 * time.Millisecond},
			"dynamodb.TransactWriteItems": {10 * time.Millisecond, 40 * time.Millisecond},
			"s3":                          {30 * time.Millisecond, 200 * time.Millisecond},
			"s3.DeleteObjects":            {150 * time.Millisecond, 600 * time.Millisecond},
			"sesv2":                       {40 * time.Millisecond, 150 * time.Millisecond},
			"scheduler":                   {30 * time.Millisecond, 120 * time.Millisecond},
		},
	}
}

// Testing are the parameters of the integration tests' second run:
// Defaults with throttling made likely (a tenth of DynamoDB's partition
// rates), 1% of calls answered 5xx, and a one-second index lag.
func Testing() Params {
	p := Defaults()
	p.WCU, p.RCU = 100, 300
	p.Errors = 0.01
	p.GSILag = time.Second
	return p
}

// latency returns the distribution for a call.
func (p Params) latency(service, op string) Dist {
	if d, ok := p.Latency[service+"."+op]; ok {
		return d
	}
	return p.Latency[service]
}

// String is the parameters in Parse's form.
func (p Params) String() string {
	parts := []string{
		"seed=" + strconv.FormatUint(p.Seed, 10),
		"timescale=" + fmtFloat(p.TimeScale),
		"wcu=" + fmtFloat(p.WCU), "rcu=" + fmtFloat(p.RCU), "burst=" + fmtFloat(p.Burst),
		"s3write=" + fmtFloat(p.S3Write), "s3read=" + fmtFloat(p.S3Read),
		"gsilag=" + p.GSILag.String(), "errors=" + fmtFloat(p.Errors),
		"conflicts=" + strconv.FormatBool(p.Conflicts),
	}
	keys := make([]string, 0, len(p.Latency))
	for k := range p.Latency {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, "latency."+k+"="+p.Latency[k].String())
	}
	return strings.Join(parts, ",")
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Parse reads parameters from spec, a comma-separated list of name=value
// over base: seed, timescale, wcu, rcu, burst, s3write, s3read (numbers),
// gsilag (a duration), errors (a share), conflicts (true or false),
// latency.<service>[.<Operation>]=<median>/<p99>. The names "default" and
// "testing" alone stand for Defaults and Testing.
func Parse(spec string, base Params) (Params, error) {
	p := base
	p.Latency = make(map[string]Dist, len(base.Latency))
	for k, v := range base.Latency {
		p.Latency[k] = v
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "":
			continue
		case "default", "defaults":
			d := Defaults()
			p = d
			continue
		case "testing":
			p = Testing()
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return Params{}, fmt.Errorf("model parameter %q: want name=value", part)
		}
		var err error
		num := func(dst *float64) {
			var f float64
			if f, err = strconv.ParseFloat(value, 64); err == nil && (f < 0 || math.IsNaN(f) || math.IsInf(f, 0)) {
				err = fmt.Errorf("want a number ≥ 0")
			}
			*dst = f
		}
		switch {
		case name == "seed":
			p.Seed, err = strconv.ParseUint(value, 10, 64)
		case name == "timescale":
			num(&p.TimeScale)
			if err == nil && p.TimeScale == 0 {
				err = fmt.Errorf("want a number > 0")
			}
		case name == "wcu":
			num(&p.WCU)
		case name == "rcu":
			num(&p.RCU)
		case name == "burst":
			num(&p.Burst)
		case name == "s3write":
			num(&p.S3Write)
		case name == "s3read":
			num(&p.S3Read)
		case name == "errors":
			num(&p.Errors)
			if err == nil && p.Errors > 1 {
				err = fmt.Errorf("want a share from 0 to 1")
			}
		case name == "gsilag":
			p.GSILag, err = time.ParseDuration(value)
		case name == "conflicts":
			p.Conflicts, err = strconv.ParseBool(value)
		case strings.HasPrefix(name, "latency."):
			p50, p99, ok := strings.Cut(value, "/")
			var d Dist
			if !ok {
				err = fmt.Errorf("want <median>/<p99>")
			} else if d.P50, err = time.ParseDuration(p50); err == nil {
				if d.P99, err = time.ParseDuration(p99); err == nil && d.P99 < d.P50 {
					err = fmt.Errorf("the 99th percentile is below the median")
				}
			}
			p.Latency[strings.TrimPrefix(name, "latency.")] = d
		default:
			err = fmt.Errorf("unknown parameter")
		}
		if err != nil {
			return Params{}, fmt.Errorf("model parameter %s=%s: %w", name, value, err)
		}
	}
	return p, nil
}
