//go:build linux

// Package rie runs the functions' bootstrap binaries, built by the Makefile
// targets `sam build` calls, under the AWS Lambda runtime interface emulator
// (the aws-lambda-rie that `make rie` installs), which is what `sam local
// invoke` does inside its container. The runtime-emulator test and the
// cold-start figures (infra/rie/coldstart) use it.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// Functions are the functions of template.yaml, with their limits,
// environment and events (internal/localstack reads them).
func Functions() ([]localstack.Function, error) { return localstack.Functions() }

// Root is the repository root: the nearest directory at or above the
// working directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Binary is the runtime interface emulator: $RTBF_RIE, or the one `make rie`
// installs under root.
func Binary(root string) (string, error) {
	bin := os.Getenv("RTBF_RIE")
	if bin == "" {
		bin = filepath.Join(root, ".tools", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("the runtime interface emulator is not installed (%s): run `make rie`", bin)
	}
	return bin, nil
}

// Build runs `make build-<logical>` in root exactly as `sam build` does,
// with ARTIFACTS_DIR=dir and GOARCH=goarch, and returns the bootstrap's path.
func Build(ctx context.Context, root, logical, dir, goarch string) (string, error) {
	return makeBootstrap(ctx, root, dir, goarch, "build-"+logical)
}

// BuildPackage builds the main package in directory pkg the same way
// (`make build-package`), into dir, and returns the bootstrap's path.
func BuildPackage(ctx context.Context, root, pkg, dir, goarch string) (string, error) {
	return makeBootstrap(ctx, root, dir, goarch, "build-package", "PKG="+pkg)
}

func makeBootstrap(ctx context.Context, root, dir, goarch, target string, vars ...string) (string, error) {
	args := append([]string{"-C", root, "--no-print-directory", target, "ARTIFACTS_DIR=" + dir, "GOARCH=" + goarch}, vars...)
	cmd := exec.CommandContext(ctx, "make", args...)
	// Not a sub-make of the caller's make: no inherited jobserver or flags.
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=", "MFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make %s: %w\n%s", target, err, out)
	}
	return filepath.Join(dir, "bootstrap"), nil
}

// FunctionName is the name the local copy of a function goes by.
func FunctionName(st *localstack.Stack, logical string) string { return st.Table + "-" + logical }

// Env is the environment of a function's process: what template.yaml gives
// the function (its references named after st), the Lambda variables, and
// the emulator's endpoint with fake credentials. Nothing of this host's
// environment (profiles, CA bundles) leaks in: the emulator passes its
// whole environment to the bootstrap.
func Env(st *localstack.Stack, f localstack.Function, purgeDelayDays int) ([]string, error) {
	name := FunctionName(st, f.LogicalID)
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=UTC",
		"LANG=C.UTF-8",
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.Memory),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(f.Timeout),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=local/rie",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_LEVEL=INFO",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"_HANDLER=bootstrap",
		"LOG_LEVEL=warn", // the emulator's own logs
		"AWS_REGION=" + localstack.Region,
		"AWS_DEFAULT_REGION=" + localstack.Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_ENDPOINT_URL=" + st.Endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		// A custom CA bundle makes the SDK refuse custom HTTP clients; the
		// emulator speaks plain HTTP.
		"AWS_CA_BUNDLE=",
		"S3_USE_PATH_STYLE=true",
	}
	res := st.Resources(func(logical string) string { return FunctionName(st, logical) },
		map[string]string{"PurgeDelayDays": strconv.Itoa(purgeDelayDays)})
	fenv, err := f.Environ(res)
	if err != nil {
		return nil, err
	}
	return append(env, fenv...), nil
}

// Process is one runtime interface emulator running one bootstrap. The
// emulator starts the bootstrap on the first invocation, as Lambda does on
// a cold start.
type Process struct {
	URL     string // the invocation endpoint
	Started time.Time

	cmd    *exec.Cmd
	exited chan struct{}
	client *http.Client
}

// Start starts the emulator for bootstrap with env, its output to out. Both
// of its listening addresses are free loopback ports, so that several can
// run at once.
func Start(rieBin, bootstrap string, env []string, out io.Writer) (*Process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rieBin,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, which the kernel kills should this program die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{
		URL:    "http://" + addr + "/2015-03-31/functions/function/invocations",
		cmd:    cmd,
		exited: make(chan struct{}),
		// No proxies from the host's environment: everything is on loopback.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}},
	}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rieBin, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// given are the ports freeAddr has handed out: the kernel may hand a port
// just closed to the next bind, and an emulator binds its ports only once
// it runs, so without this two emulators of one test could get the same
// port (and one would answer the other's invocations).
var (
	givenMu sync.Mutex
	given   = map[int]bool{}
)

func freeAddr() (string, error) {
	givenMu.Lock()
	defer givenMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !given[port] {
			given[port] = true
			return "127.0.0.1:" + strconv.Itoa(port), nil
		}
	}
	return "", errors.New("no free loopback port not handed out already")
}

// Invoke sends one invocation and returns the emulator's status and the
// function's response. While the emulator is not yet listening it retries,
// until ctx ends or the emulator exits.
func (p *Process) Invoke(ctx context.Context, payload []byte) (int, []byte, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(payload))
		if err != nil {
			return 0, nil, err
		}
		resp, err := p.client.Do(req)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, body, err
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return 0, nil, err
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-p.exited:
			return 0, nil, fmt.Errorf("the runtime interface emulator exited: %v", p.cmd.ProcessState)
		case <-time.After(time.Millisecond):
		}
	}
}

// Close kills the emulator's process group and that of every process below
// it (the emulator puts the bootstrap in a group of its own), and waits for
// the emulator to exit.
func (p *Process) Close() error {
	pid := p.cmd.Process.Pid
	for _, d := range descendants(pid) {
		_ = syscall.Kill(-d, syscall.SIGKILL)
		_ = syscall.Kill(d, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the runtime interface emulator (pid %d) did not exit", pid)
	}
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if parent, ok := ppid(child); ok {
			children[parent] = append(children[parent], child)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// ppid reads a process's parent from /proc/<pid>/stat, whose second field
// (the command, in parentheses) may itself hold spaces and parentheses.
func ppid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(string(fields[1]))
	return n, err == nil
}
