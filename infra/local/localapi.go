package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// localAPI serves the /_local endpoints: tokens, the scheduler that moto
// does not run, and the mail moto recorded.
type localAPI struct {
	auth     *issuer
	sched    *scheduler.Client
	group    string
	targets  map[string]invoker // target ARN -> function
	emulator string
	log      *slog.Logger
	// now is the local clock, which the functions read too; travel moves
	// it forward (nil: it does not move).
	now      func() time.Time
	travel   func(time.Time) (time.Time, error)
	tokenTTL time.Duration
	// async is, by target ARN, how Lambda retries a failed asynchronous
	// invocation of that function (template.yaml's EventInvokeConfig); a
	// target not here gets Lambda's defaults.
	async map[string]localstack.AsyncRetry
	// firing is held while schedules fire, so the clock and a request
	// never fire one schedule twice. It guards deliveries.
	firing     sync.Mutex
	deliveries map[string]*delivery // by schedule name

	deadMu      sync.Mutex
	deadLetters []deadLetter
}

// delivery is what the local scheduler keeps of a schedule it fired: its
// attempts, and when the next is due while it is being retried.
type delivery struct {
	fingerprint string    // expression, target and input: a schedule made again under the name starts afresh
	first       time.Time // the first attempt (local clock): events age from it
	attempts    int
	// undelivered counts the attempts that could not invoke the target,
	// retried per the schedule's RetryPolicy; failed the invocations the
	// function failed, retried per its EventInvokeConfig, as Lambda
	// retries an asynchronous invocation.
	undelivered, failed int
	next                time.Time
	done                bool // succeeded or dead-lettered: it never fires again
}

// deadLetter is a delivery given up, as the dead-letter queue would hold
// it.
type deadLetter struct {
	Schedule string          `json:"schedule"`
	Target   string          `json:"target"`
	Input    json.RawMessage `json:"input,omitempty"`
	Queue    string          `json:"queue,omitempty"` // the schedule's DeadLetterConfig
	Attempts int             `json:"attempts"`
	// Reason is which limit ended it: the schedule's RetryPolicy
	// (Scheduler could not invoke the target) or the function's
	// EventInvokeConfig (the function failed), its retries or its
	// events' age.
	Reason string    `json:"reason"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"` // local clock
}

func (l *localAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /_local/token", l.token)
	mux.HandleFunc("POST /_local/scheduler/run", l.runScheduler)
	mux.HandleFunc("GET /_local/scheduler/dead-letters", l.listDeadLetters)
	mux.HandleFunc("GET /_local/mail", l.mail)
	mux.HandleFunc("GET /_local/issuer/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, l.auth.JWKS())
	})
	mux.HandleFunc("GET /_local/issuer/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"issuer": l.auth.url, "jwks_uri": l.auth.url + "/.well-known/jwks.json", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
}

