package main

import (
	"net/http"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// routes are the routes the function serves.
var routes = []apigwtest.Route{{Key: "GET /v1/deletion-requests"}, {Key: "GET /v1/deletion-requests/{id}"},
	{Key: routeCertificate}, {Key: routePublicKey}}

// TestEvents runs every sample event of the function
// (events/practicerequests-*.json): each decodes strictly into the
// handler's input, is what API Gateway sends on one of the routes (its
// path and path parameters agreeing) from the caller it names, and,
// replayed against the fixture's requests, gets the answer want gives.
func TestEvents(t *testing.T) {
	type expect struct {
		status int
		code   string // the error code; "" for success
	}
	want := map[string]expect{
		"practicerequests-get-list-member":       {http.StatusOK, ""},
		"practicerequests-get-client":            {http.StatusForbidden, identity.EForbidden},
		"practicerequests-get-one-owner":         {http.StatusNotFound, identity.ENotFound}, // no such request in the fixture
		"practicerequests-get-certificate-owner": {http.StatusNotFound, identity.ENotFound}, // no such request in the fixture
		"practicerequests-get-public-key-member": {http.StatusOK, ""},
	}
	apigwtest.EachEvent(t, "practicerequests", want, func(t *testing.T, path string, w expect) {
		req := apigwtest.DecodeEvent(t, path)
		apigwtest.CheckRequest(t, path, req, "", routes...)

		h, _ := newHandler(t)
		resp := apigwtest.Call(t, h.Handle, req, w.status)
		if w.code != "" {
			apigwtest.CheckError(t, resp, w.code)
			return
		}
		if req.RouteKey == routePublicKey {
			var k evidence.PublicKey
			apigwtest.StrictDecode(t, resp.Body, &k)
			return
		}
		var page apigw.PracticeRequestsPage
		apigwtest.StrictDecode(t, resp.Body, &page)
	})
}
