package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wellness-rtbf/rtbf/internal/apigw"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/metrics"
)

// Handler serves GET, POST and DELETE /v1/portal/account-deletion.
type Handler struct {
	svc *erasure.ClientRequests
	log *slog.Logger
	// metrics receives the requests accepted and cancelled (nil: nothing).
	metrics *metrics.Writer
}

type postBody struct {
	Confirm *bool `json:"confirm"`
}

func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	status, body, err := h.serve(ctx, req)
	if err != nil {
		return apigw.Error(ctx, h.log, err), nil
	}
	return apigw.JSON(status, body), nil
}

func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (int, any, error) {
	actor, err := apigw.Actor(req)
	if err != nil {
		return 0, nil, err
	}
	switch m := apigw.Method(req); m {
	case http.MethodGet:
		v, err := h.svc.Portal(ctx, actor)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, apigw.NewPortalView(v), nil
	case http.MethodPost:
		if err := identity.RequireClient(actor); err != nil {
			return 0, nil, err
		}
		var body postBody
		if err := apigw.DecodeJSON(req, &body); err != nil {
			return 0, nil, err
		}
		if body.Confirm == nil || !*body.Confirm {
			return 0, nil, identity.Errorf(identity.EConfirmationRequired, `send {"confirm":true} to confirm that the account's content should be deleted`)
		}
		r, created, err := h.svc.RequestDeletion(ctx, actor)
		if err != nil {
			return 0, nil, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusAccepted
			h.emit(ctx, r.RequestedAt, metrics.RequestsAccepted.Of(1))
		}
		return status, apigw.NewRequestView(r), nil
	case http.MethodDelete:
		r, cancelled, err := h.svc.CancelDeletion(ctx, actor)
		if err != nil {
			return 0, nil, err
		}
		// Counted by the call that cancelled, not by one that finds it
		// cancelled by another or before.
		if cancelled {
			h.emit(ctx, *r.CancelledAt, metrics.RequestsCancelled.Of(1))
		}
		return http.StatusOK, apigw.NewRequestView(r), nil
	default:
		return 0, nil, apigw.MethodNotAllowed(m)
	}
}

// emit writes a metric line; a line that cannot be written is logged and
// changes no answer.
func (h *Handler) emit(ctx context.Context, at time.Time, samples ...metrics.Sample) {
	if err := h.metrics.Emit(at, samples...); err != nil {
		h.log.WarnContext(ctx, "write metrics", "err", err)
	}
}
