package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// invoker runs a function synchronously with a JSON payload.
type invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// route is one route of template.yaml's HTTP API.
type route struct {
	method, path, function string
}

// templateRoutes are the HttpApi events of template.yaml's functions.
func templateRoutes(fns []localstack.Function) []route {
	var out []route
	for _, f := range fns {
		for _, r := range f.Routes {
			out = append(out, route{r.Method, r.Path, f.LogicalID})
		}
	}
	return out
}

// matchPath matches a request path against a route path whose segments
// may be {name} parameters, as API Gateway does; a parameter matches one
// non-empty segment.
func matchPath(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

// maxRequestBody is API Gateway's request payload limit.
const maxRequestBody = 10 << 20

// gateway plays the HTTP API: route, JWT authorizer, v2 payload.
type gateway struct {
	routes    []route // template.yaml's
	functions map[string]invoker
	auth      *issuer
	log       *slog.Logger
	// now is the local clock: the time the events say they arrived. The
	// authorizer checks tokens against the real clock (see authorize).
	now func() time.Time
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rt *route
	var params map[string]string
	for i := range g.routes {
		if p, ok := matchPath(g.routes[i].path, r.URL.Path); ok && g.routes[i].method == r.Method {
			rt, params = &g.routes[i], p
		}
	}
	if rt == nil {
		if serveConsole(w, r) {
			return
		}
		// API Gateway's own answer when no route matches the method and
		// path (a path with a route, under another method, included),
		// given before the authorizer runs.
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	reqID := newID()
	w.Header().Set("Apigw-Requestid", reqID)
	claims, err := g.authorize(r)
	if err != nil {
		g.log.Info("authorizer rejected", "route", rt.method+" "+rt.path, "reason", err.Error())
		w.Header().Set("Www-Authenticate", `Bearer scope="" error="invalid_token" error_description="the token is missing or invalid"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Bad Request"})
		return
	}
	if len(body) > maxRequestBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "Request Entity Too Large"})
		return
	}
	ev := toEvent(r, *rt, reqID, body, claims, g.now())
	ev.PathParameters = params
	payload, err := json.Marshal(ev)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		return
	}
	start := time.Now()
	out, err := g.functions[rt.function].Invoke(r.Context(), payload)
	if err != nil {
		g.log.Error("integration failed", "function", rt.function, "err", err)
		if errors.Is(err, errTimeout) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "Service Unavailable"})
			return
		}
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		return
	}
	status := writeResponse(w, out)
	g.log.Info("request", "requestId", reqID, "routeKey", ev.RouteKey, "status", status, "ms", time.Since(start).Milliseconds())
}

// authorize does what the JWT authorizer does with the Authorization header.
// Tokens are checked against the real clock, not the local one: they are
// signed on it (by /_local/token, the console, the tests), and a move of
// the local clock must not expire a session that is minutes old.
func (g *gateway) authorize(r *http.Request) (map[string]string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return nil, errors.New("no Authorization header")
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	}
	return g.auth.Verify(h, time.Now())
}

// toEvent builds the HTTP API payload v2 event for r.
func toEvent(r *http.Request, rt route, reqID string, body []byte, claims map[string]string, now time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	sourceIP, port, _ := net.SplitHostPort(r.RemoteAddr)
	headers["x-forwarded-for"] = sourceIP
	_, hostPort, _ := net.SplitHostPort(r.Host)
	if hostPort == "" {
		hostPort = port
	}
	headers["x-forwarded-port"] = hostPort
	headers["x-forwarded-proto"] = "http"

	var query map[string]string
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.method + " " + rt.path,
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
	}
	if len(body) > 0 {
		if isText(headers["content-type"]) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	rc := &ev.RequestContext
	rc.RouteKey = ev.RouteKey
	rc.AccountID = "123456789012"
	rc.Stage = "$default"
	rc.RequestID = reqID
	rc.APIID = "local"
	rc.DomainName = r.Host
	rc.DomainPrefix = strings.SplitN(r.Host, ".", 2)[0]
	rc.Time = now.UTC().Format("02/Jan/2006:15:04:05 -0700")
	rc.TimeEpoch = now.UnixMilli()
	rc.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: sourceIP, UserAgent: r.UserAgent(),
	}
	rc.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: nil},
	}
	return ev
}

// isText reports whether API Gateway passes a body of this type as text;
// anything else arrives base64-encoded.
func isText(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// writeResponse turns the function's v2 response into HTTP. A payload that
// is not a response object is, as API Gateway does, sent as a 200 JSON body.
func writeResponse(w http.ResponseWriter, out []byte) int {
	var probe map[string]json.RawMessage
	var resp events.APIGatewayV2HTTPResponse
	if json.Unmarshal(out, &probe) != nil || probe["statusCode"] == nil || json.Unmarshal(out, &resp) != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return http.StatusOK
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
			return http.StatusInternalServerError
		}
		body = b
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode
}
