//go:build integration

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
)

// TestLocal_Story stands the whole local system up on free ports (against
// the emulator of RTBF_EMULATOR_URL when set, else its own moto) and drives
// the product's story over HTTP, then checks no process is left behind.
func TestLocal_Story(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	out := &syncWriter{w: &logs}
	logged := logScan.writer(out) // the suite scans every line for personal data
	sys, err := Start(context.Background(), Options{
		Root: root, Addr: "127.0.0.1:0", EmulatorURL: strings.TrimRight(os.Getenv("RTBF_EMULATOR_URL"), "/"),
		Prefix: "rtbf-" + emulatortest.Suffix(), PracticeID: "demo-practice", BuildDir: t.TempDir(),
		Audience: "rtbf-test", PurgeDelayDays: 30, TokenTTL: time.Hour,
		Log: slog.New(slog.NewTextHandler(logged, nil)), Output: logged,
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	logScan.seeded(sys.Demo.Personal...)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sys.Close()
		}
	}
	t.Cleanup(stop)
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", out.String())
		}
	}()

	call := func(t *testing.T, method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, sys.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %s", method, path, b)
		}
		return resp.StatusCode, m
	}
	token := func(t *testing.T, claims map[string]any) string {
		t.Helper()
		b, _ := json.Marshal(claims)
		status, body := call(t, "POST", "/_local/token", "", string(b))
		tok, _ := body["token"].(string)
		if status != 200 || tok == "" {
			t.Fatalf("token: got %d %v, want 200 and a token", status, body)
		}
		return tok
	}
	owner := token(t, sys.Demo.OwnerClaims())
	ava := token(t, sys.Demo.ClientClaims("cl-ava"))
	const settings, deletion = "/v1/settings/right-to-be-forgotten", "/v1/portal/account-deletion"

	t.Run("ErrBadToken", func(t *testing.T) {
		forged := ava[:len(ava)-4] + "AAAA"
		for _, tok := range []string{"", "garbage", forged} {
			status, body := call(t, "GET", deletion, tok, "")
			if status != 401 || body["message"] != "Unauthorized" {
				t.Fatalf("token %q: got %d %v, want 401 Unauthorized", tok, status, body)
			}
		}
	})
	t.Run("ErrUnknownRoute", func(t *testing.T) {
		status, body := call(t, "DELETE", settings, owner, "")
		if status != 404 || len(body) != 1 || body["message"] != "Not Found" {
			t.Fatalf("got %d %v, want API Gateway's 404 {\"message\":\"Not Found\"}", status, body)
		}
	})

	// A practitioner exports Ava's file: the local scheduler fires the
	// export's schedule, the worker writes the archive, and the URL the GET
	// gives downloads it from the emulator.
	t.Run("Export", func(t *testing.T) {
		status, body := call(t, "POST", "/v1/clients/cl-ava/exports", owner, "{}")
		id, _ := body["exportId"].(string)
		if status != 202 || body["status"] != "pending" || id == "" {
			t.Fatalf("POST export: got %d %v, want 202 pending", status, body)
		}
		status, run := call(t, "POST", "/_local/scheduler/run?at="+time.Now().Add(2*time.Minute).UTC().Format(time.RFC3339), "", "")
		ran, _ := run["ran"].([]any)
		if status != 200 || len(ran) != 1 {
			t.Fatalf("scheduler: got %d %v, want the export's schedule run", status, run)
		}
		r := ran[0].(map[string]any)
		if res, _ := r["result"].(map[string]any); r["error"] != nil || r["deleted"] != true || res["status"] != "ready" || res["exportId"] != id {
			t.Fatalf("scheduler ran %v, want the export ready and the schedule deleted", r)
		}
		status, body = call(t, "GET", "/v1/clients/cl-ava/exports/"+id, owner, "")
		url, _ := body["downloadUrl"].(string)
		if status != 200 || body["status"] != "ready" || url == "" {
			t.Fatalf("GET export: got %d %v, want 200 ready with a URL", status, body)
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		archive, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("download: got %d and %v, want 200 and a zip", resp.StatusCode, err)
		}
		names := map[string]bool{}
		for _, f := range zr.File {
			names[f.Name] = true
		}
		for _, want := range []string{"manifest.json", "journal/entries.json", "journal/entries.html", "chats/ava-direct.json",
			"chats/ava-ben-group.html", "documents/uploaded/d0.pdf", "documents/shared/plan.pdf"} {
			if !names[want] {
				t.Errorf("archive lacks %s; has %v", want, names)
			}
		}
	})

	var purgeAt time.Time
	t.Run("Story", func(t *testing.T) {
		if status, body := call(t, "GET", deletion, ava, ""); status != 200 || body["available"] != false {
			t.Fatalf("client GET before: got %d %v, want 200 available=false", status, body)
		}
		if status, body := call(t, "PUT", settings, owner, `{"enabled":true}`); status != 200 || body["enabled"] != true {
			t.Fatalf("owner PUT: got %d %v, want 200 enabled=true", status, body)
		}
		if status, body := call(t, "GET", deletion, ava, ""); status != 200 || body["available"] != true {
			t.Fatalf("client GET: got %d %v, want 200 available=true", status, body)
		}
		status, body := call(t, "POST", deletion, ava, `{"confirm":true}`)
		if status != 202 {
			t.Fatalf("client POST: got %d %v, want 202", status, body)
		}
		purgeAt, err = time.Parse(time.RFC3339, body["purgeAt"].(string))
		if err != nil {
			t.Fatalf("purgeAt: %v", err)
		}

		var mails []sentMail
		ok := emulatortest.Eventually(t, 10*time.Second, func() bool {
			req, _ := http.NewRequest("GET", sys.URL+"/_local/mail?from="+url.QueryEscape(sys.Stack.Sender), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var got struct{ Messages []sentMail }
			_ = json.NewDecoder(resp.Body).Decode(&got)
			mails = got.Messages
			return len(mails) > 0
		})
		if !ok {
			t.Fatal("got no email from /_local/mail, want the practitioners' notification")
		}
		if m := mails[0]; m.Subject == "" || m.Text == "" || len(m.To) == 0 {
			t.Fatalf("got mail %+v, want subject, text and recipients", m)
		}

		// Nothing is due before purgeAt.
		status, run := call(t, "POST", "/_local/scheduler/run?at="+purgeAt.Add(-time.Minute).Format(time.RFC3339), "", "")
		if ran, _ := run["ran"].([]any); status != 200 || len(ran) != 0 {
			t.Fatalf("scheduler before purgeAt: got %d %v, want 200 and nothing run", status, run)
		}
		status, run = call(t, "POST", "/_local/scheduler/run?at="+purgeAt.Add(time.Minute).Format(time.RFC3339), "", "")
		ran, _ := run["ran"].([]any)
		if status != 200 || len(ran) != 1 {
			t.Fatalf("scheduler: got %d %v, want 200 and one schedule run", status, run)
		}
		r := ran[0].(map[string]any)
		res, _ := r["result"].(map[string]any)
		if r["error"] != nil || r["deleted"] != true || res["status"] != "completed" {
			t.Fatalf("scheduler ran %v, want the purge completed and the schedule deleted", r)
		}

		status, body = call(t, "GET", deletion, ava, "")
		if e, _ := body["error"].(map[string]any); status != 403 || e["code"] != "account_closed" {
			t.Fatalf("client GET after purge: got %d %v, want 403 account_closed", status, body)
		}

		// The run moved the local clock to its time, and the functions
		// read it: the purge started at its date, and what happens next
		// is stamped later still, though the real clock is a month behind.
		travelled := purgeAt.Add(time.Minute)
		status, body = call(t, "GET", "/v1/deletion-requests/"+fmt.Sprint(r["input"].(map[string]any)["requestId"]), owner, "")
		var started time.Time
		timeline, _ := body["timeline"].([]any)
		for _, ev := range timeline {
			if ev := ev.(map[string]any); ev["event"] == "purge_started" {
				started, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(ev["at"]))
			}
		}
		if status != 200 || started.Before(travelled) {
			t.Fatalf("the request after the purge: got %d %v, want purge_started at or after %s", status, body, travelled)
		}

		// Its erasure certificate verifies with the key the API serves.
		id := fmt.Sprint(r["input"].(map[string]any)["requestId"])
		rawCert := get(t, sys.URL+"/v1/deletion-requests/"+id+"/certificate", owner)
		rawKey := get(t, sys.URL+"/v1/erasure-certificates/public-key", owner)
		c, err := evidence.DecodeCertificate(rawCert)
		if err != nil {
			t.Fatalf("certificate: %v", err)
		}
		var pk evidence.PublicKey
		if err := json.Unmarshal(rawKey, &pk); err != nil {
			t.Fatal(err)
		}
		key, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
		if err != nil {
			t.Fatal(err)
		}
		if rec, err := evidence.Verify(c, &evidence.Trusted{KeyID: pk.KeyID, Key: key}); err != nil || rec.RequestID != id || pk.KeyID != sys.Stack.CertificateKey {
			t.Fatalf("certificate: got %+v, %v (key %s), want the purge's record signed by the local key %s", rec, err, pk.KeyID, sys.Stack.CertificateKey)
		}
		status, body = call(t, "PUT", settings, owner, `{"enabled":true}`)
		updated, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(body["updatedAt"]))
		if status != 200 || updated.Before(travelled) {
			t.Fatalf("owner PUT after the purge: got %d %v, want updatedAt at or after %s", status, body, travelled)
		}
		if now := sys.Now(); now.Before(travelled) {
			t.Fatalf("local clock after the run: got %s, want at or after %s", now, travelled)
		}
	})

	pids := sys.PIDs()
	if len(pids) < len(sys.functions) {
		t.Fatalf("got %d started processes, want at least the %d functions", len(pids), len(sys.functions))
	}
	stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d: got kill(0) = %v, want ESRCH (gone)", pid, err)
		}
	}
}

// get is a GET with a bearer token that must answer 200; it returns the
// body.
func get(t *testing.T, url, token string) []byte {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: got %d %s, want 200", url, resp.StatusCode, b)
	}
	return b
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
