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
