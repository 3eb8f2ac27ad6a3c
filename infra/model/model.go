package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Model is the AWS behaviour model in front of an emulator. Its
// RoundTrip answers as AWS would (latency, limits, conflicts, 5xx);
// Observer gives a RoundTripper for the callers that set the scene (tests'
// seeding and checks), which passes through at once but keeps the model's
// knowledge of item sizes and of the indexes up to date.
type Model struct {
	p     Params
	next  http.RoundTripper // the emulator, one call at a time (gate)
	start time.Time

	// gate is held while a call is at the emulator. The emulator answers
	// one call at a time, as AWS does not: calls waiting their turn wait
	// here, where the model can tell the wait from the work. A
	// transaction is in flight (its items conflict) from when it reaches
	// the emulator, not while it waits, or a crowd of callers would keep
	// each other's transactions in flight for as long as the queue.
	gate     sync.Mutex
	emulator http.RoundTripper
	// onWayBack, when set (by tests), is called with each call's
	// operation once its answer is on its way back, before its
	// transaction's items are released.
	onWayBack func(op string)

	mu       sync.Mutex
	rng      *rand.Rand
	parts    map[string]*partition
	prefixes map[string]*prefix
	sizes    map[uint64]int32 // item sizes by item, -1: known absent
	busy     map[uint64]int   // items in transactions in flight
	stats    Stats

	tmu    sync.Mutex
	tables map[string]*table
}

type partition struct {
	w, r *bucket
}

type prefix struct {
	w, r *bucket
}

// Stats counts what the model did.
type Stats struct {
	// Calls by "service.Operation" (an SDK retry is a call of its own).
	Calls map[string]int
	// Throttled counts the calls answered with throttling, in whole
	// (an exception, 503 SlowDown, a cancelled transaction) or in part
	// (UnprocessedItems, UnprocessedKeys).
	Throttled int
	// Unprocessed counts the write requests and keys of batches held back.
	Unprocessed int
	// Conflicts counts the calls refused for a transaction in flight.
	Conflicts int
	// Errors counts the 5xx answers.
	Errors int
	// WriteUnits and ReadUnits are the capacity units consumed, by
	// partition ("table key-value").
	WriteUnits, ReadUnits map[string]float64
	// Writing is, by partition, the modelled times of its first and last
	// write.
	Writing map[string][2]time.Duration
}

// New returns a model with parameters p in front of next (the emulator's
// transport; nil for http.DefaultTransport).
func New(p Params, next http.RoundTripper) *Model {
	if next == nil {
		next = http.DefaultTransport
	}
	if p.TimeScale <= 0 {
		p.TimeScale = 1
	}
	m := &Model{
		p: p, emulator: next, start: time.Now(),
		rng:      rand.New(rand.NewPCG(p.Seed, 0x5eed)),
		parts:    map[string]*partition{},
		prefixes: map[string]*prefix{},
		sizes:    map[uint64]int32{},
		busy:     map[uint64]int{},
		tables:   map[string]*table{},
		stats:    newStats(),
	}
	m.next = gated{&m.gate, next}
	return m
}

func newStats() Stats {
	return Stats{Calls: map[string]int{}, WriteUnits: map[string]float64{}, ReadUnits: map[string]float64{}, Writing: map[string][2]time.Duration{}}
}

// wrote counts write units a partition consumed; m.mu is held.
func (m *Model) wrote(part string, units float64, now time.Duration) {
	m.stats.WriteUnits[part] += units
	w, ok := m.stats.Writing[part]
	if !ok {
		w[0] = now
	}
	w[1] = now
	m.stats.Writing[part] = w
}

// Params returns the model's parameters.
func (m *Model) Params() Params { return m.p }

// Stats returns a copy of the counts so far.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Calls = maps.Clone(s.Calls)
	s.WriteUnits = maps.Clone(s.WriteUnits)
	s.ReadUnits = maps.Clone(s.ReadUnits)
	s.Writing = maps.Clone(s.Writing)
	return s
}

