package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

func TestStatus(t *testing.T) {
	// Every code erasure defines, with the status the API promises for it.
	codes := []struct {
		code string
		want int
	}{
		{identity.EInvalid, http.StatusBadRequest},
		{identity.EConfirmationRequired, http.StatusBadRequest},
		{identity.EUnauthorized, http.StatusUnauthorized},
		{identity.EForbidden, http.StatusForbidden},
		{identity.EDeletionDisabled, http.StatusForbidden},
		{identity.EAccountClosed, http.StatusForbidden},
		{identity.ENotFound, http.StatusNotFound},
		{identity.EConflict, http.StatusConflict},
		{identity.EUnavailable, http.StatusServiceUnavailable},
		{apigw.ETooLarge, http.StatusRequestEntityTooLarge},
		{apigw.EUnsupportedMedia, http.StatusUnsupportedMediaType},
		{apigw.EMethodNotAllowed, http.StatusMethodNotAllowed},
	}
	for _, tt := range codes {
		t.Run(tt.code, func(t *testing.T) {
			if got := apigw.Status(identity.Errorf(tt.code, "x")); got != tt.want {
				t.Errorf("Status: got %d, want %d", got, tt.want)
			}
			// Adapters and the service wrap errors: the code still decides.
			wrapped := fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", identity.Errorf(tt.code, "x")))
			if got := apigw.Status(wrapped); got != tt.want {
				t.Errorf("Status(wrapped): got %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("ErrUnavailable", func(t *testing.T) {
		// What the store returns when DynamoDB throttled or failed.
		err := fmt.Errorf("query: %w: %w", identity.ErrUnavailable, errors.New("operation error DynamoDB: Query, api error ThrottlingException"))
		if got := apigw.Status(fmt.Errorf("list: %w", err)); got != http.StatusServiceUnavailable {
			t.Errorf("Status: got %d, want %d", got, http.StatusServiceUnavailable)
		}
	})

	t.Run("ErrInternal", func(t *testing.T) {
		for _, err := range []error{
			errors.New("dynamodb: ProvisionedThroughputExceeded"),
			fmt.Errorf("get setting: %w", identity.ErrNotFound),
			identity.ErrConditionFailed,
			identity.Errorf("no_such_code", "x"),
		} {
			if got := apigw.Status(err); got != http.StatusInternalServerError {
				t.Errorf("Status(%v): got %d, want %d", err, got, http.StatusInternalServerError)
			}
		}
	})
}

// countingHandler counts the records logged at error level.
type countingHandler struct {
	slog.Handler
	errors *int
	buf    *bytes.Buffer
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		*h.errors++
	}
	return h.Handler.Handle(ctx, r)
}

func newCountingLogger() (*slog.Logger, *int, *bytes.Buffer) {
	n := 0
	var buf bytes.Buffer
	return slog.New(countingHandler{Handler: slog.NewJSONHandler(&buf, nil), errors: &n, buf: &buf}), &n, &buf
}

// errorBody decodes an error response strictly: exactly {"error":{"code","message"}}.
func errorBody(t *testing.T, resp events.APIGatewayV2HTTPResponse) apigw.ErrorBody {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	var b apigw.ErrorBody
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("error body %q: got decode error %v, want nil", resp.Body, err)
	}
	return b
}

func TestError(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		log, logged, _ := newCountingLogger()
		err := fmt.Errorf("request deletion: %w", identity.Errorf(identity.EDeletionDisabled, "ask your practitioner"))
		resp := apigw.Error(ctx, log, err)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status: got %d, want %d", resp.StatusCode, http.StatusForbidden)
		}
		if got := resp.Headers["Content-Type"]; got != "application/json" {
			t.Errorf("Content-Type: got %q, want %q", got, "application/json")
		}
		b := errorBody(t, resp)
		if b.Error.Code != identity.EDeletionDisabled || b.Error.Message != "ask your practitioner" {
			t.Errorf("body: got %+v, want code %q and message %q", b, identity.EDeletionDisabled, "ask your practitioner")
		}
		if _, ok := resp.Headers["Retry-After"]; ok {
			t.Errorf("Retry-After: got %q, want none on a 403", resp.Headers["Retry-After"])
		}
		if *logged != 0 {
			t.Errorf("error logs: got %d, want 0 for a mapped error", *logged)
		}
	})

	t.Run("ErrInternal", func(t *testing.T) {
		log, logged, buf := newCountingLogger()
		const secret = "dynamodb: table rtbf-prod, key PRACTICE#prac-demo#CLIENT#cl-ava"
		resp := apigw.Error(ctx, log, fmt.Errorf("put setting: %w", errors.New(secret)))
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status: got %d, want %d", resp.StatusCode, http.StatusInternalServerError)
		}
		b := errorBody(t, resp)
		if b.Error.Code != "internal" || b.Error.Message != "internal error" {
			t.Errorf("body: got %+v, want code %q and message %q", b, "internal", "internal error")
		}
		for _, leak := range []string{"dynamodb", "PRACTICE#", "put setting", "cl-ava"} {
			if strings.Contains(resp.Body, leak) {
				t.Errorf("body: got %q, want nothing of the internal error (%q)", resp.Body, leak)
			}
		}
		if *logged != 1 {
			t.Errorf("error logs: got %d, want 1", *logged)
		}
		if !strings.Contains(buf.String(), "rtbf-prod") {
			t.Errorf("log: got %q, want the internal error logged", buf.String())
		}
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		log, _, _ := newCountingLogger()
		resp := apigw.Error(ctx, log, identity.Errorf(identity.EUnavailable, "try again"))
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status: got %d, want %d", resp.StatusCode, http.StatusServiceUnavailable)
		}
		if got := resp.Headers["Retry-After"]; got != "5" {
			t.Errorf("Retry-After: got %q, want %q", got, "5")
		}
		if b := errorBody(t, resp); b.Error.Code != identity.EUnavailable {
			t.Errorf("code: got %q, want %q", b.Error.Code, identity.EUnavailable)
		}
	})

	// The store throttled or failed (the adapter wraps the SDK's error
	// with identity.ErrUnavailable): 503 with Retry-After and a fixed
	// message, the cause logged once as a warning, by its code alone.
	t.Run("ErrUnavailable/Store", func(t *testing.T) {
		var buf bytes.Buffer
		errorsLogged := 0
		log := slog.New(safelog.Handler(countingHandler{Handler: slog.NewJSONHandler(&buf, nil), errors: &errorsLogged, buf: &buf}))
		throttled := &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem",
			Err: &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "throughput exceeded for " + address}}
		resp := apigw.Error(ctx, log, fmt.Errorf("get item: %w: %w", identity.ErrUnavailable, throttled))
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] != "5" {
			t.Errorf("got %d with Retry-After %q, want 503 with 5", resp.StatusCode, resp.Headers["Retry-After"])
		}
		if b := errorBody(t, resp); b.Error.Code != identity.EUnavailable || b.Error.Message != "the service is busy just now; please try again" {
			t.Errorf("body: got %+v, want service_unavailable with the fixed message", b)
		}
		if strings.Contains(resp.Body, address) || strings.Contains(resp.Body, "Throughput") || strings.Contains(resp.Body, "get item") {
			t.Errorf("body: got %s, want nothing of the cause", resp.Body)
		}
		logged := buf.String()
		if errorsLogged != 0 || !strings.Contains(logged, `"level":"WARN"`) || !strings.Contains(logged, "api error ProvisionedThroughputExceededException") {
			t.Errorf("log: got %d errors and %s, want one warning naming the code", errorsLogged, logged)
		}
		if strings.Contains(logged, address) {
			t.Errorf("log: got %s, want no address", logged)
		}
	})

	// An AWS error whose message quotes an address (SES's MessageRejected
	// lists the recipients): the answer is the fixed internal error, and
	// the log, through the functions' handler, keeps the code alone.
	t.Run("ErrInternal/AWSMessage", func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(safelog.Handler(slog.NewJSONHandler(&buf, nil)))
		rejected := &smithy.OperationError{ServiceID: "SESv2", OperationName: "SendEmail",
			Err: &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified: " + address}}
		resp := apigw.Error(ctx, log, fmt.Errorf("send client-requested email: %w", rejected))
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(resp.Body, address) || strings.Contains(resp.Body, "MessageRejected") {
			t.Errorf("got %d %s, want 500 with nothing of the cause", resp.StatusCode, resp.Body)
		}
		if logged := buf.String(); strings.Contains(logged, address) || !strings.Contains(logged, "api error MessageRejected") {
			t.Errorf("log: got %s, want the code without the address", logged)
		}
	})
}

