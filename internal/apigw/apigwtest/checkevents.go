package apigwtest

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

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
