//go:build integration

package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/ledger"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
)

// TestPracticeRequests_Emulator: the practice's requests, listed from the
// practice index on DynamoDB, newest first, filtered, paged; one read back
// with its timeline; another practice's out of reach.
func TestPracticeRequests_Emulator(t *testing.T) {
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	h, err := build(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	ctx := context.Background()
	store := dynamostore.New(st.DynamoDB, st.Table)
	practice := emulatortest.SeedPractice(t, st, store, "prac-demo")
	// The other practice's practitioner, pr-x, as the handler tests call them.
	if err := store.Put(ctx, dynamostore.PractitionerItem{PK: dynamostore.PracticePK("prac-other"), SK: dynamostore.PractitionerSK("pr-x"), ID: "pr-x", TeamRole: "owner"}); err != nil {
		t.Fatal(err)
	}
	svc := erasure.NewClientRequests(store, store, store, store, store,
		porttest.NewScheduler(), &porttest.Mailer{}, 0, erasure.Options{Log: slog.New(slog.DiscardHandler)})
	if err := store.PutSetting(ctx, erasure.Setting{PracticeID: practice.ID, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	var reqIDs []string
	for _, c := range []string{"cl-a", "cl-b", "cl-c"} {
		emulatortest.SeedClient(t, st, store, practice, c, "Client", c, "")
		a, _ := identity.NewActor(c+"-sub", identity.RoleClient, practice.ID, c, "")
		r, _, err := svc.RequestDeletion(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		reqIDs = append([]string{r.ID}, reqIDs...) // newest first
	}
	cancelled, _ := identity.NewActor("cl-b-sub", identity.RoleClient, practice.ID, "cl-b", "")
	if _, _, err := svc.CancelDeletion(ctx, cancelled); err != nil {
		t.Fatal(err)
	}

	_, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests", owner, nil))
	if got, want := ids(body), reqIDs[0]+","+reqIDs[1]+","+reqIDs[2]; got != want {
		t.Fatalf("list: got %s, want %s (newest first)", got, want)
	}
	_, body = apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests", member, map[string]string{"status": "cancelled"}))
	if got := ids(body); got != reqIDs[1] {
		t.Fatalf("cancelled: got %s, want %s", got, reqIDs[1])
	}
	var seen []string
	token := ""
	for range 6 {
		q := map[string]string{"limit": "1"}
		if token != "" {
			q["nextToken"] = token
		}
		resp, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests", owner, q))
		if resp.StatusCode != 200 {
			t.Fatalf("page: got %d %v", resp.StatusCode, body)
		}
		if got := ids(body); got != "" {
			seen = append(seen, got)
		}
		next, _ := body["nextToken"].(string)
		if next == "" {
			break
		}
		token = next
	}
	if len(seen) != 3 || seen[0] != reqIDs[0] || seen[2] != reqIDs[2] {
		t.Fatalf("pages: got %v, want %v", seen, reqIDs)
	}
	// That token is the practice's own; another practice cannot use it.
	resp, body := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests", other, map[string]string{"nextToken": token}))
	if e, _ := body["error"].(map[string]any); token != "" && (resp.StatusCode != 400 || e["code"] != identity.EInvalid) {
		t.Fatalf("another practice's token: got %d %v, want 400", resp.StatusCode, body)
	}

	resp, body = apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests/"+reqIDs[0], member, nil))
	if resp.StatusCode != 200 || body["status"] != "scheduled" || timeline(body) != "requested,practitioners_told,purge_scheduled_for" {
		t.Fatalf("one: got %d status %v timeline %s", resp.StatusCode, body["status"], timeline(body))
	}
	if resp, _ := apigwtest.CallJSON(t, h.Handle, request("/v1/deletion-requests/"+reqIDs[0], other, nil)); resp.StatusCode != 404 {
		t.Fatalf("another practice's request: got %d, want 404", resp.StatusCode)
	}
}

// TestCertificates_Emulator: once a request's purge completes (the purge
// function's use case on the same emulator, signing with the stack's KMS
// key), its practitioners get the certificate, which verifies with the
// public key the API serves, in Go and with openssl; another practice's
// practitioner gets 404, a client 403, a request not purged yet 404
// certificate_not_ready.
func TestCertificates_Emulator(t *testing.T) {
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	h, err := build(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	ctx := context.Background()
	store := dynamostore.New(st.DynamoDB, st.Table)
	practice := emulatortest.SeedPractice(t, st, store, "prac-demo")
	otherPractice := emulatortest.SeedPractice(t, st, store, "prac-other")
	if err := store.Put(ctx, dynamostore.PractitionerItem{PK: dynamostore.PracticePK(otherPractice.ID), SK: dynamostore.PractitionerSK("pr-x"), ID: "pr-x", TeamRole: "owner"}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutSetting(ctx, erasure.Setting{PracticeID: practice.ID, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// Requested a purge delay ago, so that the purge is due now.
	past := erasure.Options{Now: func() time.Time { return time.Now().Add(-erasure.DefaultPurgeDelay) }, Log: slog.New(slog.DiscardHandler)}
	accept := erasure.NewClientRequests(store, store, store, store, store, porttest.NewScheduler(), &porttest.Mailer{}, 0, past)
	var reqs []erasure.Request
	for _, c := range []string{"cl-ava", "cl-ben"} {
		emulatortest.SeedClient(t, st, store, practice, c, "Client", c, "")
		a, _ := identity.NewActor(c+"-sub", identity.RoleClient, practice.ID, c, "")
		r, _, err := accept.RequestDeletion(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	purger := erasure.NewPurger(store, store, store, store, s3objects.New(st.S3, st.Bucket), porttest.NewScheduler(), &porttest.Mailer{},
		ledger.New(st.S3, st.KMS, st.EvidenceBucket, st.CertificateKey), erasure.PurgeConfig{}, erasure.Options{Log: slog.New(slog.DiscardHandler)})
	if done, err := purger.Purge(ctx, reqs[0].ID); err != nil || done.Status != erasure.StatusCompleted {
		t.Fatalf("purge: got %s, %v; want completed", done.Status, err)
	}

	path := "/v1/deletion-requests/" + reqs[0].ID + "/certificate"
	resp := apigwtest.Call(t, h.Handle, request(path, owner, nil), http.StatusOK)
	var c evidence.Certificate
	apigwtest.StrictDecode(t, resp.Body, &c)
	kresp := apigwtest.Call(t, h.Handle, request("/v1/erasure-certificates/public-key", member, nil), http.StatusOK)
	var pk evidence.PublicKey
	apigwtest.StrictDecode(t, kresp.Body, &pk)
	key, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	if pk.KeyID != st.CertificateKey {
		t.Errorf("public key: got id %q, want the stack's key %q", pk.KeyID, st.CertificateKey)
	}
	rec, err := evidence.Verify(c, &evidence.Trusted{KeyID: pk.KeyID, Key: key})
	if err != nil || rec.RequestID != reqs[0].ID || rec.ClientID != "cl-ava" || rec.PracticeID != practice.ID {
		t.Fatalf("Verify: got %+v, %v; want cl-ava's record", rec, err)
	}
	if ran, ok := emulatortest.OpenSSLVerify(t, c, pk.PublicKeyPEM); ran && !ok {
		t.Error("openssl dgst -verify: the served certificate does not verify")
	} else if !ran {
		t.Log("openssl is not installed: verified in Go only")
	}
	// The body is the ledger's object.
	if l := emulatortest.Ledger(t, st)[evidence.Key(reqs[0].ID, evidence.OutcomeCompleted)]; len(l) != 1 || strings.TrimSpace(string(l[0].Body)) != resp.Body {
		t.Errorf("body: got %s, want the ledger's one version", resp.Body)
	}

	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, request(path, other, nil), http.StatusNotFound), identity.ENotFound)
	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, request(path, client, nil), http.StatusForbidden), identity.EForbidden)
	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, request("/v1/deletion-requests/"+reqs[1].ID+"/certificate", owner, nil), http.StatusNotFound),
		identity.ECertificateNotReady)
	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, request("/v1/erasure-certificates/public-key", client, nil), http.StatusForbidden), identity.EForbidden)
}
