// Package apigwtest checks the sample API events in events/:
// each decodes strictly into the handler's input type and says, in its
// name and claims, which route, method and caller it is.
package apigwtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// EventFiles returns events/<function>-*.json, seen from a package two
// levels below the repository root (functions/<name>).
func EventFiles(t *testing.T, function string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", function+"-*.json"))
	if err != nil {
		t.Fatalf("glob: got error %v, want nil", err)
	}
	if len(files) == 0 {
		t.Fatalf("events/%s-*.json: got no file, want at least one", function)
	}
	return files
}

// DecodeEvent reads a sample event into the handler's exact input type; a
// field the type does not know fails, so the file cannot drift from what
// the handler receives.
func DecodeEvent(t *testing.T, path string) events.APIGatewayV2HTTPRequest {
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

// CheckEvents checks every sample event of function: served on route with
// one of methods (the one with a body last), named <function>-<method>-
// <case>-<caller>.
func CheckEvents(t *testing.T, function, route string, methods ...string) {
	t.Helper()
	bodyMethod := methods[len(methods)-1]
	for _, path := range EventFiles(t, function) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			req := DecodeEvent(t, path)
			method := req.RequestContext.HTTP.Method
			if !slices.Contains(methods, method) {
				t.Errorf("requestContext.http.method: got %q, want one of %v", method, methods)
			}
			// The file name says the method: <function>-<method>-....
			if parts := strings.Split(name, "-"); len(parts) < 2 || strings.ToUpper(parts[1]) != method {
				t.Errorf("file name: got %q, want %s-%s-<case>", name, function, strings.ToLower(method))
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
			if method == bodyMethod && method != http.MethodGet {
				if got := req.Headers["content-type"]; got != "application/json" {
					t.Errorf("headers.content-type: got %q, want %q", got, "application/json")
				}
				if req.Body == "" {
					t.Errorf("body: got none, want a JSON body on %s", method)
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
			case identity.TeamOwner, identity.TeamMember:
				if actor.Role != identity.RolePractitioner || actor.TeamRole != who {
					t.Errorf("caller: got %+v, want a practitioner with team role %q", actor, who)
				}
			case identity.RolePractitioner:
				if actor.Role != identity.RolePractitioner {
					t.Errorf("caller: got %+v, want a practitioner", actor)
				}
			case identity.RoleClient:
				if actor.Role != identity.RoleClient || actor.ClientID != "cl-ava" {
					t.Errorf("caller: got %+v, want client cl-ava", actor)
				}
			}
		})
	}
}
