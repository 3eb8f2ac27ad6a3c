package apigw

import (
	"time"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// The JSON shapes of the API (README, "API"). Times are RFC 3339 in UTC.

// SettingView is the Right To Be Forgotten setting.
type SettingView struct {
	Enabled   bool       `json:"enabled"`
	UpdatedAt *time.Time `json:"updatedAt"`
	UpdatedBy *string    `json:"updatedBy"`
}

func NewSettingView(s erasure.Setting) SettingView {
	v := SettingView{Enabled: s.Enabled}
	if s.UpdatedAt != nil {
		t := s.UpdatedAt.UTC()
		v.UpdatedAt = &t
	}
	if s.UpdatedBy != "" {
		by := s.UpdatedBy
		v.UpdatedBy = &by
	}
	return v
}

// RequestView is a deletion request as its client sees it.
type RequestView struct {
	ID          string         `json:"id"`
	Status      erasure.Status `json:"status"`
	RequestedAt time.Time      `json:"requestedAt"`
	PurgeAt     time.Time      `json:"purgeAt"`
	WillDelete  erasure.Counts `json:"willDelete"`
}

func NewRequestView(r erasure.Request) RequestView {
	return RequestView{ID: r.ID, Status: r.Status, RequestedAt: r.RequestedAt.UTC(), PurgeAt: r.PurgeAt.UTC(), WillDelete: r.WillDelete}
}

// PortalView is what the client portal shows under My Profile.
type PortalView struct {
	Available bool         `json:"available"`
	Request   *RequestView `json:"request"`
}

func NewPortalView(p erasure.PortalView) PortalView {
	v := PortalView{Available: p.Available}
	if p.Request != nil {
		rv := NewRequestView(*p.Request)
		v.Request = &rv
	}
	return v
}

// NotificationView is one of a practitioner's notifications.
type NotificationView struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	RequestID  string         `json:"requestId"`
	ClientID   string         `json:"clientId"`
	ClientName string         `json:"clientName"`
	CreatedAt  time.Time      `json:"createdAt"`
	PurgeAt    time.Time      `json:"purgeAt"`
	Counts     erasure.Counts `json:"counts"`
	Message    string         `json:"message"`
	Read       bool           `json:"read"`
}

func NewNotificationView(n erasure.Notification) NotificationView {
	return NotificationView{
		ID: n.ID, Kind: n.Kind, RequestID: n.RequestID, ClientID: n.ClientID, ClientName: n.ClientName,
		CreatedAt: n.CreatedAt.UTC(), PurgeAt: n.PurgeAt.UTC(), Counts: n.Counts, Message: n.Message, Read: n.Read,
	}
}

// NotificationsPage is a page of notifications; NextToken is null on the
// last page.
type NotificationsPage struct {
	Notifications []NotificationView `json:"notifications"`
	NextToken     *string            `json:"nextToken"`
}

// TimelineEvent is one step of a deletion request's life.
type TimelineEvent struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
}

// ReceiptView is what a finished purge leaves: no personal content.
// SkippedObjects counts the object keys the client's documents pointed to
// outside the client's folder, which the purge left; UnresolvedObjects
// those in it that S3 refused to delete for good, or that no object can
// have (a request needs_attention has some; the keys are on the request's
// item, for operators).
type ReceiptView struct {
	Deleted           erasure.Counts `json:"deleted"`
	SkippedObjects    int            `json:"skippedObjects"`
	UnresolvedObjects int            `json:"unresolvedObjects"`
	PurgeStartedAt    *time.Time     `json:"purgeStartedAt"`
	CompletedAt       *time.Time     `json:"completedAt"`
	BackupsClearBy    *time.Time     `json:"backupsClearBy"`
	Invocations       int            `json:"invocations"`
}

// PracticeRequestView is a deletion request as the practice sees it.
type PracticeRequestView struct {
	ID          string          `json:"id"`
	ClientID    string          `json:"clientId"`
	Status      erasure.Status  `json:"status"`
	RequestedAt time.Time       `json:"requestedAt"`
	PurgeAt     time.Time       `json:"purgeAt"`
	WillDelete  erasure.Counts  `json:"willDelete"`
	Timeline    []TimelineEvent `json:"timeline"`
	Receipt     *ReceiptView    `json:"receipt"`
}

// NewPracticeRequestView builds the view with its timeline: requested,
// practitioners told, purge scheduled for, purge started, needs attention
// (while it does), completed, backups clear by (or cancelled), each once
// it has happened (the purge date always, as the plan, once scheduled).
func NewPracticeRequestView(r erasure.Request) PracticeRequestView {
	v := PracticeRequestView{
		ID: r.ID, ClientID: r.ClientID, Status: r.Status, RequestedAt: r.RequestedAt.UTC(), PurgeAt: r.PurgeAt.UTC(),
		WillDelete: r.WillDelete,
	}
	add := func(event string, at *time.Time) {
		if at != nil {
			v.Timeline = append(v.Timeline, TimelineEvent{Event: event, At: at.UTC()})
		}
	}
	requested, purgeAt := r.RequestedAt, r.PurgeAt
	add("requested", &requested)
	add("practitioners_told", r.DeliveredAt(erasure.DeliveryPractitionersRequested))
	add("cancelled", r.CancelledAt)
	if r.Status != erasure.StatusCancelled && r.Status != erasure.StatusAccepting {
		// Only a scheduled request has a schedule to claim.
		add("purge_scheduled_for", &purgeAt)
	}
	add("purge_started", r.PurgeStartedAt)
	if r.Status == erasure.StatusNeedsAttention {
		add("needs_attention", r.SetAsideAt)
	}
	add("completed", r.CompletedAt)
	add("backups_clear_by", r.BackupsClearBy())
	if r.Status == erasure.StatusCompleted || r.Status == erasure.StatusNeedsAttention {
		v.Receipt = &ReceiptView{Deleted: r.Deleted, SkippedObjects: len(r.SkippedObjects), UnresolvedObjects: len(r.UnresolvedObjects),
			PurgeStartedAt: r.PurgeStartedAt, CompletedAt: r.CompletedAt, BackupsClearBy: r.BackupsClearBy(), Invocations: r.Invocations}
	}
	return v
}

// PracticeRequestsPage is a page of a practice's deletion requests.
type PracticeRequestsPage struct {
	Requests  []PracticeRequestView `json:"requests"`
	NextToken *string               `json:"nextToken"`
}
