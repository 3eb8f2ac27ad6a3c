// Package metricstest reads metric lines back as CloudWatch Logs reads
// them, for tests: Check holds one line to the embedded metric format's
// rules, Lines checks every line a function wrote and returns its values.
package metricstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Units are the units CloudWatch takes.
var Units = []string{
	"Seconds", "Microseconds", "Milliseconds",
	"Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
	"Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

// Limits of the format.
const (
	maxMetrics        = 100 // metric definitions in one directive
	maxDimensions     = 30  // dimension names in one dimension set
	maxValues         = 100 // values of one metric given as an array
	maxNamespace      = 255
	maxDimensionName  = 255
	maxDimensionValue = 1024
	maxName           = 1024
)

var namespaceChars = regexp.MustCompile(`^[A-Za-z0-9._#:/-]+$`)

// Line is one metric line as read back.
type Line struct {
	Timestamp  time.Time
	Namespace  string
	Dimensions map[string]string  // dimension name → value
	Values     map[string]float64 // metric name → value (the last, for an array)
	Units      map[string]string  // metric name → unit
}

// Check reads one line (its trailing newline allowed) as CloudWatch Logs
// does: one JSON object and nothing around it; "_aws" an object with an
// integer Timestamp in milliseconds and a CloudWatchMetrics list of
// directives, each with a Namespace, Dimensions (sets of member names) and
// Metrics (at most 100 definitions: a Name and an optional valid Unit), and
// no other members; every dimension named a top-level string member, every
// metric named a top-level number (or list of at most 100 numbers). It
// returns what the line declares; a line with more than one directive has
// them merged.
func Check(line []byte) (Line, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	if bytes.ContainsAny(line, "\n\r") {
		return Line{}, errors.New("more than one line")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	var root map[string]json.RawMessage
	if err := dec.Decode(&root); err != nil {
		return Line{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return Line{}, errors.New("data after the JSON object")
	}
	rawAWS, ok := root["_aws"]
	if !ok {
		return Line{}, errors.New(`no "_aws" member`)
	}
	meta, err := object(rawAWS, []string{"CloudWatchMetrics", "Timestamp"}, nil)
	if err != nil {
		return Line{}, fmt.Errorf(`"_aws": %w`, err)
	}
	ts := string(meta["Timestamp"])
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms <= 0 {
		return Line{}, fmt.Errorf(`"_aws".Timestamp: got %s, want milliseconds since the epoch`, ts)
	}
	var directives []json.RawMessage
	if err := json.Unmarshal(meta["CloudWatchMetrics"], &directives); err != nil || len(directives) == 0 {
		return Line{}, fmt.Errorf(`"_aws".CloudWatchMetrics: got %s, want a list of directives`, meta["CloudWatchMetrics"])
	}
	out := Line{
		Timestamp:  time.UnixMilli(ms).UTC(),
		Dimensions: map[string]string{},
		Values:     map[string]float64{},
		Units:      map[string]string{},
	}
	for i, raw := range directives {
		d, err := object(raw, []string{"Dimensions", "Metrics", "Namespace"}, nil)
		if err != nil {
			return Line{}, fmt.Errorf("directive %d: %w", i, err)
		}
		var (
			namespace  string
			dimensions [][]string
			metrics    []json.RawMessage
		)
		if json.Unmarshal(d["Namespace"], &namespace) != nil || namespace == "" || len(namespace) > maxNamespace || !namespaceChars.MatchString(namespace) {
			return Line{}, fmt.Errorf("directive %d: invalid Namespace %s", i, d["Namespace"])
		}
		if out.Namespace != "" && out.Namespace != namespace {
			return Line{}, fmt.Errorf("directive %d: namespace %q besides %q", i, namespace, out.Namespace)
		}
		out.Namespace = namespace
		if err := json.Unmarshal(d["Dimensions"], &dimensions); err != nil || dimensions == nil {
			return Line{}, fmt.Errorf("directive %d: got Dimensions %s, want a list of lists of names", i, d["Dimensions"])
		}
		if err := json.Unmarshal(d["Metrics"], &metrics); err != nil || len(metrics) == 0 || len(metrics) > maxMetrics {
			return Line{}, fmt.Errorf("directive %d: got Metrics %s, want a list of 1 to %d definitions", i, d["Metrics"], maxMetrics)
		}
		for _, set := range dimensions {
			if len(set) > maxDimensions {
				return Line{}, fmt.Errorf("directive %d: a dimension set of %d, at most %d", i, len(set), maxDimensions)
			}
			for _, name := range set {
				var v string
				if name == "" || len(name) > maxDimensionName || strings.HasPrefix(name, ":") {
					return Line{}, fmt.Errorf("directive %d: invalid dimension name %q", i, name)
				}
				if raw, ok := root[name]; !ok || !isString(raw) || json.Unmarshal(raw, &v) != nil {
					return Line{}, fmt.Errorf("dimension %s: got %s, want a top-level string member", name, root[name])
				}
				if strings.TrimSpace(v) == "" || len(v) > maxDimensionValue {
					return Line{}, fmt.Errorf("dimension %s: invalid value %q", name, v)
				}
				out.Dimensions[name] = v
			}
		}
		for j, raw := range metrics {
			m, err := object(raw, []string{"Name"}, []string{"StorageResolution", "Unit"})
			if err != nil {
				return Line{}, fmt.Errorf("directive %d: metric %d: %w", i, j, err)
			}
			var name, unit string
			if !isString(m["Name"]) || json.Unmarshal(m["Name"], &name) != nil || name == "" || len(name) > maxName {
				return Line{}, fmt.Errorf("directive %d: invalid metric name %s", i, m["Name"])
			}
			if u, ok := m["Unit"]; ok {
				if json.Unmarshal(u, &unit) != nil || !slices.Contains(Units, unit) {
					return Line{}, fmt.Errorf("metric %s: unit %s is not a CloudWatch unit", name, u)
				}
				out.Units[name] = unit
			}
			if r, ok := m["StorageResolution"]; ok && string(r) != "1" && string(r) != "60" {
				return Line{}, fmt.Errorf("metric %s: storage resolution %s, want 1 or 60", name, r)
			}
			v, err := number(root[name])
			if err != nil {
				return Line{}, fmt.Errorf("metric %s: %w", name, err)
			}
			out.Values[name] = v
		}
	}
	return out, nil
}

// object decodes a JSON object whose members are the required ones and
// any of the optional ones, each name matched exactly (the format's names
// are case-sensitive, and its objects take no other members).
func object(raw json.RawMessage, required, optional []string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("got %s, want an object", raw)
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("no member %q", k)
		}
	}
	for k := range m {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			return nil, fmt.Errorf("unexpected member %q", k)
		}
	}
	return m, nil
}