func localError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (l *localAPI) token(w http.ResponseWriter, r *http.Request) {
	var claims map[string]any
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims == nil {
		localError(w, http.StatusBadRequest, "invalid", "the body must be a JSON object of claims")
		return
	}
	// On the real clock, as the authorizer checks it (gateway.authorize).
	tok, err := l.auth.Sign(claims, time.Now(), l.tokenTTL)
	if err != nil {
		localError(w, http.StatusInternalServerError, "internal", "cannot sign the token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// ranSchedule is one attempt of the local scheduler at a schedule.
type ranSchedule struct {
	Name       string          `json:"name"`
	Expression string          `json:"expression"`
	Target     string          `json:"target"`
	Input      json.RawMessage `json:"input,omitempty"`
	Attempt    int             `json:"attempt"` // 1 for the first; retries count on
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	// RetryAt is when a failed attempt is tried again; DeadLetter says it
	// will not be: the delivery went to the dead-letter queue.
	RetryAt    *time.Time `json:"retryAt,omitempty"`
	DeadLetter bool       `json:"deadLetter,omitempty"`
	Deleted    bool       `json:"deleted"`
}

type skippedSchedule struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Reason     string `json:"reason"`
}

// runScheduler fires every enabled one-shot at(...) schedule of the group
// due at or before ?at= (default: the local clock's now), and every retry
// due by then, as EventBridge Scheduler would (see fire). A time ahead of
// the local clock first moves the clock there, so the functions it invokes
// (and every later request) see that time: the purge starts nothing before
// its date. The clock never goes back: an earlier time fires what was due
// then, and the clock stays.
func (l *localAPI) runScheduler(w http.ResponseWriter, r *http.Request) {
	at := l.now()
	if s := r.URL.Query().Get("at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			localError(w, http.StatusBadRequest, "invalid", "at must be an RFC 3339 time")
			return
		}
		at = t
	}
	if l.travel != nil {
		if _, err := l.travel(at); err != nil {
			l.log.Error("move the local clock", "err", err)
			localError(w, http.StatusInternalServerError, "clock", err.Error())
			return
		}
	}
	ctx := r.Context()
	ran, skipped, err := l.fire(ctx, at)
	if err != nil {
		l.log.Error("scheduler run", "err", err)
		localError(w, http.StatusBadGateway, "emulator", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at.UTC(), "clock": l.now().UTC(), "group": l.group, "ran": ran, "skipped": skipped})
}

// tick fires the schedules due by the local clock every period, until ctx
// ends.
func (l *localAPI) tick(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ran, _, err := l.fire(ctx, l.now())
		if err != nil && ctx.Err() == nil {
			l.log.Warn("scheduler clock", "err", err)
		}
		for _, r := range ran {
			l.log.Info("scheduler clock fired", "schedule", r.Name, "target", r.Target, "attempt", r.Attempt)
		}
	}
}

// fire attempts every schedule due at or before at that has not run, and
// every retry due by then. A schedule is kept while its delivery lasts,
// and deleted (ActionAfterCompletion DELETE) once it succeeded or went to
// the dead-letter queue, as a one-shot schedule completes after its last
// invocation. A failed attempt is retried as AWS would:
//
//   - the target could not be invoked (no local function has its ARN):
//     per the schedule's RetryPolicy (MaximumRetryAttempts,
//     MaximumEventAgeInSeconds), after 1 s, 2 s, 4 s, … at most 5 minutes;
//   - the function failed (its error, a timeout, a crash): per its
//     EventInvokeConfig, as Lambda retries the asynchronous invocation
//     Scheduler makes, a minute and then two minutes later.
//
// When the retries are spent, or the next would come later than the
// events' maximum age after the first attempt, the delivery goes to the
// dead-letter queue: listed on GET /_local/scheduler/dead-letters and
// logged. Attempts go by the local clock: a travel past several retries
// runs the next one once, at the new time.
func (l *localAPI) fire(ctx context.Context, at time.Time) ([]ranSchedule, []skippedSchedule, error) {
	l.firing.Lock()
	defer l.firing.Unlock()
	if l.deliveries == nil {
		l.deliveries = map[string]*delivery{}
	}
	ran, skipped := []ranSchedule{}, []skippedSchedule{}
	seen := map[string]bool{}
	p := scheduler.NewListSchedulesPaginator(l.sched, &scheduler.ListSchedulesInput{GroupName: &l.group})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list schedules: %w", err)
		}
		for _, sum := range page.Schedules {
			s, err := l.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: sum.Name, GroupName: &l.group})
			if err != nil {
				return nil, nil, fmt.Errorf("get schedule %s: %w", aws.ToString(sum.Name), err)
			}
			name, expr := aws.ToString(s.Name), aws.ToString(s.ScheduleExpression)
			seen[name] = true
			d := l.deliveries[name]
			if d != nil && d.fingerprint != fingerprint(s) {
				d = nil // deleted and made again since
			}
			due, err := oneShot(expr, aws.ToString(s.ScheduleExpressionTimezone))
			switch {
			case err != nil:
				skipped = append(skipped, skippedSchedule{name, expr, err.Error()})
				continue
			case s.State == schedtypes.ScheduleStateDisabled:
				skipped = append(skipped, skippedSchedule{name, expr, "disabled"})
				continue
			case due.After(at):
				skipped = append(skipped, skippedSchedule{name, expr, "not due"})
				continue
			case d != nil && d.done:
				skipped = append(skipped, skippedSchedule{name, expr, "ran"})
				continue
			case d != nil && d.next.After(at):
				skipped = append(skipped, skippedSchedule{name, expr, "retry at " + d.next.UTC().Format(time.RFC3339)})
				continue
			}
			if d == nil {
				d = &delivery{fingerprint: fingerprint(s), first: at}
				l.deliveries[name] = d
			}
			ran = append(ran, l.attempt(ctx, s, d, at))
		}
	}
	for name := range l.deliveries {
		if !seen[name] {
			delete(l.deliveries, name) // the schedule is gone: deleted, or cancelled
		}
	}
	return ran, skipped, nil
}

