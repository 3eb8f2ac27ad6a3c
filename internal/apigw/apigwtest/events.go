package apigwtest

import (
	"bytes"
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

// EventName is a sample event's name: its file name without .json.
func EventName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".json")
}

// ReadEvent reads a sample event into T, the function's own input type;
// a field T does not know, or anything after the one JSON value, fails, so
// the file cannot drift from what the handler receives. It returns the
// file's bytes too, for the checks of what an invoker sends.
func ReadEvent[T any](t *testing.T, path string) ([]byte, T) {
	t.Helper()
	var v T
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: got error %v, want nil", err)
	}
	if err := decodeStrict(bytes.NewReader(raw), &v); err != nil {
		t.Fatalf("decode %s: got error %v, want nil", path, err)
	}
	return raw, v
}

// DecodeEvent reads a sample event of an HTTP API function into its input
// type, strictly (see ReadEvent).
func DecodeEvent(t *testing.T, path string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	_, req := ReadEvent[events.APIGatewayV2HTTPRequest](t, path)
	return req
}

// EachEvent runs check on every sample event of function, each in a
// subtest named after the event, with what want holds for it. An event
// want has nothing for fails, and so does an entry of want that names no
// event: the table and the files stay one.
func EachEvent[W any](t *testing.T, function string, want map[string]W, check func(t *testing.T, path string, w W)) {
	t.Helper()
	files := EventFiles(t, function)
	for _, path := range files {
		name := EventName(path)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s: add it here", name)
			}
			check(t, path, w)
		})
	}
	for name := range want {
		if !slices.ContainsFunc(files, func(path string) bool { return EventName(path) == name }) {
			t.Errorf("expectation for %s: got no events/%s.json, want the file or no expectation", name, name)
		}
	}
}

// Route is a route an HTTP API function serves.
type Route struct {
	Key  string // as API Gateway names it: "<METHOD> <path>", with its {parameters}
	Body bool   // its sample events carry a JSON body
}

// The callers a sample event's name may end with.
var callers = []string{identity.TeamOwner, identity.TeamMember, identity.RolePractitioner, identity.RoleClient}

// CheckRequest checks a sample event of an HTTP API function, read from
// path: it is named <function>-<method>-[<case>-]<caller>; it is what API
// Gateway sends on one of routes, its path the route's with its path
// parameters filled in; it carries a JSON body where the route takes one;
// and its claims, from the demo practice, make a valid caller, the one
// its name ends with. caller is who calls when the name does not end with
// a caller ("" when it does).
func CheckRequest(t *testing.T, path string, req events.APIGatewayV2HTTPRequest, caller string, routes ...Route) {
	t.Helper()
	name := EventName(path)
	method := req.RequestContext.HTTP.Method
	// The file name says the method: <function>-<method>-....
	if parts := strings.Split(name, "-"); len(parts) < 3 || strings.ToUpper(parts[1]) != method {
		t.Errorf("file name: got %q, want <function>-%s-[<case>-]<caller>", name, strings.ToLower(method))
	}
	if req.Version != "2.0" {
		t.Errorf("version: got %q, want %q", req.Version, "2.0")
	}
	i := slices.IndexFunc(routes, func(r Route) bool { return r.Key == req.RouteKey })
	if i < 0 {
		t.Fatalf("routeKey: got %q, want one of %+v", req.RouteKey, routes)
	}
	route := routes[i]
	if req.RequestContext.RouteKey != req.RouteKey {
		t.Errorf("requestContext.routeKey: got %q, want %q", req.RequestContext.RouteKey, req.RouteKey)
	}
	routeMethod, template, _ := strings.Cut(route.Key, " ")
	if method != routeMethod {
		t.Errorf("requestContext.http.method: got %q, want %q", method, routeMethod)
	}
	// The path is the route with its parameters filled in.
	want := template
	for k, v := range req.PathParameters {
		if !strings.Contains(want, "{"+k+"}") {
			t.Errorf("pathParameters: got %q, which route %s does not have", k, route.Key)
		}
		want = strings.Replace(want, "{"+k+"}", v, 1)
	}
	if strings.Contains(want, "{") || req.RawPath != want || req.RequestContext.HTTP.Path != want {
		t.Errorf("path: got rawPath %q, requestContext.http.path %q and pathParameters %v; want them to agree with %s", req.RawPath, req.RequestContext.HTTP.Path, req.PathParameters, template)
	}
	if req.IsBase64Encoded {
		t.Errorf("isBase64Encoded: got true, want false")
	}
	if route.Body || req.Body != "" {
		if got := req.Headers["content-type"]; got != "application/json" {
			t.Errorf("headers.content-type: got %q, want %q", got, "application/json")
		}
	}
	if route.Body && req.Body == "" {
		t.Errorf("body: got none, want a JSON body on %s", route.Key)
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
	who := name[strings.LastIndex(name, "-")+1:]
	switch {
	case caller == "":
		caller = who
	case slices.Contains(callers, who) && who != caller:
		t.Errorf("caller: the name ends %q, want it to end %q, the caller given", who, caller)
	}
	switch caller {
	case identity.TeamOwner, identity.TeamMember:
		if actor.Role != identity.RolePractitioner || actor.TeamRole != caller {
			t.Errorf("caller: got %+v, want a practitioner with team role %q", actor, caller)
		}
	case identity.RolePractitioner:
		if actor.Role != identity.RolePractitioner {
			t.Errorf("caller: got %+v, want a practitioner", actor)
		}
	case identity.RoleClient:
		if actor.Role != identity.RoleClient || actor.ClientID != "cl-ava" {
			t.Errorf("caller: got %+v, want client cl-ava", actor)
		}
	default:
		t.Errorf("caller: got %q, want one of %v: end the file name with it, or give it", caller, callers)
	}
}