func isString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }

// number is a metric's top-level value: a number, or a list of numbers
// (its last returned).
func number(raw json.RawMessage) (float64, error) {
	if raw == nil {
		return 0, errors.New("no top-level member")
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		if len(list) == 0 || len(list) > maxValues {
			return 0, fmt.Errorf("got %s, want a number or a list of 1 to %d numbers", raw, maxValues)
		}
		for _, x := range list {
			if _, err := number(x); err != nil || x[0] == '[' {
				return 0, fmt.Errorf("got %s, want a list of numbers", raw)
			}
		}
		raw = list[len(list)-1]
	}
	var f float64
	if c := raw[0]; (c != '-' && (c < '0' || c > '9')) || json.Unmarshal(raw, &f) != nil {
		return 0, fmt.Errorf("got %s, want a number", raw)
	}
	return f, nil
}

// Lines checks every line of out (what a function wrote) and returns them.
func Lines(t testing.TB, out []byte) []Line {
	t.Helper()
	var lines []Line
	for i, b := range bytes.SplitAfter(out, []byte("\n")) {
		if len(b) == 0 {
			continue
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			t.Errorf("metric line %d: %s: got no newline at its end", i+1, b)
		}
		l, err := Check(b)
		if err != nil {
			t.Errorf("metric line %d: %s: %v", i+1, b, err)
			continue
		}
		lines = append(lines, l)
	}
	return lines
}
