package main

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

const route = "/v1/portal/account-deletion"

// routes are the routes the function serves.
var routes = []apigwtest.Route{{Key: "GET " + route}, {Key: "DELETE " + route}, {Key: "POST " + route, Body: true}}

// TestEvents runs every sample event of the function
// (events/deletionrequest-*.json): each decodes strictly into the
// handler's input, is what API Gateway sends on one of the routes from the
// caller it names, and, replayed against the demo practice with the
// setting on, gets the answer want gives.
func TestEvents(t *testing.T) {
	type expect struct {
		caller string // who calls, when the name does not end with it
		status int
		code   string // the error code; "" for success
	}
	want := map[string]expect{
		"deletionrequest-get-client":        {"", http.StatusOK, ""},
		"deletionrequest-delete-client":     {"", http.StatusNotFound, identity.ENotFound}, // nothing pending to cancel
		"deletionrequest-post-client":       {"", http.StatusAccepted, ""},
		"deletionrequest-post-unconfirmed":  {identity.RoleClient, http.StatusBadRequest, identity.EConfirmationRequired},
		"deletionrequest-post-practitioner": {"", http.StatusForbidden, identity.EForbidden},
		"deletionrequest-post-malformed":    {identity.RoleClient, http.StatusBadRequest, identity.EInvalid},
	}
	apigwtest.EachEvent(t, "deletionrequest", want, func(t *testing.T, path string, w expect) {
		req := apigwtest.DecodeEvent(t, path)
		apigwtest.CheckRequest(t, path, req, w.caller, routes...)

		f := newFixture(t, true)
		resp := apigwtest.Call(t, f.h.Handle, req, w.status)
		switch {
		case w.code != "":
			apigwtest.CheckError(t, resp, w.code)
			f.checkUnchanged(t)
		case w.status == http.StatusAccepted:
			if got := requestView(t, resp); !reflect.DeepEqual(got, wantView("req-001")) {
				t.Errorf("body: got %s, want %+v", resp.Body, wantView("req-001"))
			}
		default:
			if got := portalView(t, resp); !got.Available || got.Request != nil {
				t.Errorf("body: got %s, want available and no request", resp.Body)
			}
			f.checkUnchanged(t)
		}
	})
}
