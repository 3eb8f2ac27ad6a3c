package main

import (
	"net/http"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
)

const route = "/v1/portal/account-deletion"

// TestEvents checks every sample event of the function.
func TestEvents(t *testing.T) {
	apigwtest.CheckEvents(t, "deletionrequest", route, http.MethodGet, http.MethodDelete, http.MethodPost)
}
