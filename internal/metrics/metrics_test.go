package metrics_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/metrics"
	"github.com/wellness-rtbf/rtbf/internal/metrics/metricstest"
)

var at = time.Date(2026, 11, 28, 12, 0, 0, 123_000_000, time.UTC)

// Every metric, in one line, reads back as CloudWatch reads it: the
// namespace, the stack as the one dimension, each value under its name with
// its unit, stamped at the time given, to the millisecond.
func TestEmit_All(t *testing.T) {
	var out bytes.Buffer
	w := metrics.New(&out, "rtbf-prod")
	var samples []metrics.Sample
	for i, m := range metrics.All() {
		samples = append(samples, m.Of(float64(i)+0.5))
	}
	if err := w.Emit(at, samples...); err != nil {
		t.Fatalf("Emit: got error %v, want nil", err)
	}
	lines := metricstest.Lines(t, out.Bytes())
	if len(lines) != 1 {
		t.Fatalf("lines: got %d, want 1", len(lines))
	}
	l := lines[0]
	if l.Namespace != metrics.Namespace || !l.Timestamp.Equal(at) {
		t.Errorf("line: got namespace %q at %v, want %q at %v", l.Namespace, l.Timestamp, metrics.Namespace, at)
	}
	if want := map[string]string{metrics.Dimension: "rtbf-prod"}; fmt.Sprint(l.Dimensions) != fmt.Sprint(want) {
		t.Errorf("dimensions: got %v, want %v", l.Dimensions, want)
	}
	for i, m := range metrics.All() {
		if got := l.Values[m.Name]; got != float64(i)+0.5 {
			t.Errorf("%s: got %v, want %v", m.Name, got, float64(i)+0.5)
		}
		if got := l.Units[m.Name]; got != string(m.Unit) {
			t.Errorf("%s unit: got %q, want %q", m.Name, got, m.Unit)
		}
	}
	if len(l.Values) != len(metrics.All()) {
		t.Errorf("values: got %d, want %d", len(l.Values), len(metrics.All()))
	}
}

// The declared metrics fit one line and CloudWatch's rules.
func TestAll(t *testing.T) {
	all := metrics.All()
	if len(all) == 0 || len(all) > metrics.MaxPerLine {
		t.Fatalf("All: got %d metrics, want 1 to %d", len(all), metrics.MaxPerLine)
	}
	seen := map[string]bool{}
	for _, m := range all {
		if seen[m.Name] {
			t.Errorf("%s: declared twice", m.Name)
		}
		seen[m.Name] = true
		if !slices.Contains(metricstest.Units, string(m.Unit)) {
			t.Errorf("%s: unit %q is not a CloudWatch unit", m.Name, m.Unit)
		}
		if m.Name == metrics.Dimension || strings.HasPrefix(m.Name, "_") {
			t.Errorf("%s: a name that collides with the line's other members", m.Name)
		}
	}
	all[0].Name = "changed"
	if metrics.All()[0].Name == "changed" {
		t.Error("All: got the package's own list, want a copy")
	}
}

func TestEmit_Refused(t *testing.T) {
	many := make([]metrics.Sample, metrics.MaxPerLine+1)
	for i := range many {
		many[i] = metrics.Metric{Name: fmt.Sprintf("M%d", i), Unit: metrics.Count}.Of(1)
	}
	for _, tt := range []struct {
		name    string
		stack   string
		samples []metrics.Sample
	}{
		{"NaN", "s", []metrics.Sample{metrics.PurgeDuration.Of(math.NaN())}},
		{"Inf", "s", []metrics.Sample{metrics.PurgeDuration.Of(math.Inf(1))}},
		{"Twice", "s", []metrics.Sample{metrics.ItemsDeleted.Of(1), metrics.ItemsDeleted.Of(2)}},
		{"TooMany", "s", many},
		{"NoStack", "", []metrics.Sample{metrics.RequestsAccepted.Of(1)}},
		{"NoName", "s", []metrics.Sample{metrics.Metric{Unit: metrics.Count}.Of(1)}},
		{"NameIsDimension", "s", []metrics.Sample{metrics.Metric{Name: metrics.Dimension, Unit: metrics.Count}.Of(1)}},
		{"NameIsMetadata", "s", []metrics.Sample{metrics.Metric{Name: "_aws", Unit: metrics.Count}.Of(1)}},
		{"NoUnit", "s", []metrics.Sample{metrics.Metric{Name: "X"}.Of(1)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := metrics.New(&out, tt.stack).Emit(at, tt.samples...); err == nil {
				t.Error("Emit: got nil error, want one")
			}
			if out.Len() != 0 {
				t.Errorf("output: got %q, want nothing", out.String())
			}
		})
	}
}

func TestEmit_Nothing(t *testing.T) {
	var w *metrics.Writer
	if err := w.Emit(at, metrics.RequestsAccepted.Of(1)); err != nil {
		t.Errorf("nil Writer: got error %v, want nil", err)
	}
	var out bytes.Buffer
	if err := metrics.New(&out, "s").Emit(at); err != nil || out.Len() != 0 {
		t.Errorf("no samples: got %q and error %v, want nothing and nil", out.String(), err)
	}
}