// fingerprint tells a schedule from another made later under its name.
func fingerprint(s *scheduler.GetScheduleOutput) string {
	var target, input string
	if s.Target != nil {
		target, input = aws.ToString(s.Target.Arn), aws.ToString(s.Target.Input)
	}
	return aws.ToString(s.ScheduleExpression) + "\x00" + target + "\x00" + input
}

// attempt invokes the schedule's target once, and decides what comes
// next: done, a retry, or the dead-letter queue.
func (l *localAPI) attempt(ctx context.Context, s *scheduler.GetScheduleOutput, d *delivery, at time.Time) ranSchedule {
	d.attempts++
	rs, delivered := l.invoke(ctx, s)
	rs.Attempt = d.attempts
	if rs.Error == "" {
		d.done = true
		l.complete(ctx, s, &rs)
		return rs
	}
	// Which retry applies, and its limits.
	var retries, maxRetries int
	var maxAge, wait time.Duration
	var policy string
	if delivered {
		d.failed++
		a, ok := l.async[rs.Target]
		if !ok {
			a = localstack.AsyncRetry{MaxRetries: localstack.DefaultAsyncRetries, MaxAgeSec: localstack.DefaultAsyncMaxAgeSec}
		}
		retries, maxRetries, maxAge = d.failed, a.MaxRetries, time.Duration(a.MaxAgeSec)*time.Second
		wait = time.Duration(min(d.failed, 2)) * time.Minute
		policy = "the function's EventInvokeConfig"
	} else {
		d.undelivered++
		maxRetries, maxAge = 185, 24*time.Hour // Scheduler's defaults
		if s.Target != nil && s.Target.RetryPolicy != nil {
			rp := s.Target.RetryPolicy
			if rp.MaximumRetryAttempts != nil {
				maxRetries = int(*rp.MaximumRetryAttempts)
			}
			if rp.MaximumEventAgeInSeconds != nil {
				maxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
			}
		}
		retries = d.undelivered
		wait = min(time.Second<<min(d.undelivered-1, 10), 5*time.Minute)
		policy = "the schedule's RetryPolicy"
	}
	next := at.Add(wait)
	var reason string
	switch {
	case retries > maxRetries:
		reason = fmt.Sprintf("%s: %d retries spent", policy, maxRetries)
	case next.Sub(d.first) > maxAge:
		reason = fmt.Sprintf("%s: events older than %s are given up", policy, maxAge)
	default:
		d.next = next
		rs.RetryAt = &next
		return rs
	}
	d.done = true
	rs.DeadLetter = true
	dl := deadLetter{Schedule: rs.Name, Target: rs.Target, Input: rs.Input, Attempts: d.attempts, Reason: reason, Error: rs.Error, At: at.UTC()}
	if s.Target != nil && s.Target.DeadLetterConfig != nil {
		dl.Queue = aws.ToString(s.Target.DeadLetterConfig.Arn)
	}
	l.deadMu.Lock()
	l.deadLetters = append(l.deadLetters, dl)
	l.deadMu.Unlock()
	l.log.Warn("schedule delivery failed for good: sent to the dead-letter queue",
		"schedule", rs.Name, "target", rs.Target, "attempts", d.attempts, "reason", reason)
	l.complete(ctx, s, &rs)
	return rs
}

