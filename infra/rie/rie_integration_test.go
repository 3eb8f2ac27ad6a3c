//go:build integration && linux

package rie_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/wellness-rtbf/rtbf/infra/rie"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// lockedBuffer collects a process's output, written by its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiResponse is the part of an API Gateway v2 response the test reads.
type apiResponse struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

// TestBootstraps_Events builds every function with the targets `sam build`
// calls, runs each bootstrap under the runtime interface emulator against
// the local AWS emulator, invokes it with every sample event in events/,
// and checks the responses and what they changed.
func TestBootstraps_Events(t *testing.T) {
	endpoint := emulatortest.URL(t)
	root, err := rie.Root()
	if err != nil {
		t.Fatal(err)
	}
	rieBin, err := rie.Binary(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	functions, err := rie.Functions()
	if err != nil {
		t.Fatal(err)
	}

	// Build while the stack is provisioned and seeded.
	buildDir := t.TempDir()
	bootstraps := make([]string, len(functions))
	buildErrs := make([]error, len(functions))
	var wg sync.WaitGroup
	for i, f := range functions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bootstraps[i], buildErrs[i] = rie.Build(ctx, root, f.LogicalID, filepath.Join(buildDir, f.LogicalID), runtime.GOARCH)
		}()
	}

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	st, err := localstack.New(ctx, endpoint, "rtbf-rie-"+hex.EncodeToString(suffix))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	demo, err := st.Seed(ctx, "prac-demo")
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	// The events' people are the seeded ones.
	if demo.OwnerID != "pr-owner" || demo.MemberID != "pr-member" || !strings.Contains(strings.Join(demo.Clients, ","), "cl-ava") {
		t.Fatalf("got demo %+v, want owner pr-owner, member pr-member, client cl-ava", demo)
	}
	wg.Wait()
	for _, err := range buildErrs {
		if err != nil {
			t.Fatal(err)
		}
	}

	procs := map[string]*rie.Process{}
	for i, f := range functions {
		out := &lockedBuffer{}
		env, err := rie.Env(st, f, 30)
		if err != nil {
			t.Fatal(err)
		}
		p, err := rie.Start(rieBin, bootstraps[i], env, out)
		if err != nil {
			t.Fatal(err)
		}
		procs[f.Dir] = p
		t.Cleanup(func() {
			if err := p.Close(); err != nil {
				t.Error(err)
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", f.LogicalID, out.String())
			}
		})
	}

	var invokedMu sync.Mutex
	invoked := map[string]bool{}
	invoke := func(t *testing.T, name string) []byte {
		t.Helper()
		invokedMu.Lock()
		invoked[name] = true
		invokedMu.Unlock()
		payload, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := procs[name[:max(strings.IndexByte(name, '-'), 0)]]
		if !ok {
			t.Fatalf("event %s: names no function of template.yaml (events/<function dir>-*.json)", name)
		}
		status, body, err := p.Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("invoke %s: %v", name, err)
		}
		if status != 200 {
			t.Fatalf("invoke %s: got emulator status %d, want 200; body %s", name, status, body)
		}
		return body
	}
	api := func(t *testing.T, name string, want int) apiResponse {
		t.Helper()
		body := invoke(t, name)
		var r apiResponse
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%s: decode %s: %v", name, body, err)
		}
		if r.StatusCode != want {
			t.Fatalf("%s: got status %d, want %d; body %s", name, r.StatusCode, want, r.Body)
		}
		return r
	}
	store := dynamostore.New(st.DynamoDB, st.Table)

	// The order matters: the deletion request is accepted only once the
	// owner has turned the setting on. Every events/ file is used once.
	steps := []struct {
		event  string
		status int
		check  func(t *testing.T, r apiResponse)
	}{
		{"settings-get-owner", 200, nil},
		{"settings-put-member", 403, nil},
		{"settings-get-client", 403, nil},
		{"settings-put-enable-owner", 200, func(t *testing.T, _ apiResponse) {
			s, err := store.GetSetting(ctx, "prac-demo")
			if err != nil {
				t.Fatal(err)
			}
			if !s.Enabled || s.UpdatedBy != "pr-owner" {
				t.Errorf("got stored setting %+v, want enabled by pr-owner", s)
			}
		}},
		{"deletionrequest-get-client", 200, func(t *testing.T, r apiResponse) {
			var got struct {
				Available bool `json:"available"`
			}
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || !got.Available {
				t.Errorf("got body %s, want available true", r.Body)
			}
		}},
		{"deletionrequest-post-unconfirmed", 400, nil},
		{"deletionrequest-post-practitioner", 403, nil},
		{"deletionrequest-post-malformed", 400, nil},
		{"deletionrequest-post-client", 202, func(t *testing.T, r apiResponse) {
			out, err := st.Scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: &st.ScheduleGroup})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Schedules) != 1 {
				t.Fatalf("got %d schedules in %s, want 1", len(out.Schedules), st.ScheduleGroup)
			}
			var req struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(r.Body), &req); err != nil || req.ID == "" {
				t.Fatalf("got body %s, want the request's id", r.Body)
			}
			sc, err := st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: out.Schedules[0].Name, GroupName: &st.ScheduleGroup})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := *sc.Target.Arn, localstack.FunctionARN(rie.FunctionName(st, "PurgeFunction")); got != want {
				t.Errorf("got schedule target %s, want %s", got, want)
			}
			if got := *sc.Target.Input; !strings.Contains(got, req.ID) {
				t.Errorf("got schedule input %s, want it to name request %s", got, req.ID)
			}
			if got := emulatortest.SentEmails(t, st.Sender); len(got) == 0 {
				t.Errorf("got no email sent from %s, want the practitioners told", st.Sender)
			}
		}},
		{"notifications-get-client", 403, nil},
		{"notifications-post-read-owner", 404, nil},
		{"notifications-get-owner", 200, func(t *testing.T, r apiResponse) {
			var got struct {
				Notifications []struct {
					Kind string `json:"kind"`
				} `json:"notifications"`
			}
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || len(got.Notifications) == 0 {
				t.Errorf("got body %s, want the owner's notification of the request", r.Body)
			}
		}},
		{"practicerequests-get-client", 403, nil},
		{"practicerequests-get-one-owner", 404, nil},
		{"practicerequests-get-certificate-owner", 404, nil},
		{"practicerequests-get-public-key-member", 200, func(t *testing.T, r apiResponse) {
			var got struct {
				KeyID        string `json:"keyId"`
				PublicKeyPEM string `json:"publicKeyPem"`
			}
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || got.KeyID != st.CertificateKey || !strings.HasPrefix(got.PublicKeyPEM, "-----BEGIN PUBLIC KEY-----") {
				t.Errorf("got body %s, want the local signing key %s and its PEM", r.Body, st.CertificateKey)
			}
		}},
		{"practicerequests-get-list-member", 200, func(t *testing.T, r apiResponse) {
			var got struct {
				Requests []struct {
					Status string `json:"status"`
				} `json:"requests"`
			}
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || len(got.Requests) != 1 || got.Requests[0].Status != "scheduled" {
				t.Errorf("got body %s, want the one scheduled request", r.Body)
			}
		}},
		{"deletionrequest-delete-client", 200, func(t *testing.T, r apiResponse) {
			var got struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil || got.Status != "cancelled" {
				t.Errorf("got body %s, want the request cancelled", r.Body)
			}
			out, err := st.Scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: &st.ScheduleGroup})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Schedules) != 0 {
				t.Errorf("got %d schedules after the cancel, want 0", len(out.Schedules))
			}
		}},
		{"exports-post-client", 403, nil},
		{"exports-post-malformed-owner", 400, nil},
		{"exports-post-unknown-owner", 404, nil},
		{"exports-get-one-owner", 404, nil},
		// The export from end to end, with both bootstraps: its schedule
		// is read back and its input delivered to the worker, as Scheduler
		// would; the GET then gives a URL that downloads the archive.
		{"exports-post-member", 202, func(t *testing.T, r apiResponse) {
			var ex struct {
				ExportID string `json:"exportId"`
			}
			if err := json.Unmarshal([]byte(r.Body), &ex); err != nil || ex.ExportID == "" {
				t.Fatalf("got body %s, want the export's id", r.Body)
			}
			sc, err := st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("rtbf-export-" + ex.ExportID), GroupName: &st.ScheduleGroup})
			if err != nil {
				t.Fatalf("get the export's schedule: %v", err)
			}
			if got, want := aws.ToString(sc.Target.Arn), localstack.FunctionARN(rie.FunctionName(st, "ExportWorkerFunction")); got != want {
				t.Errorf("got schedule target %s, want %s", got, want)
			}
			status, out, err := procs["exportworker"].Invoke(ctx, []byte(aws.ToString(sc.Target.Input)))
			var res struct {
				Status string `json:"status"`
			}
			if err != nil || status != 200 || json.Unmarshal(out, &res) != nil || res.Status != "ready" {
				t.Fatalf("worker: got %d %s (%v), want the export ready", status, out, err)
			}
			get, err := os.ReadFile(filepath.Join(root, "events", "exports-get-one-owner.json"))
			if err != nil {
				t.Fatal(err)
			}
			get = bytes.ReplaceAll(get, []byte("0123456789abcdef0123456789abcdef"), []byte(ex.ExportID))
			status, out, err = procs["exports"].Invoke(ctx, get)
			var resp apiResponse
			if err != nil || status != 200 || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 200 {
				t.Fatalf("GET the export: got %d %s (%v)", status, out, err)
			}
			var view struct {
				Status      string `json:"status"`
				DownloadURL string `json:"downloadUrl"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &view); err != nil || view.Status != "ready" || view.DownloadURL == "" {
				t.Fatalf("GET the export: got %s, want it ready with a URL", resp.Body)
			}
			dl, err := http.Get(view.DownloadURL)
			if err != nil {
				t.Fatal(err)
			}
			archive, _ := io.ReadAll(dl.Body)
			dl.Body.Close()
			zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
			if dl.StatusCode != 200 || err != nil {
				t.Fatalf("download: got %d, %v; want 200 and a zip", dl.StatusCode, err)
			}
			names := map[string]bool{}
			for _, f := range zr.File {
				names[f.Name] = true
			}
			if !names["manifest.json"] || !names["documents/shared/plan.pdf"] || !names["chats/ava-direct.json"] {
				t.Errorf("archive: got %v, want the demo client's file", names)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.event, func(t *testing.T) {
			r := api(t, s.event, s.status)
			if s.check != nil {
				s.check(t, r)
			}
		}) {
			return
		}
	}

	t.Run("purge-sweep", func(t *testing.T) {
		body := invoke(t, "purge-sweep")
		if got := strings.TrimSpace(string(body)); got != `{"swept":true}` {
			t.Errorf(`got %s, want {"swept":true}`, got)
		}
	})
	t.Run("purge-scheduled", func(t *testing.T) {
		// An unknown request: nothing to purge, and no error to retry.
		body := invoke(t, "purge-scheduled")
		var r map[string]any
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if _, ok := r["errorType"]; ok {
			t.Errorf("got error %s, want none", body)
		}
	})

	t.Run("exportworker-scheduled", func(t *testing.T) {
		// An unknown export: nothing to do, and no error to retry.
		body := invoke(t, "exportworker-scheduled")
		var r map[string]any
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if _, ok := r["errorType"]; ok || r["status"] != nil {
			t.Errorf("got %s, want nothing done and no error", body)
		}
	})

	t.Run("replay-restored", func(t *testing.T) {
		// The sample names a restored table of another stack: refused in
		// the result, with nothing done, and no error.
		body := invoke(t, "replay-restored")
		var r map[string]any
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if msg, _ := r["error"].(string); r["errorType"] != nil || !strings.HasPrefix(msg, "replay refused:") {
			t.Errorf("got %s, want the replay refused in its result", body)
		}
	})

	// Every events/ file was invoked, and every function of template.yaml.
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !invoked[name] {
			t.Errorf("events/%s.json: never invoked: a new event needs a case here", name)
		}
	}
	for _, f := range functions {
		n := 0
		for name := range invoked {
			if strings.HasPrefix(name, f.Dir+"-") {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no events/%s-*.json invoked, want every function run under the emulator", f.LogicalID, f.Dir)
		}
	}
}
