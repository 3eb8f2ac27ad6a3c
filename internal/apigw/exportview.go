package apigw

import (
	"time"

	"github.com/wellness-rtbf/rtbf/internal/export"
)

// ExportView is an export of a client's file (README, "Export of a
// client's file"). Counts and sizeBytes come once it is ready, the
// download URL while its archive is kept. Why an export failed is
// recorded (a code), not shown.
type ExportView struct {
	ExportID             string         `json:"exportId"`
	ClientID             string         `json:"clientId"`
	Status               export.Status  `json:"status"`
	RequestedAt          time.Time      `json:"requestedAt"`
	CompletedAt          *time.Time     `json:"completedAt,omitempty"`
	Counts               *export.Counts `json:"counts,omitempty"`
	SizeBytes            *int64         `json:"sizeBytes,omitempty"`
	DownloadURL          string         `json:"downloadUrl,omitempty"`
	DownloadURLExpiresAt *time.Time     `json:"downloadUrlExpiresAt,omitempty"`
}

func NewExportView(v export.View) ExportView {
	e := v.Export
	out := ExportView{ExportID: e.ID, ClientID: e.ClientID, Status: e.Status, RequestedAt: e.RequestedAt.UTC()}
	if e.CompletedAt != nil && e.Status.Done() {
		t := e.CompletedAt.UTC()
		out.CompletedAt = &t
	}
	if e.Status == export.StatusReady {
		counts, size := e.Counts, e.SizeBytes
		out.Counts, out.SizeBytes = &counts, &size
	}
	if v.DownloadURL != "" && v.DownloadURLExpiresAt != nil {
		t := v.DownloadURLExpiresAt.UTC()
		out.DownloadURL, out.DownloadURLExpiresAt = v.DownloadURL, &t
	}
	return out
}
