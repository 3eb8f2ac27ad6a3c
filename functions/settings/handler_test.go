package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
)

// t0 is the fixed "now" of every test; seededAt is when the setting was
// last changed before the test.
var (
	t0       = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	seededAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

var (
	ownerClaims = map[string]string{
		"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "owner",
	}
	memberClaims = map[string]string{
		"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "member",
	}
	clientClaims = map[string]string{
		"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": "prac-demo", "custom:client_id": "cl-ava",
	}
)

// with returns a copy of claims with k set to v, or removed when v is "".
func with(claims map[string]string, k, v string) map[string]string {
	c := maps.Clone(claims)
	if v == "" {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

// newRequest is an HTTP API v2 event; nil claims means no authorizer.
func newRequest(method string, claims map[string]string, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: method + " " + route,
		RawPath:  route,
		Headers:  map[string]string{"accept": "application/json"},
		Body:     body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: method + " " + route,
			Stage:    "$default",
			HTTP:     events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: route},
		},
	}
	if body != "" {
		req.Headers["content-type"] = "application/json"
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

func withHeader(req events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	req.Headers = maps.Clone(req.Headers)
	if v == "" {
		delete(req.Headers, k)
	} else {
		req.Headers[k] = v
	}
	return req
}

func base64Body(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	req.Body = base64.StdEncoding.EncodeToString([]byte(req.Body))
	req.IsBase64Encoded = true
	return req
}

// seeded is the setting of prac-demo before each test: off, last changed
// by the owner.
func seeded() erasure.Setting {
	at := seededAt
	return erasure.Setting{PracticeID: "prac-demo", Enabled: false, UpdatedAt: &at, UpdatedBy: "pr-owner"}
}

func newHandler(t *testing.T) (*Handler, *porttest.Memory) {
	t.Helper()
	mem := porttest.NewMemory()
	if err := mem.PutSetting(context.Background(), seeded()); err != nil {
		t.Fatalf("seed setting: got error %v, want nil", err)
	}
	mem.AddPractice(erasure.Practice{ID: "prac-demo", Name: "Demo Practice", OwnerID: "pr-owner"})
	mem.AddPractitioner("prac-demo", erasure.Practitioner{ID: "pr-owner"})
	mem.AddPractitioner("prac-demo", erasure.Practitioner{ID: "pr-member"})
	h := &Handler{
		// Only the ports the function wires in main.go.
		svc: erasure.NewSettings(mem, mem, erasure.Options{Now: func() time.Time { return t0 }, Log: slog.New(slog.DiscardHandler)}),
		log: slog.New(slog.DiscardHandler),
	}
	return h, mem
}

func setting(t *testing.T, mem *porttest.Memory, practiceID string) erasure.Setting {
	t.Helper()
	s, err := mem.GetSetting(context.Background(), practiceID)
	if err != nil {
		t.Fatalf("GetSetting: got error %v, want nil", err)
	}
	return s
}

func checkSetting(t *testing.T, resp events.APIGatewayV2HTTPResponse, want erasure.Setting) {
	t.Helper()
	var got apigw.SettingView
	apigwtest.StrictDecode(t, resp.Body, &got)
	if w := apigw.NewSettingView(want); !reflect.DeepEqual(got, w) {
		t.Errorf("body: got %s, want %+v", resp.Body, w)
	}
	// The wire shape: updatedAt and updatedBy are always present.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &raw); err != nil {
		t.Fatalf("body: got error %v, want an object", err)
	}
	for _, k := range []string{"enabled", "updatedAt", "updatedBy"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("body %s: got no %q, want it", resp.Body, k)
		}
	}
}

func enabledBy(enabled bool, by string) erasure.Setting {
	at := t0
	return erasure.Setting{PracticeID: "prac-demo", Enabled: enabled, UpdatedAt: &at, UpdatedBy: by}
}

