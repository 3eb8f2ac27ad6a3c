package openapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return doc
}

// TestContract_Routes: the document describes exactly template.yaml's
// HttpApi routes, no more and no fewer.
func TestContract_Routes(t *testing.T) {
	doc := load(t)
	want, err := TemplateRoutes()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("template.yaml: got no HttpApi route")
	}
	var got []Route
	for _, op := range Operations(doc) {
		got = append(got, op.Route)
		if !slices.Contains(want, op.Route) {
			t.Errorf("%s: in %s, not a route of template.yaml", op, File)
		}
	}
	for _, r := range want {
		if !slices.Contains(got, r) {
			t.Errorf("%s: in template.yaml, missing from %s", r, File)
		}
	}
}

// TestContract_ErrorCodes: x-error-codes is internal/apigw's code → status
// table (plus "internal", the 500 apigw.Error answers), every response
// carries only codes of its own status, and every code is answered by some
// operation under its status unless its schema says it never is routed.
func TestContract_ErrorCodes(t *testing.T) {
	doc := load(t)
	table := apigw.Statuses()
	documented, err := ErrorCodes(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"internal": http.StatusInternalServerError}
	for code, status := range table {
		want[code] = status
	}
	for code, status := range want {
		if got, ok := documented[code]; !ok {
			t.Errorf("x-error-codes: %s missing, want %d", code, status)
		} else if got != status {
			t.Errorf("x-error-codes: %s is %d, want %d (internal/apigw)", code, got, status)
		}
	}
	for code := range documented {
		if _, ok := want[code]; !ok {
			t.Errorf("x-error-codes: %s is not a code of internal/apigw", code)
		}
	}

	// Each code has one schema in components, named for it.
	schemaOf := map[string]string{}
	for name, s := range doc.Components.Schemas {
		for _, code := range ResponseCodes(s) {
			if prev, ok := schemaOf[code]; ok {
				t.Errorf("code %s has two schemas, %s and %s", code, prev, name)
			}
			schemaOf[code] = name
		}
	}

	answered := map[string]bool{}
	for _, op := range Operations(doc) {
		for key, resp := range op.Operation.Responses.Map() {
			status, err := strconv.Atoi(key)
			if err != nil {
				t.Errorf("%s: response %q: only numeric statuses are documented", op, key)
				continue
			}
			for _, code := range ResponseCodes(JSONSchema(resp)) {
				answered[code] = true
				if s, ok := want[code]; !ok {
					t.Errorf("%s %d: code %s is not a code of internal/apigw", op, status, code)
				} else if s != status {
					t.Errorf("%s %d: code %s belongs to status %d", op, status, code, s)
				}
			}
		}
	}
	for code := range want {
		name, ok := schemaOf[code]
		if !ok {
			t.Errorf("code %s: no schema in components carries it", code)
			continue
		}
		_, never := doc.Components.Schemas[name].Value.Extensions["x-never-routed"]
		switch {
		case !answered[code] && !never:
			t.Errorf("code %s: no operation answers it (mark %s x-never-routed if none can)", code, name)
		case answered[code] && never:
			t.Errorf("code %s: %s says x-never-routed, but an operation answers it", code, name)
		}
	}
}

// TestContract_Operations: every operation names the claims it needs,
// answers 401, 500 and 503 (the table throttled or failed), declares its path parameters as ids, and marks its
// function-written success responses with the headers every one carries.
func TestContract_Operations(t *testing.T) {
	doc := load(t)
	for _, op := range Operations(doc) {
		o := op.Operation
		if o.OperationID == "" || o.Description == "" {
			t.Errorf("%s: wants an operationId and a description", op)
		}
		claims, err := RequiredClaims(o)
		if err != nil {
			t.Errorf("%s: %v", op, err)
		} else {
			for _, c := range []string{"sub", "custom:role", "custom:practice_id"} {
				if claims[c] == nil {
					t.Errorf("%s: x-required-claims lacks %s", op, c)
				}
			}
		}
		for _, s := range []int{http.StatusUnauthorized, http.StatusInternalServerError, http.StatusServiceUnavailable} {
			if o.Responses.Status(s) == nil {
				t.Errorf("%s: no %d response", op, s)
			}
		}
		for _, p := range o.Parameters {
			if p.Value.In == "path" && (p.Value.Schema == nil || p.Value.Schema.Value.Pattern == "") {
				t.Errorf("%s: path parameter %s has no pattern", op, p.Value.Name)
			}
		}
		for key, resp := range o.Responses.Map() {
			if !strings.HasPrefix(key, "2") {
				continue
			}
			for _, h := range []string{"Cache-Control", "X-Content-Type-Options"} {
				if hr := resp.Value.Headers[h]; hr == nil || !hr.Value.Required {
					t.Errorf("%s %s: header %s not documented as required", op, key, h)
				}
			}
			if JSONSchema(resp) == nil {
				t.Errorf("%s %s: no application/json schema", op, key)
			}
		}
	}
}

