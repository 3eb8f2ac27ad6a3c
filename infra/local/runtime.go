package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// runtimeAPI is one function's Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): its
// bootstrap polls it for invocations and posts their results back.
type runtimeAPI struct {
	name    string
	arn     string
	timeout time.Duration
	log     *slog.Logger

	queue chan *invocation // unbuffered: an invocation is handed straight to a polling runtime

	mu       sync.Mutex
	inflight map[string]*invocation

	ln  net.Listener
	srv *http.Server
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan invokeResult // buffered 1
}

type invokeResult struct {
	body []byte
	err  *FunctionError
}

// FunctionError is an error the function (or its runtime) reported.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// errTimeout is an invocation that outlived the function's timeout.
var errTimeout = errors.New("task timed out")

const maxPayload = 6 << 20 // Lambda's synchronous payload limit

func newRuntimeAPI(name string, timeout time.Duration, log *slog.Logger) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &runtimeAPI{
		name: name, arn: functionARN(name), timeout: timeout, log: log.With("function", name),
		queue: make(chan *invocation), inflight: map[string]*invocation{}, ln: ln,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", r.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", r.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", r.initError)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("runtime api", "err", err)
		}
	}()
	return r, nil
}

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (r *runtimeAPI) Addr() string { return r.ln.Addr().String() }

func (r *runtimeAPI) Close() error {
	r.failAll(&FunctionError{Type: "Runtime.Shutdown", Message: "the local stack is stopping"})
	return r.srv.Close() // also ends long polls
}

// Invoke runs one invocation synchronously, waiting for a runtime to take
// it, and returns the function's response payload.
func (r *runtimeAPI) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv := &invocation{id: newID(), payload: payload, deadline: time.Now().Add(r.timeout), done: make(chan invokeResult, 1)}
	ctx, cancel := context.WithDeadline(ctx, inv.deadline)
	defer cancel()
	select {
	case r.queue <- inv:
	case <-ctx.Done():
		return nil, r.ctxErr(ctx)
	}
	select {
	case res := <-inv.done:
		if res.err != nil {
			return nil, res.err
		}
		return res.body, nil
	case <-ctx.Done():
		r.mu.Lock()
		delete(r.inflight, inv.id)
		r.mu.Unlock()
		return nil, r.ctxErr(ctx)
	}
}

func (r *runtimeAPI) ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w after %s", r.name, errTimeout, r.timeout)
	}
	return ctx.Err()
}

func (r *runtimeAPI) next(w http.ResponseWriter, req *http.Request) {
	select {
	case inv := <-r.queue:
		r.mu.Lock()
		r.inflight[inv.id] = inv
		r.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", r.arn)
		h.Set("Lambda-Runtime-Trace-Id", traceID())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-req.Context().Done():
	}
}

func (r *runtimeAPI) take(id string) *invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	inv := r.inflight[id]
	delete(r.inflight, id)
	return inv
}

func (r *runtimeAPI) response(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	if err != nil {
		http.Error(w, `{"errorMessage":"cannot read body","errorType":"InvalidRequest"}`, http.StatusBadRequest)
		return
	}
	inv := r.take(req.PathValue("id"))
	if inv == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorMessage": "unknown or expired request id", "errorType": "InvalidRequestID"})
		return
	}
	res := invokeResult{body: body}
	switch {
	case len(body) > maxPayload:
		res = invokeResult{err: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: "response payload exceeds 6 MB"}}
	case req.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// A streamed response that failed part-way reports it in trailers.
		res = invokeResult{err: &FunctionError{Type: req.Trailer.Get("Lambda-Runtime-Function-Error-Type"), Message: "streamed response failed"}}
	}
	inv.done <- res
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (r *runtimeAPI) invocationError(w http.ResponseWriter, req *http.Request) {
	fe := readFunctionError(req)
	inv := r.take(req.PathValue("id"))
	if inv == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorMessage": "unknown or expired request id", "errorType": "InvalidRequestID"})
		return
	}
	r.log.Warn("invocation error", "requestId", inv.id, "errorType", fe.Type)
	inv.done <- invokeResult{err: fe}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (r *runtimeAPI) initError(w http.ResponseWriter, req *http.Request) {
	fe := readFunctionError(req)
	r.log.Error("init error", "errorType", fe.Type, "errorMessage", fe.Message)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func readFunctionError(req *http.Request) *FunctionError {
	fe := &FunctionError{}
	b, _ := io.ReadAll(io.LimitReader(req.Body, maxPayload))
	_ = json.Unmarshal(b, fe)
	if fe.Type == "" {
		fe.Type = req.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

// failAll fails every invocation a runtime took but did not answer: its
// process exited or the stack is stopping.
func (r *runtimeAPI) failAll(fe *FunctionError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, inv := range r.inflight {
		inv.done <- invokeResult{err: fe}
		delete(r.inflight, id)
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func traceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