// A line without a time is stamped now.
func TestEmit_Now(t *testing.T) {
	var out bytes.Buffer
	before := time.Now().Truncate(time.Millisecond)
	if err := metrics.New(&out, "s").Emit(time.Time{}, metrics.RequestsAccepted.Of(1)); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	lines := metricstest.Lines(t, out.Bytes())
	if len(lines) != 1 || lines[0].Timestamp.Before(before) || lines[0].Timestamp.After(after) {
		t.Errorf("lines: got %+v, want one stamped between %v and %v", lines, before, after)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestEmit_WriteFails(t *testing.T) {
	if err := metrics.New(failingWriter{}, "s").Emit(at, metrics.RequestsAccepted.Of(1)); err == nil {
		t.Error("Emit: got nil error, want the write's")
	}
}

// Lines written at once from many goroutines stay whole, one per line.
func TestEmit_Concurrent(t *testing.T) {
	var out bytes.Buffer
	w := metrics.New(&out, "s")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := w.Emit(at, metrics.ItemsDeleted.Of(float64(i)), metrics.RequestsPurged.Of(1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	lines := metricstest.Lines(t, out.Bytes())
	if len(lines) != 50 {
		t.Fatalf("lines: got %d, want 50", len(lines))
	}
	seen := map[float64]bool{}
	for _, l := range lines {
		seen[l.Values[metrics.ItemsDeleted.Name]] = true
	}
	if len(seen) != 50 {
		t.Errorf("values: got %d distinct, want 50", len(seen))
	}
}

// Check refuses what CloudWatch would not take, so the tests that read
// lines back through it are worth something.
func TestCheck_Refused(t *testing.T) {
	const ok = `{"_aws":{"Timestamp":1764331200000,"CloudWatchMetrics":[{"Namespace":"RTBF","Dimensions":[["Stack"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"Stack":"s","A":1}`
	if _, err := metricstest.Check([]byte(ok + "\n")); err != nil {
		t.Fatalf("Check(valid line): got error %v, want nil", err)
	}
	for name, line := range map[string]string{
		"NotJSON":              `_aws`,
		"NotObject":            `[1]`,
		"Trailing":             ok + ` {}`,
		"TwoLines":             ok + "\n" + ok,
		"NoAWS":                `{"Stack":"s","A":1}`,
		"AWSNotObject":         `{"_aws":[],"A":1}`,
		"NoTimestamp":          strings.Replace(ok, `"Timestamp":1764331200000,`, ``, 1),
		"TimestampString":      strings.Replace(ok, `1764331200000`, `"1764331200000"`, 1),
		"TimestampSeconds":     strings.Replace(ok, `1764331200000`, `1764331200.5`, 1),
		"NoDirectives":         strings.Replace(ok, `"CloudWatchMetrics":[{"Namespace":"RTBF","Dimensions":[["Stack"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]`, `"CloudWatchMetrics":[]`, 1),
		"NoNamespace":          strings.Replace(ok, `"Namespace":"RTBF",`, ``, 1),
		"BadNamespace":         strings.Replace(ok, `"RTBF"`, `"R T"`, 1),
		"NoDimensions":         strings.Replace(ok, `"Dimensions":[["Stack"]],`, ``, 1),
		"DimensionMissing":     strings.Replace(ok, `"Stack":"s",`, ``, 1),
		"DimensionNotString":   strings.Replace(ok, `"Stack":"s"`, `"Stack":1`, 1),
		"DimensionEmpty":       strings.Replace(ok, `"Stack":"s"`, `"Stack":" "`, 1),
		"NoMetrics":            strings.Replace(ok, `[{"Name":"A","Unit":"Count"}]`, `[]`, 1),
		"MetricMissing":        strings.Replace(ok, `,"A":1}`, `}`, 1),
		"MetricString":         strings.Replace(ok, `"A":1}`, `"A":"1"}`, 1),
		"MetricNull":           strings.Replace(ok, `"A":1}`, `"A":null}`, 1),
		"MetricBool":           strings.Replace(ok, `"A":1}`, `"A":true}`, 1),
		"MetricListOfStrings":  strings.Replace(ok, `"A":1}`, `"A":["1"]}`, 1),
		"MetricEmptyList":      strings.Replace(ok, `"A":1}`, `"A":[]}`, 1),
		"BadUnit":              strings.Replace(ok, `"Count"`, `"Items"`, 1),
		"UnitCase":             strings.Replace(ok, `"Count"`, `"count"`, 1),
		"MemberCase":           strings.Replace(ok, `"Name":"A"`, `"name":"A"`, 1),
		"DirectiveExtraMember": strings.Replace(ok, `"Namespace":"RTBF",`, `"Namespace":"RTBF","Extra":1,`, 1),
		"DefinitionExtra":      strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Count","Extra":1`, 1),
		"BadResolution":        strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Count","StorageResolution":5`, 1),
		"TooManyMetrics": strings.Replace(ok, `[{"Name":"A","Unit":"Count"}]`,
			"["+strings.Repeat(`{"Name":"A","Unit":"Count"},`, 100)+`{"Name":"A","Unit":"Count"}]`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := metricstest.Check([]byte(line)); err == nil {
				t.Errorf("Check(%s): got nil error, want one", line)
			}
		})
	}
}
