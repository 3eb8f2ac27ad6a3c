// Package apigw is the API Gateway HTTP API (payload v2) edge: it reads the
// caller from the JWT authorizer's verified claims, decodes JSON bodies
// strictly, and maps erasure error codes to HTTP statuses in one table.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Claim names of the claims contract (README, "API and claims contract").
const (
	ClaimSubject    = "sub"
	ClaimRole       = "custom:role"
	ClaimPracticeID = "custom:practice_id"
	ClaimClientID   = "custom:client_id"
	ClaimTeamRole   = "custom:team_role"
)

// MaxBodyBytes bounds every request body: the API's bodies are a few bytes.
const MaxBodyBytes = 4 << 10

// Error codes only HTTP has: the request's method, media type and size. The
// others are identity's.
const (
	ETooLarge         = "payload_too_large"
	EUnsupportedMedia = "unsupported_media_type"
	EMethodNotAllowed = "method_not_allowed"
)

// Actor builds the caller from the claims the JWT authorizer verified.
// Nothing in the body, query or headers can change who the caller is.
func Actor(req events.APIGatewayV2HTTPRequest) (identity.Actor, error) {
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || len(auth.JWT.Claims) == 0 {
		return identity.Actor{}, identity.Errorf(identity.EUnauthorized, "a valid bearer token is required")
	}
	c := auth.JWT.Claims
	return identity.NewActor(c[ClaimSubject], c[ClaimRole], c[ClaimPracticeID], c[ClaimClientID], c[ClaimTeamRole])
}

// DecodeJSON decodes the body into v: it must be JSON (by content type, when
// one is given), at most MaxBodyBytes, one object with no unknown fields.
func DecodeJSON(req events.APIGatewayV2HTTPRequest, v any) error {
	if ct := header(req, "content-type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return identity.Errorf(EUnsupportedMedia, "the body must be application/json")
		}
	}
	body := req.Body
	if len(body) > 2*MaxBodyBytes {
		return identity.Errorf(ETooLarge, "the body must be at most %d bytes", MaxBodyBytes)
	}
	raw := []byte(body)
	if req.IsBase64Encoded {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(body); err != nil {
			return identity.Errorf(identity.EInvalid, "the body is not valid base64")
		}
	}
	if len(raw) > MaxBodyBytes {
		return identity.Errorf(ETooLarge, "the body must be at most %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return identity.Errorf(identity.EInvalid, "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return identity.Errorf(identity.EInvalid, "%s", describe(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return identity.Errorf(identity.EInvalid, "the body must hold exactly one JSON object")
	}
	// encoding/json decodes null into anything, matches names without
	// regard to case and keeps the last of a repeated name: the contract is
	// an object whose names are exactly the fields', each once.
	if msg := exactFields(raw, v); msg != "" {
		return identity.Errorf(identity.EInvalid, "%s", msg)
	}
	return nil
}

// exactFields checks raw, which decoded into v without error, is one JSON
// object whose names are the JSON names of v's fields, each at most once.
// It returns what is wrong, or "".
func exactFields(raw []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "the body must be a JSON object"
	}
	known := fieldNames(v)
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return "the body is not valid JSON"
		}
		if known != nil && !known[name] {
			return fmt.Sprintf("unknown field %q", name)
		}
		if seen[name] {
			return fmt.Sprintf("field %q is given more than once", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "the body is not valid JSON"
		}
	}
	return ""
}

// fieldNames are the JSON names of the fields of the struct v points to;
// nil when v is not a struct.
func fieldNames(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names
}

// describe turns a decoding error into a message that names the problem
// but repeats nothing of the input beyond a field name.
func describe(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is not valid JSON"
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type.Kind())
		}
		return "the body must be a JSON object"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "the body is not valid JSON"
}

func header(req events.APIGatewayV2HTTPRequest, name string) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// JSON is a response with v as its JSON body.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Our own response types always marshal; this is a bug.
		panic(err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(b),
	}
}