// TestContract_ClosedObjects: every object the API answers with forbids
// properties it does not list, so a field added to a view without the
// document fails the contract tests.
func TestContract_ClosedObjects(t *testing.T) {
	doc := load(t)
	seen := map[*openapi3.Schema]bool{}
	var walk func(path string, s *openapi3.SchemaRef)
	walk = func(path string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		v := s.Value
		seen[v] = true
		if v.Type.Is("object") && (v.AdditionalProperties.Has == nil || *v.AdditionalProperties.Has) {
			t.Errorf("%s: object without additionalProperties: false", path)
		}
		names := make([]string, 0, len(v.Properties))
		for n := range v.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			walk(path+"."+n, v.Properties[n])
		}
		walk(path+"[]", v.Items)
		for i, alt := range append(append(append([]*openapi3.SchemaRef{}, v.OneOf...), v.AllOf...), v.AnyOf...) {
			walk(fmt.Sprintf("%s/%d", path, i), alt)
		}
	}
	for _, op := range Operations(doc) {
		for key, resp := range op.Operation.Responses.Map() {
			walk(op.String()+" "+key, JSONSchema(resp))
		}
		if rb := op.Operation.RequestBody; rb != nil {
			if mt := rb.Value.Content.Get("application/json"); mt != nil {
				walk(op.String()+" body", mt.Schema)
			}
		}
	}
}

// TestCheckClaims: the x-required-claims check accepts the callers the
// handlers serve and refuses the others.
func TestCheckClaims(t *testing.T) {
	doc := load(t)
	owner := map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "p1", "custom:team_role": "owner"}
	member := map[string]string{"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": "p1", "custom:team_role": "member"}
	client := map[string]string{"sub": "cl-ava", "custom:role": "client", "custom:practice_id": "p1", "custom:client_id": "cl-ava"}
	badID := map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "p#1", "custom:team_role": "owner"}
	for _, tt := range []struct {
		method, path string
		claims       map[string]string
		ok           bool
	}{
		{"PUT", "/v1/settings/right-to-be-forgotten", owner, true},
		{"PUT", "/v1/settings/right-to-be-forgotten", member, false},
		{"PUT", "/v1/settings/right-to-be-forgotten", client, false},
		{"PUT", "/v1/settings/right-to-be-forgotten", badID, false},
		{"GET", "/v1/settings/right-to-be-forgotten", member, true},
		{"POST", "/v1/portal/account-deletion", client, true},
		{"POST", "/v1/portal/account-deletion", owner, false},
		{"GET", "/v1/deletion-requests/abc", member, true},
		{"GET", "/v1/deletion-requests/abc", client, false},
	} {
		op, _, ok := Find(doc, tt.method, tt.path)
		if !ok {
			t.Fatalf("%s %s: no operation", tt.method, tt.path)
		}
		if err := CheckClaims(op.Operation, tt.claims); (err == nil) != tt.ok {
			t.Errorf("%s %s with %v: got %v, want ok=%v", tt.method, tt.path, tt.claims, err, tt.ok)
		}
	}
}

func TestMatchPath(t *testing.T) {
	for _, tt := range []struct {
		pattern, path string
		want          map[string]string
	}{
		{"/v1/notifications/{id}/read", "/v1/notifications/n1/read", map[string]string{"id": "n1"}},
		{"/v1/notifications/{id}/read", "/v1/notifications//read", nil},
		{"/v1/notifications/{id}/read", "/v1/notifications/a/b/read", nil},
		{"/v1/notifications", "/v1/notifications", map[string]string{}},
		{"/v1/notifications", "/v1/notifications/", nil},
	} {
		got, ok := MatchPath(tt.pattern, tt.path)
		if ok != (tt.want != nil) || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("MatchPath(%q, %q): got %v %v, want %v", tt.pattern, tt.path, got, ok, tt.want)
		}
	}
}

