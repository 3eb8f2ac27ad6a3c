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

// Handler serves GET /v1/deletion-requests, GET /v1/deletion-requests/{id},
// GET /v1/deletion-requests/{id}/certificate and
// GET /v1/erasure-certificates/public-key.
type Handler struct {
	svc   *erasure.PracticeRequests
	certs *erasure.Certificates
	log   *slog.Logger
}

// The routes of the certificates, told apart by the route API Gateway
// matched.
const (
	routeCertificate = "GET /v1/deletion-requests/{id}/certificate"
	routePublicKey   = "GET /v1/erasure-certificates/public-key"
)

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
	switch req.RouteKey {
	case routeCertificate:
		// The certificate as the ledger keeps it: a document anyone can
		// verify offline (README, "Erasure certificates").
		return h.certs.ErasureCertificate(ctx, actor, req.PathParameters["id"])
	case routePublicKey:
		return h.certs.PublicKey(ctx, actor)
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