const address = "ava.lin@clients.example.com"

func TestJSON(t *testing.T) {
	resp := apigw.JSON(http.StatusAccepted, map[string]int{"n": 1})
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status: got %d, want %d", resp.StatusCode, http.StatusAccepted)
	}
	if resp.Body != `{"n":1}` {
		t.Errorf("body: got %q, want %q", resp.Body, `{"n":1}`)
	}
	for k, want := range map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Headers[k]; got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if resp.IsBase64Encoded {
		t.Errorf("IsBase64Encoded: got true, want false")
	}
}

func withClaims(claims map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		},
	}}
}

func TestActor(t *testing.T) {
	owner := map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": "prac-demo", "custom:team_role": "owner"}
	client := map[string]string{"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": "prac-demo", "custom:client_id": "cl-ava"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	ok := []struct {
		name   string
		claims map[string]string
		want   identity.Actor
	}{
		{"Owner", owner, identity.Actor{Subject: "pr-owner", Role: "practitioner", PracticeID: "prac-demo", TeamRole: "owner"}},
		{"Member", with(owner, "custom:team_role", "member"), identity.Actor{Subject: "pr-owner", Role: "practitioner", PracticeID: "prac-demo", TeamRole: "member"}},
		{"Client", client, identity.Actor{Subject: "cl-ava-sub", Role: "client", PracticeID: "prac-demo", ClientID: "cl-ava"}},
		// A claim that does not belong to the role is dropped, never used.
		{"ClientWithTeamRole", with(client, "custom:team_role", "owner"), identity.Actor{Subject: "cl-ava-sub", Role: "client", PracticeID: "prac-demo", ClientID: "cl-ava"}},
		{"PractitionerWithClientID", with(owner, "custom:client_id", "cl-ava"), identity.Actor{Subject: "pr-owner", Role: "practitioner", PracticeID: "prac-demo", TeamRole: "owner"}},
	}
	for _, tt := range ok {
		t.Run("OK/"+tt.name, func(t *testing.T) {
			got, err := apigw.Actor(withClaims(tt.claims))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	bad := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
		code string
	}{
		{"NoAuthorizer", events.APIGatewayV2HTTPRequest{}, identity.EUnauthorized},
		{"NoJWT", events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{},
		}}, identity.EUnauthorized},
		{"NoClaims", withClaims(nil), identity.EUnauthorized},
		{"EmptyClaims", withClaims(map[string]string{}), identity.EUnauthorized},
		{"NoSubject", withClaims(with(owner, "sub", "")), identity.EUnauthorized},
		{"NoRole", withClaims(with(owner, "custom:role", "")), identity.EForbidden},
		{"UnknownRole", withClaims(with(owner, "custom:role", "admin")), identity.EForbidden},
		{"NoPractice", withClaims(with(owner, "custom:practice_id", "")), identity.EForbidden},
		{"PracticeWithSeparator", withClaims(with(owner, "custom:practice_id", "prac-demo#CLIENT#x")), identity.EForbidden},
		{"NoTeamRole", withClaims(with(owner, "custom:team_role", "")), identity.EForbidden},
		{"UnknownTeamRole", withClaims(with(owner, "custom:team_role", "admin")), identity.EForbidden},
		{"ClientWithoutClientID", withClaims(with(client, "custom:client_id", "")), identity.EForbidden},
		{"ClientIDWithSeparator", withClaims(with(client, "custom:client_id", "cl#1")), identity.EForbidden},
	}
	for _, tt := range bad {
		t.Run("Err/"+tt.name, func(t *testing.T) {
			_, err := apigw.Actor(tt.req)
			if got := identity.ErrorCode(err); got != tt.code {
				t.Errorf("code: got %q (%v), want %q", got, err, tt.code)
			}
		})
	}

	t.Run("HeadersAndBodyIgnored", func(t *testing.T) {
		req := withClaims(client)
		req.Headers = map[string]string{"x-practice-id": "other", "custom:client_id": "cl-bob"}
		req.Body = `{"sub":"pr-owner","custom:role":"practitioner"}`
		req.QueryStringParameters = map[string]string{"clientId": "cl-bob"}
		got, err := apigw.Actor(req)
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		if got.ClientID != "cl-ava" || got.PracticeID != "prac-demo" || got.Role != "client" {
			t.Errorf("got %+v, want the claims' client cl-ava of prac-demo", got)
		}
	})
}

type target struct {
	Enabled *bool  `json:"enabled"`
	Name    string `json:"name,omitempty"`
}

func TestDecodeJSON(t *testing.T) {
	jsonReq := func(ct, body string) events.APIGatewayV2HTTPRequest {
		r := events.APIGatewayV2HTTPRequest{Body: body, Headers: map[string]string{}}
		if ct != "" {
			r.Headers["content-type"] = ct
		}
		return r
	}
	b64 := func(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		r.Body = base64.StdEncoding.EncodeToString([]byte(r.Body))
		r.IsBase64Encoded = true
		return r
	}
	// pad builds a valid object of exactly n bytes.
	pad := func(n int) string {
		const head, tail = `{"enabled":true,"name":"`, `"}`
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	}

	tests := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
		code string // "" for success
		msg  string // a substring of the message, when code is set
	}{
		{"OK", jsonReq("application/json", `{"enabled":true}`), "", ""},
		{"OK/Charset", jsonReq("application/json; charset=utf-8", `{"enabled":true}`), "", ""},
		{"OK/SuffixJSON", jsonReq("application/merge-patch+json", `{"enabled":true}`), "", ""},
		{"OK/NoContentType", jsonReq("", `{"enabled":true}`), "", ""},
		{"OK/HeaderCase", events.APIGatewayV2HTTPRequest{Headers: map[string]string{"Content-Type": "Application/JSON"}, Body: `{"enabled":true}`}, "", ""},
		{"OK/Whitespace", jsonReq("application/json", " \n{\"enabled\":true}\n\t "), "", ""},
		{"OK/Base64", b64(jsonReq("application/json", `{"enabled":true}`)), "", ""},
		{"OK/AtLimit", jsonReq("application/json", pad(apigw.MaxBodyBytes)), "", ""},
		{"OK/Base64AtLimit", b64(jsonReq("application/json", pad(apigw.MaxBodyBytes))), "", ""},

		{"ErrUnsupportedMedia/TextPlain", jsonReq("text/plain", `{"enabled":true}`), apigw.EUnsupportedMedia, ""},
		{"ErrUnsupportedMedia/Form", jsonReq("application/x-www-form-urlencoded", `enabled=true`), apigw.EUnsupportedMedia, ""},
		{"ErrUnsupportedMedia/Unparsable", jsonReq(";;", `{"enabled":true}`), apigw.EUnsupportedMedia, ""},
		{"ErrTooLarge", jsonReq("application/json", pad(5000)), apigw.ETooLarge, ""},
		{"ErrTooLarge/OneOver", jsonReq("application/json", pad(apigw.MaxBodyBytes+1)), apigw.ETooLarge, ""},
		{"ErrTooLarge/Base64", b64(jsonReq("application/json", pad(apigw.MaxBodyBytes+1))), apigw.ETooLarge, ""},
		{"ErrTooLarge/Huge", jsonReq("application/json", pad(1<<20)), apigw.ETooLarge, ""},
		{"ErrInvalid/Base64", events.APIGatewayV2HTTPRequest{Body: "not base64!", IsBase64Encoded: true}, identity.EInvalid, "base64"},
		{"ErrInvalid/Empty", jsonReq("application/json", ""), identity.EInvalid, "required"},
		{"ErrInvalid/Blank", jsonReq("application/json", "  \n"), identity.EInvalid, "required"},
		{"ErrInvalid/Malformed", jsonReq("application/json", `{"enabled":`), identity.EInvalid, "not valid JSON"},
		{"ErrInvalid/Syntax", jsonReq("application/json", `{enabled:true}`), identity.EInvalid, "not valid JSON"},
		{"ErrInvalid/UnknownField", jsonReq("application/json", `{"enabled":true,"practiceId":"other"}`), identity.EInvalid, `unknown field "practiceId"`},
		{"ErrInvalid/WrongType", jsonReq("application/json", `{"enabled":"yes"}`), identity.EInvalid, `field "enabled" must be a bool`},
		{"ErrInvalid/Array", jsonReq("application/json", `[true]`), identity.EInvalid, "JSON object"},
		{"ErrInvalid/String", jsonReq("application/json", `"yes"`), identity.EInvalid, "JSON object"},
		{"ErrInvalid/Trailing", jsonReq("application/json", `{"enabled":true}{}`), identity.EInvalid, "exactly one"},
		{"ErrInvalid/TrailingGarbage", jsonReq("application/json", `{"enabled":true} x`), identity.EInvalid, "exactly one"},
		// encoding/json alone would take these: null decodes into anything,
		// names match without regard to case, a repeated name keeps its last.
		{"ErrInvalid/Null", jsonReq("application/json", `null`), identity.EInvalid, "JSON object"},
		{"ErrInvalid/FieldCase", jsonReq("application/json", `{"Enabled":true}`), identity.EInvalid, `unknown field "Enabled"`},
		{"ErrInvalid/FieldUpper", jsonReq("application/json", `{"ENABLED":true}`), identity.EInvalid, `unknown field "ENABLED"`},
		{"ErrInvalid/Repeated", jsonReq("application/json", `{"enabled":false,"enabled":true}`), identity.EInvalid, `"enabled" is given more than once`},
		{"ErrInvalid/RepeatedSame", jsonReq("application/json", `{"enabled":true,"enabled":true}`), identity.EInvalid, "more than once"},
		{"ErrInvalid/RepeatedOther", jsonReq("application/json", `{"name":"a","enabled":true,"name":"b"}`), identity.EInvalid, `"name" is given more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			err := apigw.DecodeJSON(tt.req, &v)
			if got := identity.ErrorCode(err); got != tt.code {
				t.Fatalf("code: got %q (%v), want %q", got, err, tt.code)
			}
			if tt.code == "" {
				if v.Enabled == nil || !*v.Enabled {
					t.Errorf("enabled: got %v, want true", v.Enabled)
				}
				return
			}
			if msg := identity.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message: got %q, want it to contain %q", msg, tt.msg)
			}
		})
	}

	t.Run("NoEcho", func(t *testing.T) {
		// A decoding error names the problem, never the caller's value.
		const value = "SECRET-VALUE-<script>"
		for _, body := range []string{`{"enabled":"` + value + `"}`, `{"enabled":true,"x":"` + value + `"}`, `{"enabled":` + value} {
			var v target
			err := apigw.DecodeJSON(jsonReq("application/json", body), &v)
			if err == nil || strings.Contains(identity.ErrorMessage(err), value) {
				t.Errorf("DecodeJSON(%q): got %v, want an error without the value", body, err)
			}
		}
	})
}

func TestMethod(t *testing.T) {
	tests := []struct {
		name   string
		method string
		route  string
		want   string
	}{
		{"Context", "PUT", "PUT /v1/settings/right-to-be-forgotten", "PUT"},
		{"LowerCase", "put", "", "PUT"},
		{"ContextWins", "DELETE", "GET /x", "DELETE"},
		{"RouteKey", "", "POST /v1/portal/account-deletion", "POST"},
		{"Default", "", "$default", ""},
		{"None", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := events.APIGatewayV2HTTPRequest{RouteKey: tt.route}
			req.RequestContext.HTTP.Method = tt.method
			if got := apigw.Method(req); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	for _, tt := range []struct{ method, want string }{
		{"DELETE", "method DELETE is not allowed here"},
		{"<script>alert(1)</script>", "method SCRIPTALERT is not allowed here"},
	} {
		err := apigw.MethodNotAllowed(tt.method)
		if got := identity.ErrorCode(err); got != apigw.EMethodNotAllowed {
			t.Errorf("MethodNotAllowed(%q) code: got %q, want %q", tt.method, got, apigw.EMethodNotAllowed)
		}
		if got := identity.ErrorMessage(err); got != tt.want {
			t.Errorf("MethodNotAllowed(%q) message: got %q, want %q", tt.method, got, tt.want)
		}
		if got := apigw.Status(err); got != http.StatusMethodNotAllowed {
			t.Errorf("MethodNotAllowed(%q) status: got %d, want %d", tt.method, got, http.StatusMethodNotAllowed)
		}
	}
}

func TestPageLimit(t *testing.T) {
	for _, tc := range []struct {
		name, v string
		want    int
		code    string
	}{
		{"OK/Absent", "", 0, ""},
		{"OK/Number", "25", 25, ""},
		{"ErrInvalid/Zero", "0", 0, identity.EInvalid},
		{"ErrInvalid/Negative", "-3", 0, identity.EInvalid},
		{"ErrInvalid/Word", "ten", 0, identity.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := events.APIGatewayV2HTTPRequest{}
			if tc.v != "" {
				req.QueryStringParameters = map[string]string{"limit": tc.v}
			}
			got, err := apigw.PageLimit(req)
			if got != tc.want || identity.ErrorCode(err) != tc.code {
				t.Fatalf("got %d, %v; want %d, code %q", got, err, tc.want, tc.code)
			}
		})
	}
}
