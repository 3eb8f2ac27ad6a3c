package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// TestEvents_Shape checks every sample event of the function:
// it decodes strictly into the handler's input, is named
// exports-<method>-[<case>-]<caller>, is on one of the two routes with a
// path and path parameters that agree, and carries the claims of the
// caller its name gives.
func TestEvents_Shape(t *testing.T) {
	routes := map[string]string{http.MethodPost: postRoute, http.MethodGet: getRoute}
	for _, path := range apigwtest.EventFiles(t, "exports") {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			req := apigwtest.DecodeEvent(t, path)
			method := req.RequestContext.HTTP.Method
			route, ok := routes[method]
			if !ok {
				t.Fatalf("method: got %q, want POST or GET", method)
			}
			if parts := strings.Split(name, "-"); len(parts) < 3 || strings.ToUpper(parts[1]) != method {
				t.Errorf("file name: got %q, want exports-%s-[<case>-]<caller>", name, strings.ToLower(method))
			}
			if req.Version != "2.0" || req.RouteKey != method+" "+route || req.RequestContext.RouteKey != req.RouteKey {
				t.Errorf("route: got version %q routeKey %q / %q, want 2.0 and %q", req.Version, req.RouteKey, req.RequestContext.RouteKey, method+" "+route)
			}
			// The path is the route with its parameters filled in.
			want := route
			for k, v := range req.PathParameters {
				want = strings.Replace(want, "{"+k+"}", v, 1)
			}
			if strings.Contains(want, "{") || req.RawPath != want || req.RequestContext.HTTP.Path != want {
				t.Errorf("path: got rawPath %q, http.path %q and parameters %v; want them to agree with %s", req.RawPath, req.RequestContext.HTTP.Path, req.PathParameters, route)
			}
			if method == http.MethodPost && (req.Headers["content-type"] != "application/json" || req.Body == "") {
				t.Errorf("POST: got content-type %q and body %q, want a JSON body", req.Headers["content-type"], req.Body)
			}
			auth := req.RequestContext.Authorizer
			if auth == nil || auth.JWT == nil || len(auth.JWT.Scopes) == 0 {
				t.Fatal("requestContext.authorizer.jwt: got none, want the verified claims and scopes")
			}
			if got := auth.JWT.Claims[apigw.ClaimPracticeID]; got != "prac-demo" {
				t.Errorf("practice: got %q, want the demo practice prac-demo", got)
			}
			actor, err := apigw.Actor(req)
			if err != nil {
				t.Fatalf("Actor: got error %v, want the claims to make a valid caller", err)
			}
			switch who := name[strings.LastIndex(name, "-")+1:]; who {
			case identity.TeamOwner, identity.TeamMember:
				if actor.Role != identity.RolePractitioner || actor.TeamRole != who {
					t.Errorf("caller: got %+v, want a practitioner with team role %q", actor, who)
				}
			case identity.RoleClient:
				if actor.Role != identity.RoleClient || actor.ClientID != "cl-ava" {
					t.Errorf("caller: got %+v, want client cl-ava", actor)
				}
			default:
				t.Errorf("caller: the name ends %q, want owner, member or client", who)
			}
		})
	}
}