// TestContract_Views: every view internal/apigw answers with, every field
// set, matches its schema; so a field added to a view (or one the document
// requires that a view lost) fails here, before any emulator runs.
func TestContract_Views(t *testing.T) {
	doc := load(t)
	now := time.Date(2026, 11, 28, 12, 0, 0, 123e6, time.UTC)
	later := now.Add(30 * 24 * time.Hour)
	counts := erasure.Counts{JournalEntries: 12, Documents: 3, ChatSessions: 1, ChatMessages: 40}
	scheduled := erasure.Request{ID: "3f0c", PracticeID: "p1", ClientID: "cl-ava", Status: erasure.StatusScheduled,
		RequestedAt: now, PurgeAt: later, WillDelete: counts, Delivered: map[string]time.Time{erasure.DeliveryPractitionersRequested: now}}
	completed := scheduled
	completed.Status, completed.PurgeStartedAt, completed.CompletedAt, completed.Deleted, completed.Invocations = erasure.StatusCompleted, &later, &later, counts, 2
	cancelled := scheduled
	cancelled.Status, cancelled.CancelledAt = erasure.StatusCancelled, &now
	skipped := completed
	skipped.SkippedObjects = []string{"practices/p2/clients/cl-ava/x.pdf", ""}
	attention := completed
	attention.Status, attention.CompletedAt, attention.SetAsideAt, attention.UnresolvedObjects = erasure.StatusNeedsAttention, nil, &later, []string{"practices/p1/clients/cl-ava/\x01"}
	notification := apigw.NewNotificationView(erasure.Notification{PractitionerID: "pr-owner", PracticeID: "p1", ID: "3f0c-requested",
		Kind: erasure.NoticeDeletionRequested, RequestID: "3f0c", ClientID: "cl-ava", ClientName: "Ava Lin", CreatedAt: now, PurgeAt: later,
		Counts: counts, Message: "Ava Lin asked to delete their account.", Read: true})
	token := "eyJ0b2tlbiI6MX0"
	pending := export.Export{ID: "9b1e", PracticeID: "p1", ClientID: "cl-ava", RequestedBy: "pr-owner", Status: export.StatusPending, RequestedAt: now}
	ready := pending
	ready.Status, ready.CompletedAt, ready.SizeBytes, ready.ObjectKey = export.StatusReady, &later, 12648730, "k"
	ready.Counts = export.Counts{JournalEntries: 12, ChatSessions: 2, ChatMessages: 40, Documents: 5}
	failed := pending
	failed.Status, failed.CompletedAt, failed.FailureReason = export.StatusFailed, &later, export.ReasonTimeout
	ledger := porttest.NewLedger()
	if err := ledger.Record(context.Background(), erasure.ErasureRecord(completed, evidence.OutcomeCompleted)); err != nil {
		t.Fatal(err)
	}
	certificate, err := ledger.Certificate(context.Background(), completed.ID, evidence.OutcomeCompleted)
	if err != nil {
		t.Fatal(err)
	}
	publicKey, err := ledger.PublicKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	views := []struct {
		schema string
		view   any
	}{
		{"Setting", apigw.NewSettingView(erasure.Setting{PracticeID: "p1", Enabled: true, UpdatedAt: &now, UpdatedBy: "pr-owner"})},
		{"Setting", apigw.NewSettingView(erasure.Setting{PracticeID: "p1"})},
		{"PortalView", apigw.NewPortalView(erasure.PortalView{Available: true, Request: &scheduled})},
		{"PortalView", apigw.NewPortalView(erasure.PortalView{})},
		{"ClientDeletionRequest", apigw.NewRequestView(cancelled)},
		{"Notification", notification},
		{"NotificationsPage", apigw.NotificationsPage{Notifications: []apigw.NotificationView{notification}, NextToken: &token}},
		{"NotificationsPage", apigw.NotificationsPage{Notifications: []apigw.NotificationView{}}},
		{"PracticeDeletionRequest", apigw.NewPracticeRequestView(scheduled)},
		{"PracticeDeletionRequest", apigw.NewPracticeRequestView(completed)},
		{"PracticeDeletionRequest", apigw.NewPracticeRequestView(cancelled)},
		{"PracticeDeletionRequest", apigw.NewPracticeRequestView(skipped)},
		{"PracticeDeletionRequest", apigw.NewPracticeRequestView(attention)},
		{"PracticeDeletionRequestsPage", apigw.PracticeRequestsPage{Requests: []apigw.PracticeRequestView{apigw.NewPracticeRequestView(completed)}, NextToken: &token}},
		{"PendingExport", apigw.NewExportView(export.View{Export: pending})},
		{"Export", apigw.NewExportView(export.View{Export: pending})},
		{"Export", apigw.NewExportView(export.View{Export: ready, DownloadURL: "https://exports.example.com/9b1e.zip?X-Amz-Signature=x", DownloadURLExpiresAt: &later})},
		{"Export", apigw.NewExportView(export.View{Export: failed})},
		{"ErasureCertificate", certificate},
		{"CertificatePublicKey", publicKey},
	}
	schemaOf := map[string]string{}
	for name, s := range doc.Components.Schemas {
		for _, code := range ResponseCodes(s) {
			schemaOf[code] = name
		}
	}
	for code := range apigw.Statuses() {
		views = append(views, struct {
			schema string
			view   any
		}{schemaOf[code], apigw.ErrorBody{Error: apigw.ErrorDetail{Code: code, Message: "m"}}})
	}
	for _, v := range views {
		s := doc.Components.Schemas[v.schema]
		if s == nil {
			t.Errorf("%T: no schema %q in components", v.view, v.schema)
			continue
		}
		b, err := json.Marshal(v.view)
		if err != nil {
			t.Fatal(err)
		}
		var value any
		if err := json.Unmarshal(b, &value); err != nil {
			t.Fatal(err)
		}
		if err := s.Value.VisitJSON(value, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not match schema %s: %v", b, v.schema, err)
		}
	}
}
