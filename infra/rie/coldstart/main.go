//go:build linux

// Command coldstart reports each function's cold start: the size of the
// arm64 bootstrap `sam build` makes, and the median, over fresh starts under
// the runtime interface emulator, of the time from starting the process to
// the first response of an invocation (the emulator starts the bootstrap on
// that invocation, as Lambda does). Beside each function it reports the same
// for the function's SDK floor (see sdkFloor), started in turn with the
// function, so that both see the same load on the machine. It runs under
// infra/with-emulator.sh (`make coldstart`); one line each:
//
//	coldstart function=<LogicalId> bytes=<arm64 bootstrap size> init_ms=<median>
//	sdkfloor function=<LogicalId> clients=<SDK clients> bytes=<arm64 size> init_ms=<median>
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/wellness-rtbf/rtbf/infra/rie"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// cheapEvents are invocations that need no AWS call at all, so the figure
// is the start, not the work: an API function refuses the event on its
// claims, a scheduled one an event that names nothing (a file of events/,
// or the event itself). Every function of template.yaml has one
// (main_test.go).
var cheapEvents = map[string]string{
	"SettingsFunction":         "settings-get-client.json",
	"DeletionRequestFunction":  "deletionrequest-post-practitioner.json",
	"PurgeFunction":            "{}",
	"NotificationsFunction":    "notifications-get-client.json",
	"PracticeRequestsFunction": "practicerequests-get-client.json",
	"ExportsFunction":          "exports-post-client.json",
	"ExportWorkerFunction":     "{}",
	"ReplayFunction":           "{}",
}

func main() {
	runs := flag.Int("runs", 20, "fresh starts per function")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("coldstart: ")
	if err := run(*runs); err != nil {
		log.Fatal(err)
	}
}

func run(runs int) error {
	endpoint := os.Getenv("RTBF_EMULATOR_URL")
	if endpoint == "" {
		return fmt.Errorf("RTBF_EMULATOR_URL is not set: run under infra/with-emulator.sh (make coldstart)")
	}
	root, err := rie.Root()
	if err != nil {
		return err
	}
	rieBin, err := rie.Binary(root)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	st, err := localstack.New(ctx, endpoint, "rtbf-coldstart-"+hex.EncodeToString(suffix))
	if err != nil {
		return err
	}
	if err := st.Provision(ctx); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	dir, err := os.MkdirTemp("", "rtbf-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	functions, err := rie.Functions()
	if err != nil {
		return err
	}
	for _, f := range functions {
		if _, ok := cheapEvents[f.LogicalID]; !ok {
			return fmt.Errorf("%s: no entry in cheapEvents", f.LogicalID)
		}
		arm, err := rie.Build(ctx, root, f.LogicalID, filepath.Join(dir, "arm64", f.LogicalID), "arm64")
		if err != nil {
			return err
		}
		info, err := os.Stat(arm)
		if err != nil {
			return err
		}
		host, err := rie.Build(ctx, root, f.LogicalID, filepath.Join(dir, runtime.GOARCH, f.LogicalID), runtime.GOARCH)
		if err != nil {
			return err
		}
		payload := []byte(cheapEvents[f.LogicalID])
		if strings.HasSuffix(cheapEvents[f.LogicalID], ".json") {
			if payload, err = os.ReadFile(filepath.Join(root, "events", cheapEvents[f.LogicalID])); err != nil {
				return err
			}
		}
		clients, floor, floorHost, err := sdkFloor(ctx, root, filepath.Join("functions", f.Dir), ".run", filepath.Join(dir, "sdkfloor", f.LogicalID))
		if err != nil {
			return err
		}
		env, err := rie.Env(st, f, 30)
		if err != nil {
			return err
		}
		times := make([]time.Duration, 0, runs)
		floorTimes := make([]time.Duration, 0, runs)
		for range runs {
			d, err := coldStart(ctx, rieBin, host, env, payload)
			if err != nil {
				return fmt.Errorf("%s: %w", f.LogicalID, err)
			}
			times = append(times, d)
			d, err = coldStart(ctx, rieBin, floorHost, env, []byte("{}"))
			if err != nil {
				return fmt.Errorf("the SDK floor of %s: %w", f.LogicalID, err)
			}
			floorTimes = append(floorTimes, d)
		}
		fmt.Printf("coldstart function=%s bytes=%d init_ms=%.1f\n", f.LogicalID, info.Size(), ms(median(times)))
		fmt.Printf("sdkfloor function=%s clients=%s bytes=%d init_ms=%.1f\n", f.LogicalID, strings.Join(clients, ","), floor, ms(median(floorTimes)))
	}
	return nil
}

// coldStart starts a fresh emulator and bootstrap and times the first
// successful invocation from the start of the process. A failed one is
// reported with what the emulator and the bootstrap printed.
func coldStart(ctx context.Context, rieBin, bootstrap string, env []string, payload []byte) (d time.Duration, err error) {
	var out bytes.Buffer
	p, err := rie.Start(rieBin, bootstrap, env, &out)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := p.Close(); err != nil || cerr != nil {
			err = fmt.Errorf("%w\n%s", errors.Join(err, cerr), out.Bytes())
		}
	}()
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	status, body, err := p.Invoke(ictx, payload)
	d = time.Since(p.Started)
	if err != nil {
		return 0, err
	}
	var fnErr struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &fnErr)
	if status != 200 || fnErr.ErrorType != "" {
		return 0, fmt.Errorf("invocation failed: status %d: %s", status, body)
	}
	return d, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
