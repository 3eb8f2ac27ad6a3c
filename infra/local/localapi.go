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
	// firing is held while schedules fire, so the clock and a request
	// never fire one schedule twice.
	firing sync.Mutex
}

func (l *localAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /_local/token", l.token)
	mux.HandleFunc("POST /_local/scheduler/run", l.runScheduler)
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

// ranSchedule is one schedule the local scheduler looked at.
type ranSchedule struct {
	Name       string          `json:"name"`
	Expression string          `json:"expression"`
	Target     string          `json:"target"`
	Input      json.RawMessage `json:"input,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	Deleted    bool            `json:"deleted"`
}

type skippedSchedule struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Reason     string `json:"reason"`
}

// runScheduler fires every enabled one-shot at(...) schedule of the group
// due at or before ?at= (default: the local clock's now), as EventBridge
// Scheduler would. A time ahead of the local clock first moves the clock
// there, so the functions it invokes (and every later request) see that
// time: the purge starts nothing before its date. The clock never goes
// back: an earlier time fires what was due then, and the clock stays.
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
			l.log.Info("scheduler clock fired", "schedule", r.Name, "target", r.Target)
		}
	}
}

func (l *localAPI) fire(ctx context.Context, at time.Time) ([]ranSchedule, []skippedSchedule, error) {
	l.firing.Lock()
	defer l.firing.Unlock()
	ran, skipped := []ranSchedule{}, []skippedSchedule{}
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
			}
			ran = append(ran, l.invoke(ctx, s))
		}
	}
	return ran, skipped, nil
}

func (l *localAPI) invoke(ctx context.Context, s *scheduler.GetScheduleOutput) ranSchedule {
	rs := ranSchedule{Name: aws.ToString(s.Name), Expression: aws.ToString(s.ScheduleExpression)}
	if s.Target == nil {
		rs.Error = "schedule has no target"
		return rs
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
		return rs
	}
	out, err := fn.Invoke(ctx, []byte(input))
	if err != nil {
		// Scheduler would retry and keep the schedule: so do we, until the
		// next run.
		rs.Error = err.Error()
		return rs
	}
	if json.Valid(out) {
		rs.Result = out
	}
	if s.ActionAfterCompletion == schedtypes.ActionAfterCompletionDelete {
		if _, err := l.sched.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: s.Name, GroupName: &l.group}); err != nil {
			rs.Error = "ran, but delete failed: " + err.Error()
			return rs
		}
		rs.Deleted = true
	}
	return rs
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
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, l.emulator+"/moto-api/data.json", nil)
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