// ResetStats zeroes the counts (not the buckets or what the model knows).
func (m *Model) ResetStats() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats = newStats()
}

// now is the modelled time since the model started.
func (m *Model) now() time.Duration {
	return time.Duration(float64(time.Since(m.start)) / m.p.TimeScale)
}

// sleep waits d of modelled time.
func (m *Model) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(float64(d) * m.p.TimeScale))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (m *Model) part(id string) *partition {
	p := m.parts[id]
	if p == nil {
		now := m.now()
		p = &partition{w: newBucket(m.p.WCU, m.p.Burst, now), r: newBucket(m.p.RCU, m.p.Burst, now)}
		m.parts[id] = p
	}
	return p
}

func (m *Model) prefix(id string) *prefix {
	p := m.prefixes[id]
	if p == nil {
		now := m.now()
		p = &prefix{w: newBucket(m.p.S3Write, m.p.Burst, now), r: newBucket(m.p.S3Read, m.p.Burst, now)}
		m.prefixes[id] = p
	}
	return p
}

// classify names a call's service and operation; "" for what is not an
// AWS API call (the emulator's own endpoints).
func classify(r *http.Request) (service, op string) {
	if t := r.Header.Get("X-Amz-Target"); strings.HasPrefix(t, "DynamoDB_") {
		return "dynamodb", t[strings.LastIndexByte(t, '.')+1:]
	}
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/moto-api"):
		return "", ""
	case strings.HasPrefix(path, "/v2/email"):
		return "sesv2", r.Method + " " + strings.Join(strings.SplitN(strings.TrimPrefix(path, "/v2/email/"), "/", 2)[:1], "")
	case strings.HasPrefix(path, "/schedules") || strings.HasPrefix(path, "/schedule-groups"):
		return "scheduler", r.Method + " " + strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0]
	}
	return "s3", s3Operation(r)
}

// RoundTrip answers a call as AWS would.
func (m *Model) RoundTrip(r *http.Request) (*http.Response, error) {
	service, op := classify(r)
	if service == "" {
		return m.next.RoundTrip(r)
	}
	m.mu.Lock()
	m.stats.Calls[service+"."+op]++
	lat := draw(m.rng, m.p.latency(service, op))
	fail := m.p.Errors > 0 && m.rng.Float64() < m.p.Errors
	m.mu.Unlock()

	ctx := r.Context()
	if err := m.sleep(ctx, lat/2); err != nil {
		return nil, err
	}
	if fail {
		discard(r)
		m.mu.Lock()
		m.stats.Errors++
		m.mu.Unlock()
		return serverError(r, service), nil
	}
	var (
		resp    *http.Response
		release func()
		err     error
	)
	began := time.Now()
	switch service {
	case "dynamodb":
		resp, release, err = m.dynamodb(r, op)
	case "s3":
		resp, err = m.s3(r, op)
	default:
		resp, err = m.next.RoundTrip(r)
	}
	if err != nil {
		return nil, err
	}
	// The answer's way back. The emulator's own time stands for AWS's
	// work on the call, part of its latency: it counts toward this half.
	spent := time.Duration(float64(time.Since(began)) / m.p.TimeScale)
	serr := m.sleep(ctx, lat-lat/2-spent)
	if m.onWayBack != nil {
		m.onWayBack(op)
	}
	if release != nil {
		release()
	}
	if serr != nil {
		resp.Body.Close()
		return nil, serr
	}
	return resp, nil
}

// gated sends a call to the emulator when it holds the gate.
type gated struct {
	gate *sync.Mutex
	next http.RoundTripper
}

func (g gated) RoundTrip(r *http.Request) (*http.Response, error) {
	g.gate.Lock()
	defer g.gate.Unlock()
	return g.next.RoundTrip(r)
}

