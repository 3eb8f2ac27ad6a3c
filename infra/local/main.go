// Command local runs the whole service on this machine, with no AWS
// account and on 127.0.0.1 only (`make run`): moto as AWS, the functions
// as processes behind a Lambda Runtime API, and the HTTP API with its JWT
// authorizer in front of them. A local identity provider signs tokens, and
// a local scheduler fires the purge and export schedules moto stores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{TokenTTL: time.Hour}
	fs.StringVar(&o.Addr, "addr", envOr("RTBF_LOCAL_ADDR", "127.0.0.1:3000"), "API listen address (loopback only) [RTBF_LOCAL_ADDR]")
	fs.StringVar(&o.EmulatorURL, "emulator-url", os.Getenv("RTBF_EMULATOR_URL"), "use this running emulator instead of starting moto [RTBF_EMULATOR_URL]")
	port, err := strconv.Atoi(envOr("RTBF_EMULATOR_PORT", "4566"))
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("RTBF_EMULATOR_PORT=%q: want a port number (0 picks a free one)", os.Getenv("RTBF_EMULATOR_PORT"))
	}
	fs.IntVar(&o.EmulatorPort, "emulator-port", port, "port of the moto this command starts; 0 picks a free one [RTBF_EMULATOR_PORT]")
	fs.StringVar(&o.Prefix, "prefix", "rtbf-local", "name prefix of the emulated resources")
	fs.StringVar(&o.PracticeID, "practice", "demo-practice", "id of the seeded demo practice")
	fs.StringVar(&o.Audience, "audience", envOr("RTBF_LOCAL_AUDIENCE", "rtbf-local"), "JWT audience the authorizer accepts [RTBF_LOCAL_AUDIENCE]")
	fs.IntVar(&o.PurgeDelayDays, "purge-delay-days", 30, "PURGE_DELAY_DAYS of the deletion request function")
	fs.StringVar(&o.Root, "root", "", "repository root (default: the module containing the working directory)")
	fs.StringVar(&o.BuildDir, "build-dir", "", "where functions are built (default: <root>/.run/build)")
	fs.DurationVar(&o.SchedulerEvery, "scheduler-every", 10*time.Second, "how often the local scheduler fires the schedules due by the local clock; 0: only on POST /_local/scheduler/run")
	fs.StringVar(&o.Model, "model", os.Getenv("RTBF_MODEL"), "put the AWS behaviour model (infra/model) between the functions and the emulator, with these parameters (\"default\", \"testing\", or name=value,...) [RTBF_MODEL]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Root == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.BuildDir == "" {
		o.BuildDir = filepath.Join(o.Root, ".run", "build")
	}
	if o.BuildDir, err = filepath.Abs(o.BuildDir); err != nil {
		return err
	}
	o.Log = slog.New(safelog.Handler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	o.Output = stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(stderr, "starting: building the functions, starting the emulator ...")
	sys, err := Start(ctx, o)
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := banner(stdout, sys); err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second Ctrl-C kills at once; children die with us (Pdeathsig)
	fmt.Fprintln(stderr, "stopping ...")
	sys.Close()
	fmt.Fprintln(stderr, "stopped")
	return nil
}

// everyText says how often the scheduler fires by itself.
func everyText(d time.Duration) string {
	if d <= 0 {
		return "the scheduler fires only when asked (-scheduler-every 0)"
	}
	return "the scheduler also fires what is due by it every " + d.String()
}

// modelText says where the functions' AWS calls go when the model is on.
func modelText(s *System) string {
	if s.AWSURL == s.EmulatorURL {
		return ""
	}
	return "\n  AWS model:         " + s.AWSURL + "   (the functions' AWS calls, in front of the emulator)"
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// moduleRoot is the directory of the nearest go.mod above the working
// directory.
func moduleRoot() (string, error) {
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
			return "", errors.New("no go.mod above the working directory: pass -root")
		}
		dir = parent
	}
}

// demoUser is one person of the demo practice, as the banner names them.
type demoUser struct {
	Var    string // the shell variable of their token: OWNER, MEMBER, AVA, …
	Who    string // what they are
	Claims map[string]any
}

// demoUsers are every person of the demo practice who can sign in: the
// owner, the member and each client.
func demoUsers(d localstack.Demo) []demoUser {
	users := []demoUser{
		{"OWNER", "owner " + d.OwnerID, d.OwnerClaims()},
		{"MEMBER", "member " + d.MemberID, d.MemberClaims()},
	}
	for _, c := range d.Clients {
		users = append(users, demoUser{shellVar(strings.TrimPrefix(c, "cl-")), "client " + c, d.ClientClaims(c)})
	}
	return users
}

// shellVar is s upper-cased, with anything but letters and digits as _.
func shellVar(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}

func banner(w io.Writer, s *System) error {
	now := time.Now()
	const ttl = 12 * time.Hour
	users := demoUsers(s.Demo)
	var tokens, people []string
	for _, u := range users {
		tok, err := s.Issuer.Sign(u.Claims, now, ttl)
		if err != nil {
			return err
		}
		tokens = append(tokens, fmt.Sprintf("  %s=%s   # %s", u.Var, tok, u.Who))
		people = append(people, u.Who)
	}
	var routeLines []string
	for _, r := range s.routes {
		routeLines = append(routeLines, fmt.Sprintf("    %-4s %s%s  -> %s", r.method, s.URL, r.path, r.function))
	}
	_, err := fmt.Fprintf(w, `
rtbf is running locally (Ctrl-C stops everything)

  console:           %s/   (sign in as the owner, the member or a client)
  API (JWT required):
%s
  emulator (moto):   %s%s
  JWT issuer:        %s   audience %q
  tokens:            POST %s/_local/token   body: a JSON object of claims
  scheduler:         POST %s/_local/scheduler/run?at=<RFC3339>
  dead letters:      GET  %s/_local/scheduler/dead-letters   (deliveries whose retries ran out)
  local clock:       what the functions and the scheduler take for now: the real time until a
                     scheduler run at a later time moves it there; it never goes back (tokens
                     keep the real clock); %s
  sent mail:         GET  %s/_local/mail
  demo practice:     %s: %s

Try it (tokens valid 12h, one for each demo user):
%s
  curl -s -H "Authorization: Bearer $AVA" %s/v1/portal/account-deletion
  curl -s -X PUT -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' -d '{"enabled":true}' %s/v1/settings/right-to-be-forgotten
  curl -s -X POST -H "Authorization: Bearer $AVA" -H 'content-type: application/json' -d '{"confirm":true}' %s/v1/portal/account-deletion
  curl -s -H "Authorization: Bearer $MEMBER" %s/v1/notifications
  curl -s %s/_local/mail
  curl -s -X POST -H "Authorization: Bearer $OWNER" %s/v1/clients/cl-ava/exports
  curl -s -X POST "%s/_local/scheduler/run?at=$(date -u -d '+31 days' +%%Y-%%m-%%dT%%H:%%M:%%SZ)"

`, s.URL, strings.Join(routeLines, "\n"), s.EmulatorURL, modelText(s), s.Issuer.url, s.Issuer.audience,
		s.URL, s.URL, s.URL, everyText(s.opts.SchedulerEvery), s.URL, s.Demo.PracticeID, strings.Join(people, ", "),
		strings.Join(tokens, "\n"), s.URL, s.URL, s.URL, s.URL, s.URL, s.URL, s.URL)
	return err
}
