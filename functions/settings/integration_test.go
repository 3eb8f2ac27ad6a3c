//go:build integration

package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
)

func settingsEvent(method, body string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: method + " /v1/settings/right-to-be-forgotten",
		RawPath:  "/v1/settings/right-to-be-forgotten",
		Headers:  map[string]string{"content-type": "application/json"},
		Body:     body,
	}
	req.RequestContext.HTTP.Method = method
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

// TestSettings_Emulator runs every route with every role against the
// table in the emulator, in order: the setting is off until the owner
// turns it on, and nobody else can.
func TestSettings_Emulator(t *testing.T) {
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	h, err := build(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	pid := "prac-" + emulatortest.Suffix()
	owner := map[string]string{"sub": "pr-owner", "custom:role": "practitioner", "custom:practice_id": pid, "custom:team_role": "owner"}
	member := map[string]string{"sub": "pr-member", "custom:role": "practitioner", "custom:practice_id": pid, "custom:team_role": "member"}
	client := map[string]string{"sub": "cl-sub", "custom:role": "client", "custom:practice_id": pid, "custom:client_id": "cl-1"}
	otherOwner := map[string]string{"sub": "pr-x", "custom:role": "practitioner", "custom:practice_id": "prac-other-" + pid, "custom:team_role": "owner"}
	// The practices' records: pid's owner and member, and the other
	// practice's owner.
	store := dynamostore.New(st.DynamoDB, st.Table)
	for _, it := range []any{
		dynamostore.PracticeItem{PK: dynamostore.PracticePK(pid), SK: dynamostore.PracticeSK, Name: "P", OwnerID: "pr-owner"},
		dynamostore.PractitionerItem{PK: dynamostore.PracticePK(pid), SK: dynamostore.PractitionerSK("pr-owner"), ID: "pr-owner", TeamRole: "owner"},
		dynamostore.PractitionerItem{PK: dynamostore.PracticePK(pid), SK: dynamostore.PractitionerSK("pr-member"), ID: "pr-member", TeamRole: "member"},
		dynamostore.PractitionerItem{PK: dynamostore.PracticePK("prac-other-" + pid), SK: dynamostore.PractitionerSK("pr-x"), ID: "pr-x", TeamRole: "owner"},
	} {
		if err := store.Put(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		want   string // the body, or the error code
	}{
		{"OK/DefaultOff", settingsEvent("GET", "", owner), 200, `{"enabled":false,"updatedAt":null,"updatedBy":null}`},
		{"OK/MemberReads", settingsEvent("GET", "", member), 200, `{"enabled":false,"updatedAt":null,"updatedBy":null}`},
		{"ErrForbidden/MemberWrites", settingsEvent("PUT", `{"enabled":true}`, member), 403, "forbidden"},
		{"ErrForbidden/ClientReads", settingsEvent("GET", "", client), 403, "forbidden"},
		{"ErrForbidden/ClientWrites", settingsEvent("PUT", `{"enabled":true}`, client), 403, "forbidden"},
		{"ErrUnauthorized", settingsEvent("PUT", `{"enabled":true}`, nil), 401, "unauthorized"},
		{"ErrInvalid/WrongType", settingsEvent("PUT", `{"enabled":"yes"}`, owner), 400, "invalid_request"},
		{"ErrInvalid/Missing", settingsEvent("PUT", `{}`, owner), 400, "invalid_request"},
		{"OK/StillOff", settingsEvent("GET", "", owner), 200, `{"enabled":false,"updatedAt":null,"updatedBy":null}`},
		{"OK/OwnerEnables", settingsEvent("PUT", `{"enabled":true}`, owner), 200, "enabled"},
		{"OK/OtherPracticeUntouched", settingsEvent("GET", "", otherOwner), 200, `{"enabled":false,"updatedAt":null,"updatedBy":null}`},
		{"OK/OwnerDisables", settingsEvent("PUT", `{"enabled":false}`, owner), 200, "disabled"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			resp, err := h.Handle(context.Background(), s.req)
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			if resp.StatusCode != s.status {
				t.Fatalf("got status %d (%s), want %d", resp.StatusCode, resp.Body, s.status)
			}
			var body struct {
				Enabled   bool    `json:"enabled"`
				UpdatedAt *string `json:"updatedAt"`
				UpdatedBy *string `json:"updatedBy"`
				Error     struct{ Code string }
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body is not JSON: %s", resp.Body)
			}
			switch {
			case s.status != 200:
				if body.Error.Code != s.want {
					t.Fatalf("got code %q, want %q", body.Error.Code, s.want)
				}
			case s.want == "enabled" || s.want == "disabled":
				if body.Enabled != (s.want == "enabled") || body.UpdatedAt == nil || body.UpdatedBy == nil || *body.UpdatedBy != "pr-owner" {
					t.Fatalf("got %s, want %s by pr-owner with a time", resp.Body, s.want)
				}
				// Read back through a fresh GET: the write is stored.
				got, _ := h.Handle(context.Background(), settingsEvent("GET", "", member))
				if got.Body != resp.Body {
					t.Fatalf("GET after PUT: got %s, want %s", got.Body, resp.Body)
				}
			default:
				if resp.Body != s.want {
					t.Fatalf("got %s, want %s", resp.Body, s.want)
				}
			}
		})
	}
	s, err := dynamostore.New(st.DynamoDB, st.Table).GetSetting(context.Background(), pid)
	if err != nil || s.Enabled || s.UpdatedBy != "pr-owner" {
		t.Fatalf("stored setting: got %+v %v, want off, changed by pr-owner", s, err)
	}
}