// Observer is a RoundTripper to the emulator that passes every call
// through at once, unlimited, but keeps what the model knows up to date:
// the sizes of the items written, and the indexes, which see its writes
// at once (its callers set the scene before the modelled calls).
func (m *Model) Observer() http.RoundTripper { return observer{m} }

type observer struct{ m *Model }

func (o observer) RoundTrip(r *http.Request) (*http.Response, error) {
	if service, op := classify(r); service == "dynamodb" {
		return o.m.observe(r, op)
	}
	return o.m.next.RoundTrip(r)
}

// Handler is an HTTP proxy to target that answers through the model (or,
// with observe, through its Observer).
func (m *Model) Handler(target *url.URL, observe bool) http.Handler {
	rp := httputil.NewSingleHostReverseProxy(target)
	if observe {
		rp.Transport = m.Observer()
	} else {
		rp.Transport = m
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() == nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}
	return rp
}

// Server is the model as an HTTP proxy on 127.0.0.1.
type Server struct {
	// URL is the modelled AWS; ObserverURL the observer's pass-through.
	URL, ObserverURL string
	Model            *Model
	srv, osrv        *http.Server
}

// Serve starts the model with parameters p as a proxy in front of target,
// on two free ports of 127.0.0.1.
func Serve(target string, p Params) (*Server, error) {
	u, err := url.Parse(strings.TrimRight(target, "/"))
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: 90 * time.Second}
	m := New(p, tr)
	s := &Server{Model: m}
	for _, side := range []struct {
		url *string
		srv **http.Server
		obs bool
	}{{&s.URL, &s.srv, false}, {&s.ObserverURL, &s.osrv, true}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, err
		}
		*side.url = "http://" + ln.Addr().String()
		*side.srv = &http.Server{Handler: m.Handler(u, side.obs), ReadHeaderTimeout: time.Minute}
		go (*side.srv).Serve(ln)
	}
	return s, nil
}

// Close stops the proxy.
func (s *Server) Close() {
	for _, srv := range []*http.Server{s.srv, s.osrv} {
		if srv != nil {
			srv.Close()
		}
	}
}

// ---- answers ----

func discard(r *http.Request) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

// withBody returns a copy of r that sends body.
func withBody(r *http.Request, body []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Content-Length")
	return r2
}

// readResponse reads a response's body and puts it back.
func readResponse(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}

// setBody replaces the body of a response read in full, with DynamoDB's
// checksum header (which the SDK checks) when it had one.
func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if resp.Header.Get("X-Amz-Crc32") != "" {
		resp.Header.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
}

func respond(r *http.Request, status int, header http.Header, body []byte) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	header.Set("X-Amzn-Requestid", fmt.Sprintf("model-%d", time.Now().UnixNano()))
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: header, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// ddbError is a DynamoDB error answer (HTTP 400 unless status says).
func ddbError(r *http.Request, status int, typ, message string, extra map[string]any) *http.Response {
	body := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": message}
	maps.Copy(body, extra)
	b, _ := json.Marshal(body)
	h := http.Header{"Content-Type": {"application/x-amz-json-1.0"}}
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	return respond(r, status, h, b)
}

func s3Error(r *http.Request, status int, code, message string) *http.Response {
	b := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code + "</Code><Message>" + message +
		"</Message><RequestId>model</RequestId><HostId>model</HostId></Error>")
	return respond(r, status, http.Header{"Content-Type": {"application/xml"}}, b)
}

// serverError is a service's 5xx answer.
func serverError(r *http.Request, service string) *http.Response {
	switch service {
	case "dynamodb":
		return ddbError(r, http.StatusInternalServerError, "InternalServerError", "Internal server error", nil)
	case "s3":
		return s3Error(r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case "scheduler":
		h := http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {"InternalServerException"}}
		return respond(r, http.StatusInternalServerError, h, []byte(`{"Message":"Internal server error"}`))
	default:
		h := http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {"InternalFailure"}}
		return respond(r, http.StatusInternalServerError, h, []byte(`{"message":"Internal failure"}`))
	}
}
