//go:build integration

package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
)

// env is one test's stack with the worker's handler, built by the
// function's own wiring from its environment, and the API's service (what
// POST and GET /v1/clients/{clientId}/exports call) on the same stack.
type env struct {
	st     *emulatortest.Stack
	store  *dynamostore.Store
	h      *Handler
	api    *export.Requests
	x      *dynamostore.Exports
	faults *emulatortest.Faults
}

func setup(t *testing.T) *env {
	t.Helper()
	st := emulatortest.Provision(t)
	emulatortest.SetFunctionEnv(t, st)
	faults := emulatortest.NewFaults()
	h, err := build(context.Background(), slog.New(slog.DiscardHandler), emulatortest.Through(faults))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	x := dynamostore.NewExports(st.DynamoDB, st.Table)
	api := export.NewRequests(x, x, x,
		oneshot.New(st.Scheduler, oneshot.Config{Group: st.ScheduleGroup, TargetARN: st.ExportWorkerARN,
			RoleARN: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN}),
		s3objects.NewArchives(st.S3, st.ExportsBucket), export.Downloads{}, erasure.Options{Log: slog.New(slog.DiscardHandler)})
	return &env{st: st, store: dynamostore.New(st.DynamoDB, st.Table), h: h, api: api, x: x, faults: faults}
}

// scheduled asks for an export of the client as its practice's owner and
// returns the input its schedule will deliver.
func (e *env) scheduled(t *testing.T, p emulatortest.Practice, clientID string) (export.Export, json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	a, err := identity.NewActor(p.OwnerID, identity.RolePractitioner, p.ID, "", identity.TeamOwner)
	if err != nil {
		t.Fatal(err)
	}
	ex, _, err := e.api.Request(ctx, a, clientID)
	if err != nil {
		t.Fatalf("request export: %v", err)
	}
	sc, err := e.st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(ex.ScheduleName), GroupName: &e.st.ScheduleGroup})
	if err != nil {
		t.Fatalf("get schedule: %v", err)
	}
	return ex, json.RawMessage(aws.ToString(sc.Target.Input))
}

// TestExportWorker_Emulator delivers an export's schedule input to the
// worker's handler, then downloads the archive through the URL the API
// hands out, and compares every file with the client's seeded file. A
// second delivery changes nothing.
func TestExportWorker_Emulator(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	p := emulatortest.SeedPractice(t, e.st, e.store, "prac-"+emulatortest.Suffix())
	file := emulatortest.SeedExportFile(t, e.st, e.store, p, "cl-ava", "cl-ben")
	ex, input := e.scheduled(t, p, "cl-ava")

	res, err := e.h.Handle(ctx, input)
	if err != nil || res.ExportID != ex.ID || res.Status != export.StatusReady || res.Counts == nil || *res.Counts != file.Counts {
		t.Fatalf("worker: got %+v, %v; want ready with %+v", res, err, file.Counts)
	}
	a, _ := identity.NewActor(p.MemberID, identity.RolePractitioner, p.ID, "", identity.TeamMember)
	v, err := e.api.Get(ctx, a, "cl-ava", ex.ID)
	if err != nil || v.Status != export.StatusReady || v.DownloadURL == "" {
		t.Fatalf("get: got %+v, %v; want ready with a URL", v, err)
	}
	archive := emulatortest.Download(t, v.DownloadURL)
	if int64(len(archive)) != res.SizeBytes {
		t.Errorf("got %d bytes, want sizeBytes %d", len(archive), res.SizeBytes)
	}
	file.CheckArchive(t, archive, ex.ID)

	ups, err := e.st.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &e.st.ExportsBucket})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("got %d unfinished uploads (%v), want none", len(ups.Uploads), err)
	}

	again, err := e.h.Handle(ctx, input)
	if err != nil || again.Status != export.StatusReady || *again.Counts != file.Counts {
		t.Fatalf("second delivery: got %+v, %v", again, err)
	}
	rec, err := e.x.GetExport(ctx, ex.ID)
	if err != nil || rec.Attempts != 1 || !rec.CompletedAt.Equal(*v.CompletedAt) {
		t.Errorf("after a second delivery: got %+v, %v; want the first attempt's record", rec, err)
	}
}