// statuses is the one table from error code to HTTP status.
var statuses = map[string]int{
	identity.EInvalid:              http.StatusBadRequest,
	identity.EConfirmationRequired: http.StatusBadRequest,
	identity.EUnauthorized:         http.StatusUnauthorized,
	identity.EForbidden:            http.StatusForbidden,
	identity.EDeletionDisabled:     http.StatusForbidden,
	identity.EAccountClosed:        http.StatusForbidden,
	identity.ENotFound:             http.StatusNotFound,
	identity.ECertificateNotReady:  http.StatusNotFound,
	EMethodNotAllowed:              http.StatusMethodNotAllowed,
	identity.EConflict:             http.StatusConflict,
	identity.EAlreadyPurging:       http.StatusConflict,
	identity.EAlreadyCompleted:     http.StatusConflict,
	ETooLarge:                      http.StatusRequestEntityTooLarge,
	EUnsupportedMedia:              http.StatusUnsupportedMediaType,
	identity.EUnavailable:          http.StatusServiceUnavailable,
	identity.ETooManyRequests:      http.StatusTooManyRequests,
}

// Statuses returns a copy of the table from error code to HTTP status (the
// API's contract, infra/openapi.yaml, is checked against it).
func Statuses() map[string]int {
	out := make(map[string]int, len(statuses))
	for code, status := range statuses {
		out[code] = status
	}
	return out
}

// Status is the HTTP status for err's code; 500 for an internal error.
func Status(err error) int {
	if s, ok := statuses[identity.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the response for err. Only a coded error's own message (fixed
// text, written for the caller) reaches the caller. An internal error is
// logged once here and answered with a fixed message; so is a store that
// throttled or failed (identity.ErrUnavailable), answered 503.
func Error(ctx context.Context, log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	code, msg := identity.ErrorCode(err), identity.ErrorMessage(err)
	status := Status(err)
	var coded *identity.Error
	switch {
	case status == http.StatusInternalServerError:
		// No code, or one the table does not know: either way the caller
		// learns nothing of it.
		code, msg = "internal", "internal error"
		log.ErrorContext(ctx, "internal error", "err", err)
	case !errors.As(err, &coded):
		// Coded by its cause (identity.ErrUnavailable), not by the
		// service: worth a line in the log.
		log.WarnContext(ctx, "answered "+code+": the store throttled or failed", "err", err)
	}
	resp := JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		resp.Headers["Retry-After"] = retryAfter(identity.RetryAfter(err))
	}
	return resp
}

// retryAfter is the Retry-After header's value for a wait of d: whole
// seconds, rounded up, at least one; 5 when the error names no wait.
func retryAfter(d time.Duration) string {
	if d <= 0 {
		return "5"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// PageLimit reads the optional limit query parameter: 0 when absent (the
// service's default), an invalid_request error when it is not a positive
// integer. The service checks the upper bound.
func PageLimit(req events.APIGatewayV2HTTPRequest) (int, error) {
	v := req.QueryStringParameters["limit"]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, identity.Errorf(identity.EInvalid, "limit must be a number from 1 to %d", erasure.MaxPageSize)
	}
	return n, nil
}

// PageToken reads the optional nextToken query parameter: "" when absent,
// an invalid_request error when it is given but empty (a page token is
// never empty). The store checks that it is one it gave.
func PageToken(req events.APIGatewayV2HTTPRequest) (string, error) {
	v, ok := req.QueryStringParameters["nextToken"]
	if ok && v == "" {
		return "", identity.Errorf(identity.EInvalid, "nextToken must not be empty; leave it out for the first page")
	}
	return v, nil
}

// Method returns the request's HTTP method.
func Method(req events.APIGatewayV2HTTPRequest) string {
	if m := req.RequestContext.HTTP.Method; m != "" {
		return strings.ToUpper(m)
	}
	if i := strings.IndexByte(req.RouteKey, ' '); i > 0 {
		return req.RouteKey[:i]
	}
	return ""
}

// MethodNotAllowed is the error for a method the route does not serve.
func MethodNotAllowed(method string) error {
	return identity.Errorf(EMethodNotAllowed, "method %s is not allowed here", sanitizeToken(method))
}

func sanitizeToken(s string) string {
	if len(s) > 16 {
		s = s[:16]
	}
	return strings.Map(func(r rune) rune {
		if r < 'A' || r > 'Z' {
			return -1
		}
		return r
	}, strings.ToUpper(s))
}
