// Package metrics writes the functions' CloudWatch metrics in the embedded
// metric format: one JSON object per line on the function's standard
// output, beside its JSON logs. Lambda sends each line to the function's log
// group and CloudWatch Logs turns the values it declares into metrics, so a
// metric costs no AWS call and no permission.
//
// A line is
//
//	{"_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":"RTBF",
//	  "Dimensions":[["Stack"]],"Metrics":[{"Name":"…","Unit":"…"},…]}]},
//	 "Stack":"<stack name>","<name>":<value>,…}
//
// It is written by hand: a line is a few lines of JSON, and neither the AWS
// SDK for Go nor the Lambda library for Go has a writer for it. The
// metrics, their units, the namespace and the one dimension are declared
// here, and template.yaml's alarms and dashboard are tested against this
// package (internal/localstack), so the code and the template cannot name
// different metrics.
//
// Lambda reads a line without a "level" as INFO: a function whose log level
// is set above INFO (the LogLevel parameter) drops its metric lines.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "RTBF"

// Dimension is the one dimension of every metric: the name of the stack
// whose function emitted it, so that two stacks in one account and region
// (staging and production) keep apart.
const Dimension = "Stack"

// Unit is a CloudWatch unit.
type Unit string

// The units the metrics use.
const (
	Count   Unit = "Count"
	Seconds Unit = "Seconds"
)

// Metric is a metric's name and unit.
type Metric struct {
	Name string
	Unit Unit
}

// The metrics the functions emit.
var (
	// RequestsAccepted: a client's request to delete was accepted (the
	// deletionrequest function's POST that created it).
	RequestsAccepted = Metric{"RequestsAccepted", Count}
	// RequestsCancelled: a client cancelled their pending request.
	RequestsCancelled = Metric{"RequestsCancelled", Count}
	// RequestsPurged: a purge completed.
	RequestsPurged = Metric{"RequestsPurged", Count}
	// ItemsDeleted: the table items a completed purge deleted and counted
	// in its receipt (journal entries, documents, chat sessions, chat
	// messages).
	ItemsDeleted = Metric{"ItemsDeleted", Count}
	// ObjectsDeleted: the S3 objects (files, previews, ...) a completed
	// purge deleted in the client's folder, each counted with its
	// document.
	ObjectsDeleted = Metric{"ObjectsDeleted", Count}
	// PurgeDuration: a completed purge's time from its start to its
	// completion, continuations included.
	PurgeDuration = Metric{"PurgeDuration", Seconds}
	// OverdueRequests: the requests the hourly sweep found still pending
	// an hour or more after their purge time.
	OverdueRequests = Metric{"OverdueRequests", Count}
	// NeedsAttention: the requests the hourly sweep found waiting for an
	// operator.
	NeedsAttention = Metric{"NeedsAttention", Count}
	// EmailsOwed: the requests whose practitioners' notice or client's
	// confirmation the hourly sweep tried to send and could not.
	EmailsOwed = Metric{"EmailsOwed", Count}
)

var all = []Metric{
	RequestsAccepted, RequestsCancelled, RequestsPurged, ItemsDeleted, ObjectsDeleted, PurgeDuration,
	OverdueRequests, NeedsAttention, EmailsOwed,
}

// All is every metric the functions emit.
func All() []Metric { return slices.Clone(all) }

// Sample is a value of a metric.
type Sample struct {
	Metric
	Value float64
}

// Of is a sample of m.
func (m Metric) Of(v float64) Sample { return Sample{Metric: m, Value: v} }

// MaxPerLine is how many metrics one line may declare.
const MaxPerLine = 100

// Writer writes metric lines. A nil *Writer writes nothing.
type Writer struct {
	mu    sync.Mutex
	out   io.Writer
	stack string
}

// New returns a writer of lines to out (a function's os.Stdout) for the
// stack named stack.
func New(out io.Writer, stack string) *Writer {
	return &Writer{out: out, stack: stack}
}

// directive is the part of "_aws" that names the metrics of a line.
type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Emit writes one line with the samples, stamped at (now when zero): the
// time the values are of. Each metric may appear once in a line.
func (w *Writer) Emit(at time.Time, samples ...Sample) error {
	if w == nil || len(samples) == 0 {
		return nil
	}
	line, err := w.line(at, samples)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// One Write per line, so that lines and the log's records never
	// interleave.
	_, err = w.out.Write(line)
	return err
}

func (w *Writer) line(at time.Time, samples []Sample) ([]byte, error) {
	if len(samples) > MaxPerLine {
		return nil, fmt.Errorf("metrics: %d metrics in one line, at most %d", len(samples), MaxPerLine)
	}
	if w.stack == "" {
		return nil, errors.New("metrics: no stack name")
	}
	if at.IsZero() {
		at = time.Now()
	}
	d := directive{Namespace: Namespace, Dimensions: [][]string{{Dimension}}}
	doc := map[string]any{Dimension: w.stack}
	for _, s := range samples {
		switch {
		case s.Name == "" || s.Name == "_aws" || s.Name == Dimension:
			return nil, fmt.Errorf("metrics: invalid metric name %q", s.Name)
		case s.Unit == "":
			return nil, fmt.Errorf("metrics: %s has no unit", s.Name)
		case math.IsNaN(s.Value) || math.IsInf(s.Value, 0):
			return nil, fmt.Errorf("metrics: %s: %v is not a number CloudWatch takes", s.Name, s.Value)
		}
		if _, dup := doc[s.Name]; dup {
			return nil, fmt.Errorf("metrics: %s twice in one line", s.Name)
		}
		doc[s.Name] = s.Value
		d.Metrics = append(d.Metrics, definition{Name: s.Name, Unit: s.Unit})
	}
	doc["_aws"] = metadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: []directive{d}}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return append(b, '\n'), nil
}
