package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Handler serves GET and PUT /v1/settings/right-to-be-forgotten.
type Handler struct {
	svc *erasure.Settings
	log *slog.Logger
}

type putBody struct {
	Enabled *bool `json:"enabled"`
}

// Handle answers every request with a response; mapped errors are never
// returned as Go errors.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	s, err := h.serve(ctx, req)
	if err != nil {
		return apigw.Error(ctx, h.log, err), nil
	}
	return apigw.JSON(http.StatusOK, apigw.NewSettingView(s)), nil
}

func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (erasure.Setting, error) {
	actor, err := apigw.Actor(req)
	if err != nil {
		return erasure.Setting{}, err
	}
	switch m := apigw.Method(req); m {
	case http.MethodGet:
		return h.svc.GetSetting(ctx, actor)
	case http.MethodPut:
		if err := identity.RequireOwner(actor); err != nil {
			return erasure.Setting{}, err
		}
		var body putBody
		if err := apigw.DecodeJSON(req, &body); err != nil {
			return erasure.Setting{}, err
		}
		if body.Enabled == nil {
			return erasure.Setting{}, identity.Errorf(identity.EInvalid, `field "enabled" (true or false) is required`)
		}
		return h.svc.PutSetting(ctx, actor, *body.Enabled)
	default:
		return erasure.Setting{}, apigw.MethodNotAllowed(m)
	}
}
