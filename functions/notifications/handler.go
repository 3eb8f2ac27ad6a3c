package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// Handler serves GET /v1/notifications and
// POST /v1/notifications/{id}/read.
type Handler struct {
	svc *erasure.Notifications
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
	m := apigw.Method(req)
	id, isRead := req.PathParameters["id"]
	if (m == http.MethodGet && !isRead) || (m == http.MethodPost && isRead) {
		// The role before the query or the body: a caller who may not use
		// the route learns only that.
		if err := identity.RequirePractitioner(actor); err != nil {
			return nil, err
		}
	}
	switch {
	case m == http.MethodGet && !isRead:
		limit, err := apigw.PageLimit(req)
		if err != nil {
			return nil, err
		}
		token, err := apigw.PageToken(req)
		if err != nil {
			return nil, err
		}
		ns, next, err := h.svc.ListNotifications(ctx, actor, limit, token)
		if err != nil {
			return nil, err
		}
		page := apigw.NotificationsPage{Notifications: make([]apigw.NotificationView, 0, len(ns))}
		for _, n := range ns {
			page.Notifications = append(page.Notifications, apigw.NewNotificationView(n))
		}
		if next != "" {
			page.NextToken = &next
		}
		return page, nil
	case m == http.MethodPost && isRead:
		if strings.TrimSpace(req.Body) != "" {
			// No body is needed; one that is sent must be an empty object.
			var none struct{}
			if err := apigw.DecodeJSON(req, &none); err != nil {
				return nil, err
			}
		}
		n, err := h.svc.MarkNotificationRead(ctx, actor, id)
		if err != nil {
			return nil, err
		}
		return apigw.NewNotificationView(n), nil
	default:
		return nil, apigw.MethodNotAllowed(m)
	}
}
