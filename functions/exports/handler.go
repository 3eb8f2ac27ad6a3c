package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/export"
)

// Handler serves POST /v1/clients/{clientId}/exports and
// GET /v1/clients/{clientId}/exports/{exportId}.
type Handler struct {
	svc *export.Requests
	log *slog.Logger
}

func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	status, location, body, err := h.serve(ctx, req)
	if err != nil {
		return apigw.Error(ctx, h.log, err), nil
	}
	resp := apigw.JSON(status, body)
	if location != "" {
		resp.Headers["Location"] = location
	}
	return resp, nil
}

func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (int, string, any, error) {
	actor, err := apigw.Actor(req)
	if err != nil {
		return 0, "", nil, err
	}
	// Who may use the routes at all, before anything of the request is read.
	if err := export.RequirePractitioner(actor); err != nil {
		return 0, "", nil, err
	}
	clientID := req.PathParameters["clientId"]
	exportID, one := req.PathParameters["exportId"]
	switch m := apigw.Method(req); {
	case m == http.MethodPost && !one:
		if err := export.CheckID("clientId", clientID); err != nil {
			return 0, "", nil, err
		}
		if strings.TrimSpace(req.Body) != "" {
			// No body is needed; one that is sent must be an empty object.
			var none struct{}
			if err := apigw.DecodeJSON(req, &none); err != nil {
				return 0, "", nil, err
			}
		}
		e, created, err := h.svc.Request(ctx, actor, clientID)
		if err != nil {
			return 0, "", nil, err
		}
		location := "/v1/clients/" + e.ClientID + "/exports/" + e.ID
		status := http.StatusAccepted
		if !created {
			// An export of the client is still to finish: that one.
			status = http.StatusOK
		}
		return status, location, apigw.NewExportView(export.View{Export: e}), nil
	case m == http.MethodGet && one:
		v, err := h.svc.Get(ctx, actor, clientID, exportID)
		if err != nil {
			return 0, "", nil, err
		}
		return http.StatusOK, "", apigw.NewExportView(v), nil
	default:
		return 0, "", nil, apigw.MethodNotAllowed(m)
	}
}
