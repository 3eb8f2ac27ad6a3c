package main

import (
	"net/http"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// routes are the routes the function serves.
var routes = []apigwtest.Route{{Key: "GET /v1/notifications"}, {Key: "POST /v1/notifications/{id}/read"}}

// TestEvents runs every sample event of the function
// (events/notifications-*.json): each decodes strictly into the handler's
// input, is what API Gateway sends on one of the routes (its path and path
// parameters agreeing) from the caller it names, and, replayed against the
// in-memory inbox, gets the answer want gives.
func TestEvents(t *testing.T) {
	type expect struct {
		status int
		code   string // the error code; "" for success
	}
	want := map[string]expect{
		"notifications-get-owner":       {http.StatusOK, ""},
		"notifications-get-client":      {http.StatusForbidden, identity.EForbidden},
		"notifications-post-read-owner": {http.StatusNotFound, identity.ENotFound}, // no such notification
	}
	apigwtest.EachEvent(t, "notifications", want, func(t *testing.T, path string, w expect) {
		req := apigwtest.DecodeEvent(t, path)
		apigwtest.CheckRequest(t, path, req, "", routes...)

		h, _ := newHandler(t)
		resp := apigwtest.Call(t, h.Handle, req, w.status)
		if w.code != "" {
			apigwtest.CheckError(t, resp, w.code)
			return
		}
		var page apigw.NotificationsPage
		apigwtest.StrictDecode(t, resp.Body, &page)
	})
}
