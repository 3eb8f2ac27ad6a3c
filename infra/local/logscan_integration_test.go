//go:build integration

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The suite's last check: no log line of any local system the suite ran
// (the function binaries' output, and the local stack's own log) holds a
// personal value the seed wrote: a name, an address, the practice's name,
// a title, a body, a message or a file name. The systems write their logs
// through logScan.writer, and each seed's values are registered with
// logScan.seeded; TestMain scans once every test has run, and a single hit
// fails the run.
var logScan = &logCapture{}

type logCapture struct {
	mu       sync.Mutex
	logs     bytes.Buffer
	personal []string
	systems  int
}

// writer tees one system's logs (w) into the capture, whole lines at a
// time as the system writes them.
func (c *logCapture) writer(w io.Writer) io.Writer {
	c.mu.Lock()
	c.systems++
	c.mu.Unlock()
	return io.MultiWriter(w, captureWriter{c})
}

type captureWriter struct{ c *logCapture }

func (w captureWriter) Write(b []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.logs.Write(b)
}

// seeded registers personal values written to a system's emulator.
func (c *logCapture) seeded(values ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.personal = append(c.personal, values...)
}

// hit is a personal value found in a log line.
type hit struct {
	line  int
	value string
	text  string
}

// scan returns every line that holds a personal value. A value of one word
// matches as a whole word, case and all ("Ava", not the id cl-ava); any
// other as it is written.
func (c *logCapture) scan() (hits []hit, lines int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	type matcher struct {
		value string
		re    *regexp.Regexp
	}
	var ms []matcher
	seen := map[string]bool{}
	for _, v := range c.personal {
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		m := matcher{value: v}
		if regexp.MustCompile(`^\w+$`).MatchString(v) {
			m.re = regexp.MustCompile(`\b` + regexp.QuoteMeta(v) + `\b`)
		}
		ms = append(ms, m)
	}
	sc := bufio.NewScanner(bytes.NewReader(c.logs.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines++
		text := sc.Text()
		for _, m := range ms {
			if (m.re != nil && m.re.MatchString(text)) || (m.re == nil && strings.Contains(text, m.value)) {
				hits = append(hits, hit{lines, m.value, text})
			}
		}
	}
	return hits, lines
}

func TestMain(m *testing.M) {
	code := m.Run()
	if logScan.systems > 0 {
		hits, lines := logScan.scan()
		fmt.Printf("log scan: %d lines of %d local systems, %d personal values: %d hits\n", lines, logScan.systems, len(logScan.personal), len(hits))
		for i, h := range hits {
			if i == 20 {
				fmt.Printf("log scan: … and %d more\n", len(hits)-i)
				break
			}
			text := h.text
			if len(text) > 400 {
				text = text[:400] + "…"
			}
			fmt.Printf("log scan: line %d holds %q: %s\n", h.line, h.value, text)
		}
		if len(hits) > 0 {
			fmt.Println("FAIL: the logs hold personal data (see internal/safelog)")
			code = 1
		}
	}
	os.Exit(code)
}

// The scan itself: a value of one word is found as a word, a longer one
// as written; an id that contains a name is not a hit.
func TestLogScan_Finds(t *testing.T) {
	c := &logCapture{}
	w := c.writer(io.Discard)
	c.seeded("Ava", "Ava Lin", "cl-ava@clients.example.com", "d0.pdf")
	fmt.Fprintln(w, `{"msg":"purge completed","deletionRequestId":"r1","clientId":"cl-ava"}`)
	fmt.Fprintln(w, `{"msg":"x","name":"Ava"}`)
	fmt.Fprintln(w, `{"msg":"copy","file":"uploads/d0.pdf"}`)
	fmt.Fprintln(w, `[PurgeFunction] to cl-ava@clients.example.com`)
	fmt.Fprintln(w, `{"msg":"Avatar"}`)
	hits, lines := c.scan()
	var got []string
	for _, h := range hits {
		got = append(got, fmt.Sprintf("%d:%s", h.line, h.value))
	}
	want := "2:Ava 3:d0.pdf 4:cl-ava@clients.example.com"
	if lines != 5 || strings.Join(got, " ") != want {
		t.Errorf("got %d lines and hits %v, want 5 lines and %s", lines, got, want)
	}
}
