package main

import (
	"net/http"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// routes are the routes the function serves.
var routes = []apigwtest.Route{{Key: "POST " + postRoute, Body: true}, {Key: "GET " + getRoute}}

// TestEvents runs every sample event of the function
// (events/exports-*.json): each decodes strictly into the handler's input,
// is what API Gateway sends on one of the routes (its path and path
// parameters agreeing) from the caller it names, and, replayed against the
// fixture, gets the answer want gives.
func TestEvents(t *testing.T) {
	type expect struct {
		status int
		code   string // the error code; "" for success
	}
	want := map[string]expect{
		"exports-post-member":          {http.StatusAccepted, ""},
		"exports-post-client":          {http.StatusForbidden, identity.EForbidden},
		"exports-post-unknown-owner":   {http.StatusNotFound, identity.ENotFound},
		"exports-post-malformed-owner": {http.StatusBadRequest, identity.EInvalid},
		"exports-get-one-owner":        {http.StatusNotFound, identity.ENotFound}, // no such export in the fixture
	}
	apigwtest.EachEvent(t, "exports", want, func(t *testing.T, path string, w expect) {
		req := apigwtest.DecodeEvent(t, path)
		apigwtest.CheckRequest(t, path, req, "", routes...)

		f := newFixture(t)
		f.mem.AddClient("prac-demo", "cl-ava")
		resp := apigwtest.Call(t, f.h.Handle, req, w.status)
		if w.code != "" {
			apigwtest.CheckError(t, resp, w.code)
			return
		}
		var v apigw.ExportView
		apigwtest.StrictDecode(t, resp.Body, &v)
	})
}
