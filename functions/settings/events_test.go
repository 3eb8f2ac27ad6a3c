package main

import (
	"net/http"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
)

const route = "/v1/settings/right-to-be-forgotten"

// TestEvents checks every sample event of the function.
func TestEvents(t *testing.T) {
	apigwtest.CheckEvents(t, "settings", route, http.MethodGet, http.MethodPut)
}