// invoke runs the schedule's target with its input. delivered is whether
// the target was invoked at all (its function ran, whatever it answered).
func (l *localAPI) invoke(ctx context.Context, s *scheduler.GetScheduleOutput) (rs ranSchedule, delivered bool) {
	rs = ranSchedule{Name: aws.ToString(s.Name), Expression: aws.ToString(s.ScheduleExpression)}
	if s.Target == nil {
		rs.Error = "schedule has no target"
		return rs, false
	}
	rs.Target = aws.ToString(s.Target.Arn)
	input := aws.ToString(s.Target.Input)
	if input == "" {
		input = "{}"
	}
	if json.Valid([]byte(input)) {
		rs.Input = json.RawMessage(input)
	}
	fn, ok := l.targets[rs.Target]
	if !ok {
		rs.Error = "no local function has this ARN"
		return rs, false
	}
	out, err := fn.Invoke(ctx, []byte(input))
	if err != nil {
		rs.Error = err.Error()
		return rs, true
	}
	if json.Valid(out) {
		rs.Result = out
	}
	return rs, true
}

// complete deletes a schedule whose delivery is over, when it asks for
// that (ActionAfterCompletion DELETE).
func (l *localAPI) complete(ctx context.Context, s *scheduler.GetScheduleOutput, rs *ranSchedule) {
	if s.ActionAfterCompletion != schedtypes.ActionAfterCompletionDelete {
		return
	}
	if _, err := l.sched.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: s.Name, GroupName: &l.group}); err != nil {
		if rs.Error == "" {
			rs.Error = "ran, but delete failed: " + err.Error()
		}
		return
	}
	rs.Deleted = true
}

// listDeadLetters answers the deliveries the local scheduler gave up, in
// the order it gave them up.
func (l *localAPI) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	l.deadMu.Lock()
	out := append([]deadLetter{}, l.deadLetters...)
	l.deadMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"deadLetters": out})
}

// oneShot parses "at(2006-01-02T15:04:05)" in the schedule's time zone.
func oneShot(expr, tz string) (time.Time, error) {
	if !strings.HasPrefix(expr, "at(") || !strings.HasSuffix(expr, ")") {
		return time.Time{}, fmt.Errorf("recurring schedules are not run locally")
	}
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return time.Time{}, fmt.Errorf("unknown time zone %q", tz)
		}
		loc = l
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", expr[3:len(expr)-1], loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad at() expression")
	}
	return t, nil
}

// sentMail is one message moto recorded, parsed.
type sentMail struct {
	ID      string   `json:"id"`
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	HTML    string   `json:"html"`
}

func (l *localAPI) mail(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, l.emulator+localstack.SentEmailPath, nil)
	if err != nil {
		localError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		localError(w, http.StatusBadGateway, "emulator", err.Error())
		return
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			RawMessage []struct {
				ID           string   `json:"id"`
				Source       string   `json:"source"`
				Destinations []string `json:"destinations"`
				RawData      string   `json:"raw_data"`
			} `json:"RawMessage"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		localError(w, http.StatusBadGateway, "emulator", "cannot decode the emulator's state")
		return
	}
	out := []sentMail{}
	for _, m := range data.SES.RawMessage {
		sm := parseMail(m.RawData)
		sm.ID = m.ID
		if sm.From == "" {
			sm.From = m.Source
		}
		if len(sm.To) == 0 {
			sm.To = m.Destinations
		}
		if f := r.URL.Query().Get("from"); f != "" && !strings.Contains(sm.From, f) {
			continue
		}
		out = append(out, sm)
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

var wordDecoder = &mime.WordDecoder{}

// parseMail reads a raw MIME message: headers, and its text and HTML parts.
func parseMail(raw string) sentMail {
	var sm sentMail
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return sm
	}
	sm.From = msg.Header.Get("From")
	if addrs, err := msg.Header.AddressList("To"); err == nil {
		for _, a := range addrs {
			sm.To = append(sm.To, a.Address)
		}
	}
	if s, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		sm.Subject = s
	}
	walkPart(&sm, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	return sm
}

func walkPart(sm *sentMail, contentType, encoding string, body io.Reader, depth int) {
	if depth > 5 {
		return
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walkPart(sm, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		b, _ := io.ReadAll(body)
		r = base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Join(bytes.Fields(b), nil)))
	}
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	switch mt {
	case "text/plain":
		if sm.Text == "" {
			sm.Text = string(b)
		}
	case "text/html":
		if sm.HTML == "" {
			sm.HTML = string(b)
		}
	}
}
