// Command bench measures the purge at the size issue 3 sets: in the local
// emulator it seeds one client with 20,000 journal entries, 2,000 uploaded
// documents (each with its S3 object) and 200 chat sessions of 50 messages,
// beside at least as much data that must stay; runs the purge in a process
// of its own (to measure its memory) behind a proxy that counts its AWS
// calls; checks that exactly the right data went; then seeds the same data
// again and times a naive baseline that deletes one item and one object
// per call. It does both on the emulator itself, then through the AWS
// behaviour model (infra/model), where the purge runs in as many
// invocations as it takes and is held to the model's own bound. It prints:
//
//	purge items=… objects=… ddb_write_calls=… ddb_write_min=… s3_delete_calls=… s3_delete_min=… seconds=…
//	naive items=… objects=… seconds=…
//	speedup=… peak_rss_mb=…
//	naive_detail …
//	scope …
//	model rtt_ms_p50=… wcu_per_partition=… rcu_per_partition=… seed=…
//	purge_model items=… objects=… seconds=… bound_seconds=… bound_ratio=… throttled=… failed_invocations=… invocations=… ddb_write_calls=… ddb_write_min=… peak_rss_mb=…
//	naive_model seconds=… speedup=…
//
// Run it with `make bench`, which starts the emulator; `make bench
// BENCH_SCALE=10` runs ten times the client, through the model only.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/wellness-rtbf/rtbf/infra/model"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		if err := runChild(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	journal := flag.Int("journal", 20000, "journal entries the client created")
	docs := flag.Int("documents", 2000, "documents the client uploaded")
	sessions := flag.Int("sessions", 200, "direct chat sessions")
	messages := flag.Int("messages", 50, "messages per session")
	scale := flag.Int("scale", 1, "multiplies the journal entries, documents and sessions")
	rtt := flag.Duration("rtt", 5*time.Millisecond, "round trip added to each call of the second count of the client's content")
	spec := flag.String("model", "", "the model's parameters (infra/model's Parse form, over its defaults; with -scale above 1 the defaults are slowed "+fmt.Sprint(scaleSlowdown)+" times)")
	raw := flag.Bool("raw", true, "also run the purge and the baseline on the emulator itself (-scale 1 only)")
	naiveModel := flag.Bool("naive", true, "run the baseline through the model")
	naiveShare := flag.Float64("naive-share", 0, "the share of the content the baseline through the model deletes, its time scaled up by the inverse (default 1, and 1/scale with -scale above 1)")
	flag.Parse()
	endpoint := strings.TrimRight(os.Getenv("RTBF_EMULATOR_URL"), "/")
	if endpoint == "" {
		log.Fatal("RTBF_EMULATOR_URL is not set: run `make bench`, which starts the emulator")
	}
	base := model.Defaults()
	if *scale > 1 {
		base = slowed(base, scaleSlowdown, scaleClock)
	}
	params, err := model.Parse(*spec, base)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	other := Shape{Journal: *journal, Documents: *docs, Sessions: *sessions, Messages: *messages}
	shape := Shape{Journal: *journal * *scale, Documents: *docs * *scale, Sessions: *sessions * *scale, Messages: *messages}
	if *naiveShare == 0 {
		*naiveShare = 1 / float64(*scale)
	}
	o := Options{Shape: shape, Other: other, RTT: *rtt, Model: params, Raw: *raw && *scale == 1, Naive: *naiveModel, NaiveShare: *naiveShare,
		Invocation: 15 * time.Minute, Margin: time.Minute}
	res, err := run(ctx, endpoint, o)
	if err != nil {
		log.Fatal(err)
	}
	if o.Raw {
		fmt.Printf("purge items=%d objects=%d ddb_write_calls=%d ddb_write_min=%d s3_delete_calls=%d s3_delete_min=%d seconds=%.2f\n",
			res.Items, res.Objects, res.WriteCalls, ceilDiv(res.Items, 25), res.S3DeleteCalls, ceilDiv(res.Objects, 1000), res.PurgeSeconds)
		fmt.Printf("naive items=%d objects=%d seconds=%.2f\n", res.NaiveItems, res.NaiveObjects, res.NaiveSeconds)
		fmt.Printf("speedup=%.1f peak_rss_mb=%.1f\n", res.NaiveSeconds/res.PurgeSeconds, res.PeakRSSMB)
		// Where the baseline's time goes: finding the items (the same
		// queries the purge makes) against deleting them.
		fmt.Printf("naive_detail read_seconds=%.2f delete_seconds=%.2f\n", res.NaiveReadSeconds, res.NaiveSeconds-res.NaiveReadSeconds)
		// What a client asking for deletion waits for: counting what will
		// go. With a network's round trip added to each call, the reads
		// running side by side: one after another they would take at
		// least seconds + calls*rtt.
		fmt.Printf("scope items=%d calls=%d seconds=%.2f rtt_ms=%d seconds_with_rtt=%.2f one_by_one_at_least=%.2f\n",
			res.Items, res.ScopeCalls, res.ScopeSeconds, rtt.Milliseconds(), res.ScopeRTTSeconds,
			res.ScopeSeconds+float64(res.ScopeCalls)*rtt.Seconds())
	}
	// Through the model: modelled seconds, against the model's own bound.
	m := res.Model
	fmt.Printf("model rtt_ms_p50=%g wcu_per_partition=%g rcu_per_partition=%g seed=%d\n",
		float64(params.Latency["dynamodb"].P50)/float64(time.Millisecond), params.WCU, params.RCU, params.Seed)
	fmt.Printf("purge_model items=%d objects=%d seconds=%.2f bound_seconds=%.2f bound_ratio=%.3f throttled=%d failed_invocations=%d invocations=%d ddb_write_calls=%d ddb_write_min=%d peak_rss_mb=%.1f\n",
		m.Items, m.Objects, m.Seconds, m.Bound, m.Seconds/m.Bound, m.Throttled, m.Failed, m.Invocations, m.WriteCalls, ceilDiv(m.Items, 25), m.PeakRSSMB)
	if o.Naive {
		sampled := ""
		if o.NaiveShare < 1 {
			sampled = fmt.Sprintf(" sampled=%g", o.NaiveShare)
		}
		fmt.Printf("naive_model seconds=%.2f speedup=%.1f%s\n", m.NaiveSeconds, m.NaiveSeconds/m.Seconds, sampled)
	}
}

// With -scale above 1 the model's AWS is slowed scaleSlowdown times (its
// rates divided by it), so that the purge of a client ten times the
// default size outlasts one 15-minute invocation, and its clock runs
// scaleClock times faster than the wall clock, so that the run takes
// minutes. (A faster clock would magnify the emulator's own time, which
// counts as modelled time: at 5 times, the emulator's query of a 200,000
// item partition weighed as much as the purge's writes.)
const (
	scaleSlowdown = 5
	scaleClock    = 2
)

// slowed is p with its rates divided by k, on a clock c times faster.
func slowed(p model.Params, k, c float64) model.Params {
	p.WCU, p.RCU, p.S3Write, p.S3Read = p.WCU/k, p.RCU/k, p.S3Write/k, p.S3Read/k
	p.TimeScale /= c
	return p
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
