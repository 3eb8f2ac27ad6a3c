package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

const route = "/v1/settings/right-to-be-forgotten"

// eventFiles are this function's sample events (events/settings-*.json).
func eventFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "settings-*.json"))
	if err != nil {
		t.Fatalf("glob: got error %v, want nil", err)
	}
	if len(files) == 0 {
		t.Fatal("events/settings-*.json: got no file, want at least one")
	}
	return files
}

// decodeEvent reads a sample event into the handler's exact input type; a
// field the type does not know fails, so the file cannot drift from what
// the handler receives.
func decodeEvent(t *testing.T, path string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open: got error %v, want nil", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var req events.APIGatewayV2HTTPRequest
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("decode %s: got error %v, want nil", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("decode %s: got trailing data (%v), want one JSON object", path, err)
	}
	return req
}

// TestEvents checks every sample event of the function (STYLE habit 8).
func TestEvents(t *testing.T) {
	for _, path := range eventFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			req := decodeEvent(t, path)
			method := req.RequestContext.HTTP.Method
			if method != http.MethodGet && method != http.MethodPut {
				t.Errorf("requestContext.http.method: got %q, want GET or PUT", method)
			}
			// The file name says the method: settings-<method>-....
			if parts := strings.Split(name, "-"); len(parts) < 2 || strings.ToUpper(parts[1]) != method {
				t.Errorf("file name: got %q, want settings-%s-<case>", name, strings.ToLower(method))
			}
			if req.Version != "2.0" {
				t.Errorf("version: got %q, want %q", req.Version, "2.0")
			}
			wantRoute := method + " " + route
			if req.RouteKey != wantRoute || req.RequestContext.RouteKey != wantRoute {
				t.Errorf("routeKey: got %q and requestContext.routeKey %q, want %q", req.RouteKey, req.RequestContext.RouteKey, wantRoute)
			}
			if req.RawPath != route || req.RequestContext.HTTP.Path != route {
				t.Errorf("path: got rawPath %q and requestContext.http.path %q, want %q", req.RawPath, req.RequestContext.HTTP.Path, route)
			}
			if req.IsBase64Encoded {
				t.Errorf("isBase64Encoded: got true, want false")
			}
			if method == http.MethodPut {
				if got := req.Headers["content-type"]; got != "application/json" {
					t.Errorf("headers.content-type: got %q, want %q", got, "application/json")
				}
				if req.Body == "" {
					t.Errorf("body: got none, want a JSON body on PUT")
				}
			}
			auth := req.RequestContext.Authorizer
			if auth == nil || auth.JWT == nil {
				t.Fatal("requestContext.authorizer.jwt: got none, want the verified claims")
			}
			if len(auth.JWT.Scopes) == 0 {
				t.Errorf("requestContext.authorizer.jwt.scopes: got none, want some")
			}
			c := auth.JWT.Claims
			for _, k := range []string{apigw.ClaimSubject, apigw.ClaimRole, apigw.ClaimPracticeID} {
				if c[k] == "" {
					t.Errorf("claim %q: got none, want one", k)
				}
			}
			if c[apigw.ClaimPracticeID] != "prac-demo" {
				t.Errorf("claim %q: got %q, want the demo practice %q", apigw.ClaimPracticeID, c[apigw.ClaimPracticeID], "prac-demo")
			}
			actor, err := apigw.Actor(req)
			if err != nil {
				t.Fatalf("Actor: got error %v, want the claims to make a valid caller", err)
			}
			// The last word of the name says who calls.
			switch who := name[strings.LastIndex(name, "-")+1:]; who {
			case erasure.TeamOwner, erasure.TeamMember:
				if actor.Role != erasure.RolePractitioner || actor.TeamRole != who {
					t.Errorf("caller: got %+v, want a practitioner with team role %q", actor, who)
				}
			case erasure.RoleClient:
				if actor.Role != erasure.RoleClient || actor.ClientID != "cl-ava" {
					t.Errorf("caller: got %+v, want client cl-ava", actor)
				}
			}
		})
	}
}
