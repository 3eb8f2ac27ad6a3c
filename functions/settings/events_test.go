package main

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

const route = "/v1/settings/right-to-be-forgotten"

// routes are the routes the function serves.
var routes = []apigwtest.Route{{Key: "GET " + route}, {Key: "PUT " + route, Body: true}}

// TestEvents runs every sample event of the function
// (events/settings-*.json): each decodes strictly into the handler's
// input, is what API Gateway sends on one of the routes from the caller it
// names, and, replayed against the seeded setting, gets the answer and
// leaves the stored setting want gives.
func TestEvents(t *testing.T) {
	type expect struct {
		status  int
		code    string           // the error code; "" for success
		setting *erasure.Setting // the stored setting after; nil: unchanged
	}
	want := map[string]expect{
		"settings-get-owner":        {http.StatusOK, "", nil},
		"settings-put-enable-owner": {http.StatusOK, "", ptr(enabledBy(true, "pr-owner"))},
		"settings-put-member":       {http.StatusForbidden, identity.EForbidden, nil},
		"settings-get-client":       {http.StatusForbidden, identity.EForbidden, nil},
	}
	apigwtest.EachEvent(t, "settings", want, func(t *testing.T, path string, w expect) {
		req := apigwtest.DecodeEvent(t, path)
		apigwtest.CheckRequest(t, path, req, "", routes...)

		h, mem := newHandler(t)
		resp := apigwtest.Call(t, h.Handle, req, w.status)
		stored := seeded()
		if w.setting != nil {
			stored = *w.setting
		}
		if got := setting(t, mem, "prac-demo"); !reflect.DeepEqual(got, stored) {
			t.Errorf("stored setting: got %+v, want %+v", got, stored)
		}
		if w.code != "" {
			apigwtest.CheckError(t, resp, w.code)
			return
		}
		checkSetting(t, resp, stored)
	})
}
