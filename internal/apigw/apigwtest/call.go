package apigwtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
)

// HandlerFunc is an HTTP API function's handler, as main.go gives it to
// lambda.Start: callers pass the method value, h.Handle.
type HandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Call invokes h with req and checks what every response must satisfy: no
// Go error (API handlers answer every request), never a 500, a JSON
// content type, and the status wanted.
func Call(t *testing.T, h HandlerFunc, req events.APIGatewayV2HTTPRequest, wantStatus int) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp := invoke(t, h, req)
	if resp.StatusCode != wantStatus {
		t.Errorf("status: got %d (%s), want %d", resp.StatusCode, resp.Body, wantStatus)
	}
	return resp
}

// CallJSON invokes h with req, checks what every response must satisfy
// but its status (no Go error, never a 500, a JSON content type), and
// returns the response with its body, which must be a JSON object, as a
// map. The caller checks the status.
func CallJSON(t *testing.T, h HandlerFunc, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, map[string]any) {
	t.Helper()
	resp := invoke(t, h, req)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body: got %s (%v), want a JSON object", resp.Body, err)
	}
	return resp, body
}

// invoke calls h and checks what Call and CallJSON share.
func invoke(t *testing.T, h HandlerFunc, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle: got error %v, want nil (API handlers answer every request)", err)
	}
	if resp.StatusCode == http.StatusInternalServerError {
		t.Errorf("status: got 500 (%s), want no internal error", resp.Body)
	}
	checkContentType(t, resp)
	return resp
}

func checkContentType(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if got := resp.Headers["Content-Type"]; got != "application/json" {
		t.Errorf("Content-Type: got %q, want %q", got, "application/json")
	}
}

// StrictDecode decodes a response body into v: a field v does not know,
// or anything after the one JSON value, fails the test.
func StrictDecode(t *testing.T, body string, v any) {
	t.Helper()
	if err := decodeStrict(strings.NewReader(body), v); err != nil {
		t.Fatalf("body %q: got decode error %v, want nil", body, err)
	}
}

// decodeStrict decodes the one JSON value r holds into v, with no field
// v does not know.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("got trailing data (%v), want one JSON value", err)
	}
	return nil
}

// CheckError checks that resp is the API's error response with code: a
// JSON content type, the error envelope and nothing else, the code, a
// message, and a Retry-After header on a 503 or a 429 (as apigw.Error
// sets it) and on nothing else.
func CheckError(t *testing.T, resp events.APIGatewayV2HTTPResponse, code string) {
	t.Helper()
	checkContentType(t, resp)
	var b apigw.ErrorBody
	StrictDecode(t, resp.Body, &b)
	if b.Error.Code != code {
		t.Errorf("error code: got %q (%s), want %q", b.Error.Code, b.Error.Message, code)
	}
	if b.Error.Message == "" {
		t.Errorf("error message: got none, want one")
	}
	retry, ok := resp.Headers["Retry-After"]
	want := resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests
	if ok != want || (want && retry == "") {
		t.Errorf("Retry-After: got %q on a %d, want one on a 503 or 429 only", retry, resp.StatusCode)
	}
}