func TestHandler_Handle(t *testing.T) {
	put := func(claims map[string]string, body string) events.APIGatewayV2HTTPRequest {
		return newRequest(http.MethodPut, claims, body)
	}
	get := func(claims map[string]string) events.APIGatewayV2HTTPRequest {
		return newRequest(http.MethodGet, claims, "")
	}
	huge := `{"enabled":true,"pad":"` + strings.Repeat("x", 5000-len(`{"enabled":true,"pad":""}`)) + `"}`
	if len(huge) != 5000 {
		t.Fatalf("huge body: got %d bytes, want 5000", len(huge))
	}
	noClaims := newRequest(http.MethodPut, nil, `{"enabled":true}`)
	noClaims.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{}},
	}

	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string           // the error code; "" for success
		want   *erasure.Setting // the stored setting after; nil: unchanged
	}{
		// GET: every practitioner reads; nobody else.
		{"OK/GetOwner", get(ownerClaims), http.StatusOK, "", nil},
		{"OK/GetMember", get(memberClaims), http.StatusOK, "", nil},
		{"ErrForbidden/GetClient", get(clientClaims), http.StatusForbidden, identity.EForbidden, nil},
		{"ErrUnauthorized/GetNoAuthorizer", get(nil), http.StatusUnauthorized, identity.EUnauthorized, nil},

		// PUT: only the team owner.
		{"OK/PutEnableOwner", put(ownerClaims, `{"enabled":true}`), http.StatusOK, "", ptr(enabledBy(true, "pr-owner"))},
		{"OK/PutDisableOwner", put(ownerClaims, `{"enabled":false}`), http.StatusOK, "", ptr(enabledBy(false, "pr-owner"))},
		{"OK/Base64Body", base64Body(put(ownerClaims, `{"enabled":true}`)), http.StatusOK, "", ptr(enabledBy(true, "pr-owner"))},
		{"OK/Charset", withHeader(put(ownerClaims, `{"enabled":true}`), "content-type", "application/json; charset=utf-8"), http.StatusOK, "", ptr(enabledBy(true, "pr-owner"))},
		{"OK/HeaderCase", withHeader(withHeader(put(ownerClaims, `{"enabled":true}`), "content-type", ""), "Content-Type", "application/json"), http.StatusOK, "", ptr(enabledBy(true, "pr-owner"))},
		{"ErrForbidden/PutMember", put(memberClaims, `{"enabled":true}`), http.StatusForbidden, identity.EForbidden, nil},
		{"ErrForbidden/PutClient", put(clientClaims, `{"enabled":true}`), http.StatusForbidden, identity.EForbidden, nil},
		// A client token that also claims a team role is still a client.
		{"ErrForbidden/PutClientClaimingOwner", put(with(clientClaims, "custom:team_role", "owner"), `{"enabled":true}`), http.StatusForbidden, identity.EForbidden, nil},
		{"ErrForbidden/PutNoTeamRole", put(with(ownerClaims, "custom:team_role", ""), `{"enabled":true}`), http.StatusForbidden, identity.EForbidden, nil},
		{"ErrForbidden/PutNoRole", put(with(ownerClaims, "custom:role", ""), `{"enabled":true}`), http.StatusForbidden, identity.EForbidden, nil},
		{"ErrUnauthorized/PutNoAuthorizer", put(nil, `{"enabled":true}`), http.StatusUnauthorized, identity.EUnauthorized, nil},
		{"ErrUnauthorized/PutNoClaims", noClaims, http.StatusUnauthorized, identity.EUnauthorized, nil},
		{"ErrUnauthorized/PutNoSubject", put(with(ownerClaims, "sub", ""), `{"enabled":true}`), http.StatusUnauthorized, identity.EUnauthorized, nil},

		// Bodies.
		{"ErrInvalid/Malformed", put(ownerClaims, `{"enabled":`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/UnknownField", put(ownerClaims, `{"enabled":true,"practiceId":"prac-other"}`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/WrongType", put(ownerClaims, `{"enabled":"yes"}`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/MissingField", put(ownerClaims, `{}`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/Null", put(ownerClaims, `null`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/NullField", put(ownerClaims, `{"enabled":null}`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/Array", put(ownerClaims, `[{"enabled":true}]`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/Empty", withHeader(put(ownerClaims, ""), "content-type", "application/json"), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/Trailing", put(ownerClaims, `{"enabled":true}{}`), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrInvalid/BadBase64", func() events.APIGatewayV2HTTPRequest {
			r := put(ownerClaims, "%%%not-base64")
			r.IsBase64Encoded = true
			return r
		}(), http.StatusBadRequest, identity.EInvalid, nil},
		{"ErrTooLarge", put(ownerClaims, huge), http.StatusRequestEntityTooLarge, apigw.ETooLarge, nil},
		{"ErrTooLarge/Base64", base64Body(put(ownerClaims, huge)), http.StatusRequestEntityTooLarge, apigw.ETooLarge, nil},
		{"ErrUnsupportedMedia", withHeader(put(ownerClaims, `{"enabled":true}`), "content-type", "text/plain"), http.StatusUnsupportedMediaType, apigw.EUnsupportedMedia, nil},

		// Methods the route does not serve.
		{"ErrMethodNotAllowed/Delete", newRequest(http.MethodDelete, ownerClaims, ""), http.StatusMethodNotAllowed, apigw.EMethodNotAllowed, nil},
		{"ErrMethodNotAllowed/Post", newRequest(http.MethodPost, ownerClaims, `{"enabled":true}`), http.StatusMethodNotAllowed, apigw.EMethodNotAllowed, nil},
		{"ErrMethodNotAllowed/Patch", newRequest(http.MethodPatch, ownerClaims, `{"enabled":true}`), http.StatusMethodNotAllowed, apigw.EMethodNotAllowed, nil},
		{"ErrUnauthorized/DeleteNoAuthorizer", newRequest(http.MethodDelete, nil, ""), http.StatusUnauthorized, identity.EUnauthorized, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, mem := newHandler(t)
			resp := apigwtest.Call(t, h.Handle, tt.req, tt.status)
			want := seeded()
			if tt.want != nil {
				want = *tt.want
			}
			if got := setting(t, mem, "prac-demo"); !reflect.DeepEqual(got, want) {
				t.Errorf("stored setting: got %+v, want %+v", got, want)
			}
			if tt.code != "" {
				apigwtest.CheckError(t, resp, tt.code)
				return
			}
			checkSetting(t, resp, want)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestHandler_Handle_OtherPractice: the practice comes from the token and
// the caller's place in it from the practice's records, so an owner changes
// only a practice that names them its owner.
func TestHandler_Handle_OtherPractice(t *testing.T) {
	h, mem := newHandler(t)
	other := with(ownerClaims, "custom:practice_id", "prac-other")
	// A real sub with another practice's id: not a practitioner there.
	for _, req := range []events.APIGatewayV2HTTPRequest{newRequest(http.MethodPut, other, `{"enabled":true}`), newRequest(http.MethodGet, other, "")} {
		apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, req, http.StatusForbidden), identity.EForbidden)
	}
	if got := setting(t, mem, "prac-other"); got != (erasure.Setting{PracticeID: "prac-other"}) {
		t.Errorf("prac-other setting after a forged token: got %+v, want none", got)
	}

	// Once prac-other's records name them its owner, they may.
	mem.AddPractice(erasure.Practice{ID: "prac-other", Name: "Other Practice", OwnerID: "pr-owner"})
	mem.AddPractitioner("prac-other", erasure.Practitioner{ID: "pr-owner"})
	resp := apigwtest.Call(t, h.Handle, newRequest(http.MethodPut, other, `{"enabled":true}`), http.StatusOK)
	want := enabledBy(true, "pr-owner")
	want.PracticeID = "prac-other"
	checkSetting(t, resp, want)
	if got := setting(t, mem, "prac-demo"); !reflect.DeepEqual(got, seeded()) {
		t.Errorf("prac-demo setting: got %+v, want %+v", got, seeded())
	}

	// A practice that never changed its setting reads as off, never updated.
	mem.AddPractitioner("prac-new", erasure.Practitioner{ID: "pr-owner"})
	resp = apigwtest.Call(t, h.Handle, newRequest(http.MethodGet, with(ownerClaims, "custom:practice_id", "prac-new"), ""), http.StatusOK)
	if resp.Body != `{"enabled":false,"updatedAt":null,"updatedBy":null}` {
		t.Errorf("body: got %s, want %s", resp.Body, `{"enabled":false,"updatedAt":null,"updatedBy":null}`)
	}
}

// TestHandler_Handle_Directory: the token's claims grant nothing on their
// own: a member claiming to be the owner, a sub the practice does not
// have, and a practitioner removed from the practice are refused and
// change nothing.
func TestHandler_Handle_Directory(t *testing.T) {
	h, mem := newHandler(t)
	forged := map[string]map[string]string{
		"MemberClaimsOwner": with(ownerClaims, "sub", "pr-member"),
		"UnknownSub":        with(ownerClaims, "sub", "pr-ghost"),
	}
	for name, claims := range forged {
		t.Run(name, func(t *testing.T) {
			apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, newRequest(http.MethodPut, claims, `{"enabled":true}`), http.StatusForbidden), identity.EForbidden)
			if got := setting(t, mem, "prac-demo"); !reflect.DeepEqual(got, seeded()) {
				t.Errorf("setting: got %+v, want %+v", got, seeded())
			}
		})
	}
	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, newRequest(http.MethodGet, with(ownerClaims, "sub", "pr-ghost"), ""), http.StatusForbidden), identity.EForbidden)
	// The member reads; once removed, they cannot.
	apigwtest.Call(t, h.Handle, newRequest(http.MethodGet, with(ownerClaims, "sub", "pr-member"), ""), http.StatusOK)
	mem.RemovePractitioner("prac-demo", "pr-member")
	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, newRequest(http.MethodGet, with(ownerClaims, "sub", "pr-member"), ""), http.StatusForbidden), identity.EForbidden)
	// The owner removed from the team (the practice record still naming
	// them) is refused too.
	mem.RemovePractitioner("prac-demo", "pr-owner")
	apigwtest.CheckError(t, apigwtest.Call(t, h.Handle, newRequest(http.MethodPut, ownerClaims, `{"enabled":true}`), http.StatusForbidden), identity.EForbidden)
	if got := setting(t, mem, "prac-demo"); !reflect.DeepEqual(got, seeded()) {
		t.Errorf("setting: got %+v, want %+v", got, seeded())
	}
}
