package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/wellness-rtbf/rtbf/infra/model"
	"github.com/wellness-rtbf/rtbf/internal/clock"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// Options configure the local system.
type Options struct {
	Root           string // repository root (holds go.mod, Makefile, .tools)
	Addr           string // the API's listen address, on loopback
	EmulatorURL    string // an emulator already running; empty: start moto
	EmulatorPort   int    // port for the moto this program starts; 0: a free one
	Prefix         string // resource names
	PracticeID     string // the demo practice
	BuildDir       string // where the functions' bootstrap binaries go
	Audience       string // the JWT audience the authorizer accepts
	PurgeDelayDays int
	TokenTTL       time.Duration // of tokens from /_local/token without exp
	// SchedulerEvery is how often the local scheduler fires, on its own,
	// the schedules due by the local clock (an export's, a purge's
	// continuation), as EventBridge Scheduler would; 0: only on request
	// (POST /_local/scheduler/run), which tests use to stay in control.
	SchedulerEvery time.Duration
	// Model, when set, puts the AWS behaviour model (infra/model, these
	// parameters in its Parse form) between the functions and the
	// emulator.
	Model  string
	Log    *slog.Logger
	Output io.Writer // the functions' logs, one prefixed line each
}

// System is the running local stack.
type System struct {
	URL         string // the API's base URL
	EmulatorURL string
	// AWSURL is the endpoint the functions call: the emulator, or the
	// model in front of it.
	AWSURL string
	model  *model.Server
	Stack  *localstack.Stack
	Demo   localstack.Demo
	Issuer *issuer

	opts     Options
	clock    *clock.File // the local clock, shared with the functions
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	server   *http.Server
	runtimes map[string]*runtimeAPI
	// functions and routes are template.yaml's.
	functions []localstack.Function
	routes    []route

	mu   sync.Mutex
	pids []int
}

func functionARN(name string) string { return localstack.FunctionARN(name) }

// Now is the local clock: the real time, or later once POST
// /_local/scheduler/run moved it; never earlier.
func (s *System) Now() time.Time { return s.clock.Now() }

func (s *System) functionName(logical string) string { return s.opts.Prefix + "-" + logical }

// Start brings the whole system up; Close takes it down. Every process it
// starts is bound to ctx as well.
func Start(parent context.Context, o Options) (_ *System, err error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("the functions are built for linux (infra/sam.mk); this host is %s", runtime.GOOS)
	}
	if err := loopbackOnly(o.Addr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	s := &System{opts: o, cancel: cancel, runtimes: map[string]*runtimeAPI{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// The local clock starts at the real time. Its file is where the
	// functions (built with its tag) find it.
	if err := os.MkdirAll(o.BuildDir, 0o755); err != nil {
		return nil, err
	}
	s.clock = clock.NewFile(filepath.Join(o.BuildDir, "clock"))
	if err := s.clock.Reset(); err != nil {
		return nil, err
	}

	if s.functions, err = localstack.ReadFunctions(filepath.Join(o.Root, "template.yaml")); err != nil {
		return nil, err
	}
	s.routes = templateRoutes(s.functions)

	// Build while the emulator starts.
	built := make(chan error, 1)
	go func() { built <- s.build(ctx) }()

	s.EmulatorURL = o.EmulatorURL
	if s.EmulatorURL == "" {
		if s.EmulatorURL, err = s.startMoto(ctx); err != nil {
			return nil, err
		}
	}
	if s.Stack, err = localstack.New(ctx, s.EmulatorURL, o.Prefix); err != nil {
		return nil, err
	}
	if err := s.Stack.Provision(ctx); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	if s.Demo, err = s.Stack.Seed(ctx, o.PracticeID); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	s.AWSURL = s.EmulatorURL
	if o.Model != "" {
		p, err := model.Parse(o.Model, model.Defaults())
		if err != nil {
			return nil, err
		}
		if s.model, err = model.Serve(s.EmulatorURL, p); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		s.AWSURL = s.model.URL
	}
	if err := <-built; err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	s.URL = "http://" + ln.Addr().String()
	if s.Issuer, err = newIssuer(s.URL+"/_local/issuer", o.Audience); err != nil {
		ln.Close()
		return nil, err
	}

	targets := map[string]invoker{}
	async := map[string]localstack.AsyncRetry{}
	gwFns := map[string]invoker{}
	for _, f := range s.functions {
		rt, err := newRuntimeAPI(s.functionName(f.LogicalID), time.Duration(f.Timeout)*time.Second, o.Log)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.runtimes[f.LogicalID] = rt
		targets[rt.arn] = rt
		async[rt.arn] = f.Async
		gwFns[f.LogicalID] = rt
		// A reference of the template the local stack has no value for
		// fails here, not in a function's process.
		if _, err := s.env(f, rt); err != nil {
			ln.Close()
			return nil, err
		}
		s.wg.Add(1)
		go s.supervise(ctx, f, rt)
	}

	now := s.clock.Now
	mux := http.NewServeMux()
	local := &localAPI{
		auth: s.Issuer, sched: s.Stack.Scheduler, group: s.Stack.ScheduleGroup, targets: targets, async: async,
		emulator: s.EmulatorURL, log: o.Log, now: now, travel: s.clock.Travel, tokenTTL: o.TokenTTL,
	}
	local.register(mux)
	if o.SchedulerEvery > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			local.tick(ctx, o.SchedulerEvery)
		}()
	}
	mux.Handle("/", &gateway{routes: s.routes, functions: gwFns, auth: s.Issuer, log: o.Log, now: now})
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Log.Error("api server", "err", err)
		}
	}()
	return s, nil
}

