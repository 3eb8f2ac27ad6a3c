//go:build integration

package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// TestNotifications_Emulator: a practitioner pages through their own inbox
// on DynamoDB, marks one read, and cannot reach another's.
func TestNotifications_Emulator(t *testing.T) {
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	h, err := build(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	store := dynamostore.New(st.DynamoDB, st.Table)
	emulatortest.SeedPractice(t, st, store, "prac-demo")
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	const n = 7
	for i := range n {
		for _, who := range []string{"pr-owner", "pr-member"} {
			err := store.PutNotification(ctx, erasure.Notification{
				PractitionerID: who, PracticeID: "prac-demo", ID: fmt.Sprintf("r%d-requested", i),
				Kind: erasure.NoticeDeletionRequested, RequestID: fmt.Sprintf("r%d", i), CreatedAt: t0.Add(time.Duration(i) * time.Minute),
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	var seen []string
	token, pages := "", 0
	for pages < 10 {
		q := map[string]string{"limit": "3"}
		if token != "" {
			q["nextToken"] = token
		}
		resp, body := apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", owner, q, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: got %d %v", pages, resp.StatusCode, body)
		}
		pages++
		seen = append(seen, ids(body)...)
		next, _ := body["nextToken"].(string)
		if next == "" {
			break
		}
		token = next
	}
	want := []string{"r6-requested", "r5-requested", "r4-requested", "r3-requested", "r2-requested", "r1-requested", "r0-requested"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v over %d pages, want %v newest first", seen, pages, want)
	}

	// A token from the member's inbox does not open the owner's.
	_, body := apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", member, map[string]string{"limit": "1"}, ""))
	memberToken, _ := body["nextToken"].(string)
	if memberToken == "" {
		t.Fatal("member: got no next page token")
	}
	resp, body := apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", owner, map[string]string{"nextToken": memberToken}, ""))
	if e, _ := body["error"].(map[string]any); resp.StatusCode != 400 || e["code"] != identity.EInvalid {
		t.Fatalf("another inbox's token: got %d %v, want 400 invalid_request", resp.StatusCode, body)
	}
	garbage := base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"x"}`))
	if resp, _ := apigwtest.CallJSON(t, h.Handle, request("GET", "/v1/notifications", owner, map[string]string{"nextToken": garbage}, "")); resp.StatusCode != 400 {
		t.Fatalf("a forged token: got %d, want 400", resp.StatusCode)
	}

	resp, body = apigwtest.CallJSON(t, h.Handle, request("POST", "/v1/notifications/r3-requested/read", owner, nil, ""))
	if resp.StatusCode != 200 || body["read"] != true {
		t.Fatalf("mark read: got %d %v", resp.StatusCode, body)
	}
	all, err := store.Notifications(ctx, "prac-demo", "pr-member")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.Read {
			t.Errorf("the member's %s was marked read by the owner's call", m.ID)
		}
	}
	if resp, _ := apigwtest.CallJSON(t, h.Handle, request("POST", "/v1/notifications/r99-requested/read", owner, nil, "")); resp.StatusCode != 404 {
		t.Fatalf("unknown notification: got %d, want 404", resp.StatusCode)
	}
}
