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

// Handler serves GET /v1/deletion-requests and
// GET /v1/deletion-requests/{id}.
type Handler struct {
	svc *erasure.PracticeRequests
	log *slog.Logger
}

func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body, err := h.serve(ctx, req)
	if err != nil {
		return apigw.Error(ctx, h.log, err), nil
	}
	return apigw.JSON(http.StatusOK, body), nil
}

func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (any, error) {
	actor, err := apigw.Actor(req)
	if err != nil {
		return nil, err
	}
	if m := apigw.Method(req); m != http.MethodGet {
		return nil, apigw.MethodNotAllowed(m)
	}
	// The role before the query: a caller who may not use the route
	// learns only that.
	if err := identity.RequirePractitioner(actor); err != nil {
		return nil, err
	}
	if id, ok := req.PathParameters["id"]; ok {
		r, err := h.svc.GetDeletionRequest(ctx, actor, id)
		if err != nil {
			return nil, err
		}
		return apigw.NewPracticeRequestView(r), nil
	}
	q := req.QueryStringParameters
	limit, err := apigw.PageLimit(req)
	if err != nil {
		return nil, err
	}
	token, err := apigw.PageToken(req)
	if err != nil {
		return nil, err
	}
	rs, next, err := h.svc.ListDeletionRequests(ctx, actor, erasure.Status(q["status"]), limit, token)
	if err != nil {
		return nil, err
	}
	page := apigw.PracticeRequestsPage{Requests: make([]apigw.PracticeRequestView, 0, len(rs))}
	for _, r := range rs {
		page.Requests = append(page.Requests, apigw.NewPracticeRequestView(r))
	}
	if next != "" {
		page.NextToken = &next
	}
	return page, nil
}
