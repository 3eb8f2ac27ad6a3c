// Command bench measures the purge at the size issue 3 sets: in the local
// emulator it seeds one client with 20,000 journal entries, 2,000 uploaded
// documents (each with its S3 object) and 200 chat sessions of 50 messages,
// beside at least as much data that must stay; runs the purge in a process
// of its own (to measure its memory) behind a proxy that counts its AWS
// calls; checks that exactly the right data went; then seeds the same data
// again and times a naive baseline that deletes one item and one object
// per call. It prints:
//
//	purge items=… objects=… ddb_write_calls=… ddb_write_min=… s3_delete_calls=… s3_delete_min=… seconds=…
//	naive items=… objects=… seconds=…
//	speedup=… peak_rss_mb=…
//
// Run it with `make bench`, which starts the emulator.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"
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
	rtt := flag.Duration("rtt", 5*time.Millisecond, "round trip added to each call of the second count of the client's content")
	flag.Parse()
	endpoint := strings.TrimRight(os.Getenv("RTBF_EMULATOR_URL"), "/")
	if endpoint == "" {
		log.Fatal("RTBF_EMULATOR_URL is not set: run `make bench`, which starts the emulator")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	shape := Shape{Journal: *journal, Documents: *docs, Sessions: *sessions, Messages: *messages}
	res, err := run(ctx, endpoint, shape, *rtt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("purge items=%d objects=%d ddb_write_calls=%d ddb_write_min=%d s3_delete_calls=%d s3_delete_min=%d seconds=%.2f\n",
		res.Items, res.Objects, res.WriteCalls, ceilDiv(res.Items, 25), res.S3DeleteCalls, ceilDiv(res.Objects, 1000), res.PurgeSeconds)
	fmt.Printf("naive items=%d objects=%d seconds=%.2f\n", res.NaiveItems, res.NaiveObjects, res.NaiveSeconds)
	fmt.Printf("speedup=%.1f peak_rss_mb=%.1f\n", res.NaiveSeconds/res.PurgeSeconds, res.PeakRSSMB)
	// Where the baseline's time goes: finding the items (the same queries
	// the purge makes) against deleting them.
	fmt.Printf("naive_detail read_seconds=%.2f delete_seconds=%.2f\n", res.NaiveReadSeconds, res.NaiveSeconds-res.NaiveReadSeconds)
	// What a client asking for deletion waits for: counting what will go.
	// With a network's round trip added to each call, the reads running
	// side by side: one after another they would take at least
	// seconds + calls*rtt.
	fmt.Printf("scope items=%d calls=%d seconds=%.2f rtt_ms=%d seconds_with_rtt=%.2f one_by_one_at_least=%.2f\n",
		res.Items, res.ScopeCalls, res.ScopeSeconds, rtt.Milliseconds(), res.ScopeRTTSeconds,
		res.ScopeSeconds+float64(res.ScopeCalls)*rtt.Seconds())
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