// Close stops the API, every function process and the emulator it started,
// and waits for them to exit.
func (s *System) Close() {
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.server.Shutdown(ctx)
		cancel()
	}
	// Processes first (their context ends), then their runtime APIs, so no
	// runtime sees its API vanish while it still runs.
	s.cancel()
	s.wg.Wait()
	for _, rt := range s.runtimes {
		_ = rt.Close()
	}
	if s.model != nil {
		s.model.Close()
	}
}

// PIDs are the processes the system started (for tests to check they end).
func (s *System) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.pids...)
}

func (s *System) track(pid int) {
	s.mu.Lock()
	s.pids = append(s.pids, pid)
	s.mu.Unlock()
}

func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("address %q: the local stack listens on loopback only", addr)
	}
	return nil
}

// build runs the SAM build targets of infra/sam.mk for this host's arch.
func (s *System) build(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.functions))
	for i, f := range s.functions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := localBuild(ctx, s.opts.Root, "build-"+f.LogicalID, filepath.Join(s.opts.BuildDir, f.LogicalID))
			setProcessGroup(cmd)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build %s: %w\n%s", f.LogicalID, err, out)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// localBuild is the make command of a target of infra/sam.mk as the local
// stack runs it: for this host's arch, into dir, and with the local
// clock's build tag, which only a command-line LOCAL_BUILD_TAGS sets.
func localBuild(ctx context.Context, root, target, dir string, vars ...string) *exec.Cmd {
	args := append([]string{"-C", root, "--no-print-directory", target, "ARTIFACTS_DIR=" + dir, "GOARCH=" + runtime.GOARCH,
		"LOCAL_BUILD_TAGS=" + clock.BuildTag}, vars...)
	cmd := exec.CommandContext(ctx, "make", args...)
	// Not a sub-make of ours: do not inherit a jobserver.
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=")
	return cmd
}

func (s *System) startMoto(ctx context.Context) (string, error) {
	// moto through the project's launcher (infra/moto/serve.py), as the
	// tests run it.
	bin := filepath.Join(s.opts.Root, ".tools", "moto", "bin", "python")
	serve := filepath.Join(s.opts.Root, "infra", "moto", "serve.py")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("moto is not installed (%s): run `make tools`", bin)
	}
	port := s.opts.EmulatorPort
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	} else if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		return "", fmt.Errorf("emulator port %d is taken (set RTBF_EMULATOR_PORT to another): %w", port, err)
	} else {
		l.Close()
	}
	if err := os.MkdirAll(s.opts.BuildDir, 0o755); err != nil {
		return "", err
	}
	logPath := filepath.Join(s.opts.BuildDir, "moto.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, serve, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", fmt.Errorf("start moto: %w", err)
	}
	s.track(cmd.Process.Pid)
	exited := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = cmd.Wait()
		killGroup(cmd)
		logf.Close()
		close(exited)
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return url, nil
			}
		}
		select {
		case <-exited:
			return "", fmt.Errorf("moto exited at start; see %s", logPath)
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("moto did not answer on %s; see %s", url, logPath)
}

// env is what a function's process sees: what template.yaml gives it (its
// references named after the local stack), the Lambda runtime's own
// variables, and fake credentials for the emulator. Nothing else of this
// host's environment (profiles, CA bundles) leaks in.
func (s *System) env(f localstack.Function, rt *runtimeAPI) ([]string, error) {
	name := s.functionName(f.LogicalID)
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=UTC",
		"LANG=C.UTF-8",
		"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.Memory),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=local/" + newID(),
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_LEVEL=INFO",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + filepath.Join(s.opts.BuildDir, f.LogicalID),
		"AWS_REGION=" + localstack.Region,
		"AWS_DEFAULT_REGION=" + localstack.Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_ENDPOINT_URL=" + s.AWSURL,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		// A custom CA bundle makes the SDK refuse custom HTTP clients; the
		// emulator speaks plain HTTP.
		"AWS_CA_BUNDLE=",
		"S3_USE_PATH_STYLE=true",
		// Read only by the local build (clock.BuildTag): the local clock.
		clock.EnvFile + "=" + s.clock.Path(),
	}
	fenv, err := f.Environ(s.Stack.Resources(s.functionName,
		map[string]string{"PurgeDelayDays": strconv.Itoa(s.opts.PurgeDelayDays)}))
	if err != nil {
		return nil, err
	}
	return append(env, fenv...), nil
}

// supervise keeps one process of the function polling its runtime API, and
// starts a new one when it exits, as Lambda starts a new execution
// environment.
func (s *System) supervise(ctx context.Context, f localstack.Function, rt *runtimeAPI) {
	defer s.wg.Done()
	bin := filepath.Join(s.opts.BuildDir, f.LogicalID, "bootstrap")
	out := &prefixWriter{w: s.opts.Output, prefix: "[" + f.LogicalID + "] "}
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		cmd := exec.CommandContext(ctx, bin)
		cmd.Dir = filepath.Dir(bin)
		env, err := s.env(f, rt) // checked by Start: it fails only there
		if err != nil {
			s.opts.Log.Error("function environment", "function", f.LogicalID, "err", err)
			return
		}
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = out, out
		setProcessGroup(cmd)
		started := time.Now()
		err = cmd.Start()
		if err == nil {
			s.track(cmd.Process.Pid)
			err = cmd.Wait()
			killGroup(cmd)
		}
		rt.failAll(&FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("runtime exited: %v", err)})
		if ctx.Err() != nil {
			return
		}
		s.opts.Log.Warn("function process exited; starting another", "function", f.LogicalID, "err", err)
		if time.Since(started) > 10*time.Second {
			backoff = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// prefixWriter writes each line with a prefix, whole lines at a time.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

var outputMu sync.Mutex // the writers share one destination

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		outputMu.Lock()
		_, _ = fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		outputMu.Unlock()
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