// TestExportWorker_ForeignPointers: documents in the client's file whose
// file is outside the client's folder (another client's, another
// practice's, a prefix sibling's), uploaded by the client or shared by a
// practitioner, are left out of the archive and listed in its manifest;
// nothing of those files reaches it, and the worker changes nothing but
// the export's record.
func TestExportWorker_ForeignPointers(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	p := emulatortest.SeedPractice(t, e.st, e.store, "prac-"+emulatortest.Suffix())
	file := emulatortest.SeedExportFile(t, e.st, e.store, p, "cl-ava", "cl-ben")
	foreign := emulatortest.SeedForeignPointers(t, e.st, e.store, p, "cl-ava", "cl-ben")
	file.SkippedDocuments = foreign.SkippedDocuments
	ex, input := e.scheduled(t, p, "cl-ava")
	items, versions := emulatortest.TakeSnapshot(t, e.st), emulatortest.ObjectVersions(t, e.st)

	res, err := e.h.Handle(ctx, input)
	if err != nil || res.Status != export.StatusReady || res.Counts == nil || *res.Counts != file.Counts {
		t.Fatalf("worker: got %+v, %v; want ready with %+v", res, err, file.Counts)
	}
	a, _ := identity.NewActor(p.OwnerID, identity.RolePractitioner, p.ID, "", identity.TeamOwner)
	v, err := e.api.Get(ctx, a, "cl-ava", ex.ID)
	if err != nil || v.DownloadURL == "" {
		t.Fatalf("get: got %+v, %v; want ready with a URL", v, err)
	}
	file.CheckArchive(t, emulatortest.Download(t, v.DownloadURL), ex.ID)

	if got := emulatortest.ObjectVersions(t, e.st); !reflect.DeepEqual(got, versions) {
		t.Errorf("documents bucket: got %v, want it as it was: %v", got, versions)
	}
	after := emulatortest.TakeSnapshot(t, e.st)
	record := erasure.ItemKey{PK: dynamostore.ExportPK(ex.ID), SK: dynamostore.ExportSK}
	delete(after, record)
	delete(items, record)
	if !reflect.DeepEqual(after, items) {
		t.Error("the export changed the table beyond its own record")
	}
}

// TestExportWorker_Interrupted: S3 refuses a part; the upload is aborted,
// the handler returns an error (so Lambda retries), and the retry writes
// the whole archive.
func TestExportWorker_Interrupted(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	p := emulatortest.SeedPractice(t, e.st, e.store, "prac-"+emulatortest.Suffix())
	file := emulatortest.SeedExportFile(t, e.st, e.store, p, "cl-ava", "cl-ben")
	ex, input := e.scheduled(t, p, "cl-ava")

	e.faults.Fail(1, http.StatusBadRequest, func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2"
	})
	if _, err := e.h.Handle(ctx, input); err == nil {
		t.Fatal("got nil, want the failure returned for Lambda to retry")
	}
	ups, err := e.st.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &e.st.ExportsBucket})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("got %d unfinished uploads (%v), want the failed one aborted", len(ups.Uploads), err)
	}
	rec, _ := e.x.GetExport(ctx, ex.ID)
	if rec.Status != export.StatusRunning || rec.Attempts != 1 {
		t.Fatalf("after the failure: got %+v, want running, attempt 1", rec)
	}

	res, err := e.h.Handle(ctx, input)
	if err != nil || res.Status != export.StatusReady {
		t.Fatalf("retry: got %+v, %v", res, err)
	}
	a, _ := identity.NewActor(p.OwnerID, identity.RolePractitioner, p.ID, "", identity.TeamOwner)
	v, err := e.api.Get(ctx, a, "cl-ava", ex.ID)
	if err != nil || v.Attempts != 2 {
		t.Fatalf("get: got %+v, %v; want ready after 2 attempts", v, err)
	}
	file.CheckArchive(t, emulatortest.Download(t, v.DownloadURL), ex.ID)
	if v.DownloadURLExpiresAt == nil || time.Until(*v.DownloadURLExpiresAt) > 15*time.Minute {
		t.Errorf("URL expiry: got %v, want within 15 minutes", v.DownloadURLExpiresAt)
	}
}
