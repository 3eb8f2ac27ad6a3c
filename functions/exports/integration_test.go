//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/wellness-rtbf/rtbf/internal/apigw/apigwtest"
	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/emulatortest"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/oneshot"
	"github.com/wellness-rtbf/rtbf/internal/porttest"
	"github.com/wellness-rtbf/rtbf/internal/s3objects"
)

// env is one test's stack, seeded practice and handler built by the
// function's own wiring (build) from its environment.
type env struct {
	st       *emulatortest.Stack
	store    *dynamostore.Store
	practice emulatortest.Practice
	h        *Handler
	faults   *emulatortest.Faults
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
	store := dynamostore.New(st.DynamoDB, st.Table)
	return &env{st: st, store: store, practice: emulatortest.SeedPractice(t, st, store, "prac-demo"), h: h, faults: faults}
}

// worker is the export worker's service, wired as functions/exportworker
// wires it, on this stack.
func (e *env) worker() *export.Worker {
	x := dynamostore.NewExports(e.st.DynamoDB, e.st.Table)
	return export.NewWorker(x, x, s3objects.NewFiles(e.st.S3, e.st.Bucket),
		s3objects.NewArchives(e.st.S3, e.st.ExportsBucket), export.WorkerConfig{}, erasure.Options{Log: slog.New(slog.DiscardHandler)})
}

// requestDeletion makes the client's deletion request, as the portal
// does: the purge is scheduled 30 days out.
func (e *env) requestDeletion(t *testing.T, clientID string) erasure.Request {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := e.store.PutSetting(ctx, erasure.Setting{PracticeID: e.practice.ID, Enabled: true, UpdatedAt: &now, UpdatedBy: e.practice.OwnerID}); err != nil {
		t.Fatal(err)
	}
	svc := erasure.NewClientRequests(e.store, e.store, e.store, e.store, e.store,
		porttest.NewScheduler(), &porttest.Mailer{}, 0, erasure.Options{Log: slog.New(slog.DiscardHandler)})
	a, err := identity.NewActor(clientID+"-sub", identity.RoleClient, e.practice.ID, clientID, "")
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := svc.RequestDeletion(ctx, a)
	if err != nil || r.Status != erasure.StatusScheduled {
		t.Fatalf("request deletion: got %+v, %v", r, err)
	}
	return r
}

// TestExports_Emulator is the export from end to end on DynamoDB, S3 and
// Scheduler: a practitioner asks for the file of a client whose deletion
// is pending; the one-shot schedule is read back as Scheduler would fire
// it and the worker runs with its input; the GET then gives a pre-signed
// URL, and the archive downloaded through it is exactly the client's file.
// A second delivery changes nothing; the table holds nothing new but the
// export's record.
func TestExports_Emulator(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	file := emulatortest.SeedExportFile(t, e.st, e.store, e.practice, "cl-ava", "cl-ben")
	deletion := e.requestDeletion(t, "cl-ava")
	before := emulatortest.TakeSnapshot(t, e.st)
	owner := practitioner(e.practice.ID, e.practice.OwnerID, "owner")
	member := practitioner(e.practice.ID, e.practice.MemberID, "member")

	asked := time.Now().UTC()
	resp, body := apigwtest.CallJSON(t, e.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, "{}"))
	if resp.StatusCode != 202 || body["status"] != "pending" || body["clientId"] != "cl-ava" {
		t.Fatalf("POST: got %d %v, want 202 pending", resp.StatusCode, body)
	}
	id, _ := body["exportId"].(string)
	if resp.Headers["Location"] != "/v1/clients/cl-ava/exports/"+id {
		t.Errorf("Location: got %q", resp.Headers["Location"])
	}
	if resp, body := apigwtest.CallJSON(t, e.h.Handle, request("GET", "/v1/clients/cl-ava/exports/"+id, member, "")); resp.StatusCode != 200 || body["status"] != "pending" || body["downloadUrl"] != nil {
		t.Fatalf("GET before the worker: got %d %v, want 200 pending without a URL", resp.StatusCode, body)
	}

	// The schedule, as Scheduler holds it.
	sc, err := e.st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(export.ScheduleName(id)), GroupName: &e.st.ScheduleGroup})
	if err != nil {
		t.Fatalf("get schedule: %v", err)
	}
	at, err := time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(strings.TrimPrefix(aws.ToString(sc.ScheduleExpression), "at("), ")"))
	if err != nil || at.Second() != 0 || !at.After(asked) || at.Sub(asked) > 2*time.Minute || aws.ToString(sc.ScheduleExpressionTimezone) != "UTC" {
		t.Errorf("schedule expression %q (%s): want at() the next whole minute, UTC", aws.ToString(sc.ScheduleExpression), aws.ToString(sc.ScheduleExpressionTimezone))
	}
	if sc.ActionAfterCompletion != schedtypes.ActionAfterCompletionDelete || sc.FlexibleTimeWindow == nil || sc.FlexibleTimeWindow.Mode != schedtypes.FlexibleTimeWindowModeOff {
		t.Errorf("schedule: got after-completion %q, window %+v; want DELETE, OFF", sc.ActionAfterCompletion, sc.FlexibleTimeWindow)
	}
	tg := sc.Target
	if tg == nil || aws.ToString(tg.Arn) != e.st.ExportWorkerARN || aws.ToString(tg.RoleArn) != e.st.SchedulerRole ||
		tg.DeadLetterConfig == nil || aws.ToString(tg.DeadLetterConfig.Arn) != e.st.DeadLetterARN ||
		tg.RetryPolicy == nil || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 185 {
		t.Fatalf("schedule target: got %+v, want the worker with the role, retries and the dead-letter queue", tg)
	}
	var in oneshot.ExportInput
	if err := json.Unmarshal([]byte(aws.ToString(tg.Input)), &in); err != nil || in.ExportID != id {
		t.Fatalf("schedule input: got %s, want {\"exportId\":%q}", aws.ToString(tg.Input), id)
	}

	// The schedule fires: the worker runs with its input.
	done, err := e.worker().Run(ctx, in.ExportID)
	if err != nil || done.Status != export.StatusReady || done.Counts != file.Counts {
		t.Fatalf("worker: got %+v, %v; want ready with %+v", done, err, file.Counts)
	}

	resp, body = apigwtest.CallJSON(t, e.h.Handle, request("GET", "/v1/clients/cl-ava/exports/"+id, member, ""))
	if resp.StatusCode != 200 || body["status"] != "ready" {
		t.Fatalf("GET: got %d %v, want 200 ready", resp.StatusCode, body)
	}
	url, _ := body["downloadUrl"].(string)
	expires, _ := time.Parse(time.RFC3339, body["downloadUrlExpiresAt"].(string))
	if !strings.Contains(url, "X-Amz-Expires=900") || expires.Sub(time.Now()) > 15*time.Minute || expires.Sub(time.Now()) < 14*time.Minute {
		t.Errorf("download URL %s until %v: want one valid 15 minutes", url, expires)
	}
	counts, _ := body["counts"].(map[string]any)
	if counts["journalEntries"] != float64(file.Counts.JournalEntries) || counts["documents"] != float64(file.Counts.Documents) ||
		counts["chatSessions"] != float64(file.Counts.ChatSessions) || counts["chatMessages"] != float64(file.Counts.ChatMessages) {
		t.Errorf("counts: got %v, want %+v", counts, file.Counts)
	}
	archive := emulatortest.Download(t, url)
	if size, _ := body["sizeBytes"].(float64); int64(size) != int64(len(archive)) || len(archive) < emulatortest.BigDocument {
		t.Errorf("sizeBytes: got %v, downloaded %d bytes", body["sizeBytes"], len(archive))
	}
	file.CheckArchive(t, archive, id)

	// A second delivery changes nothing.
	head := func() string {
		h, err := e.st.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &e.st.ExportsBucket, Key: aws.String(done.ObjectKey)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(h.ETag) + h.LastModified.String()
	}
	first := head()
	again, err := e.worker().Run(ctx, in.ExportID)
	if err != nil || again.Status != export.StatusReady || again.Attempts != 1 || head() != first {
		t.Errorf("second delivery: got %+v, %v; want the export as it was and the archive untouched", again, err)
	}

	// The table holds what it held, and the export's record.
	after := emulatortest.TakeSnapshot(t, e.st)
	rec := erasure.ItemKey{PK: dynamostore.ExportPK(id), SK: dynamostore.ExportSK}
	if _, ok := after[rec]; !ok {
		t.Errorf("no export record at %v", rec)
	}
	delete(after, rec)
	// And the two items that let the practice ask for one export at a
	// time and count each practitioner's: the client's pointer and the
	// owner's quota.
	for _, k := range []erasure.ItemKey{
		{PK: dynamostore.ClientPK(e.practice.ID, "cl-ava"), SK: dynamostore.ActiveExportSK},
		{PK: dynamostore.PractitionerPK(e.practice.ID, e.practice.OwnerID), SK: dynamostore.ExportQuotaSK},
	} {
		if _, ok := after[k]; !ok {
			t.Errorf("no item at %v", k)
		}
		delete(after, k)
	}
	if !maps.EqualFunc(before, after, func(a, b map[string]ddbtypes.AttributeValue) bool { return reflect.DeepEqual(a, b) }) {
		t.Errorf("the export changed the table beyond its own record (%d items before, %d after)", len(before), len(after))
	}
	// The deletion request is still on course.
	if r, err := e.store.GetRequest(ctx, deletion.ID); err != nil || r.Status != erasure.StatusScheduled {
		t.Errorf("deletion request: got %+v, %v; want it still scheduled", r, err)
	}

	t.Run("Refused", func(t *testing.T) {
		other := emulatortest.SeedPractice(t, e.st, e.store, "prac-other")
		emulatortest.SeedClient(t, e.st, e.store, other, "cl-zed", "Zed", "Z", "")
		otherOwner := practitioner("prac-other", other.OwnerID, "owner")
		client := map[string]string{"sub": "cl-ava-sub", "custom:role": "client", "custom:practice_id": e.practice.ID, "custom:client_id": "cl-ava"}
		for _, tc := range []struct {
			name, method, path string
			claims             map[string]string
			status             int
			code               string
		}{
			{"ErrForbidden/ClientPost", "POST", "/v1/clients/cl-ava/exports", client, 403, identity.EForbidden},
			{"ErrForbidden/ClientGet", "GET", "/v1/clients/cl-ava/exports/" + id, client, 403, identity.EForbidden},
			{"ErrNotFound/UnknownClient", "POST", "/v1/clients/cl-nobody/exports", owner, 404, identity.ENotFound},
			{"ErrNotFound/AnotherPracticesClient", "POST", "/v1/clients/cl-zed/exports", owner, 404, identity.ENotFound},
			{"ErrNotFound/AnotherPracticeAsks", "POST", "/v1/clients/cl-ava/exports", otherOwner, 404, identity.ENotFound},
			{"ErrNotFound/UnknownExport", "GET", "/v1/clients/cl-ava/exports/0123456789abcdef", owner, 404, identity.ENotFound},
			{"ErrNotFound/AnotherClientsPath", "GET", "/v1/clients/cl-ben/exports/" + id, owner, 404, identity.ENotFound},
			{"ErrNotFound/AnotherPracticeReads", "GET", "/v1/clients/cl-ava/exports/" + id, otherOwner, 404, identity.ENotFound},
			{"ErrInvalid/ExportID", "GET", "/v1/clients/cl-ava/exports/a#b", owner, 400, identity.EInvalid},
			{"ErrInvalid/ClientID", "POST", "/v1/clients/cl ava/exports", owner, 400, identity.EInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := ""
				if tc.method == "POST" {
					body = "{}"
				}
				resp, got := apigwtest.CallJSON(t, e.h.Handle, request(tc.method, tc.path, tc.claims, body))
				if er, _ := got["error"].(map[string]any); resp.StatusCode != tc.status || er["code"] != tc.code {
					t.Fatalf("got %d %v, want %d %s", resp.StatusCode, got, tc.status, tc.code)
				}
			})
		}
		if n := countExports(t, e.st); n != 1 {
			t.Errorf("got %d export records, want only the first", n)
		}
	})

	t.Run("ErrUnavailable/RolledBack", func(t *testing.T) {
		// Scheduler refuses: the record goes, the caller is told to retry.
		e.faults.Fail(1, http.StatusBadRequest, emulatortest.Path("/schedules/"))
		defer e.faults.Clear()
		resp, got := apigwtest.CallJSON(t, e.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, ""))
		if er, _ := got["error"].(map[string]any); resp.StatusCode != 503 || er["code"] != identity.EUnavailable || resp.Headers["Retry-After"] == "" {
			t.Fatalf("got %d %v %v, want 503 service_unavailable with Retry-After", resp.StatusCode, got, resp.Headers)
		}
		if n := countExports(t, e.st); n != 1 {
			t.Fatalf("got %d export records, want the new one rolled back", n)
		}
		if resp, got := apigwtest.CallJSON(t, e.h.Handle, request("POST", "/v1/clients/cl-ava/exports", owner, "")); resp.StatusCode != 202 {
			t.Fatalf("retry: got %d %v, want 202", resp.StatusCode, got)
		}
	})
}

func practitioner(practiceID, sub, team string) map[string]string {
	return map[string]string{"sub": sub, "custom:role": "practitioner", "custom:practice_id": practiceID, "custom:team_role": team}
}

// countExports counts the export records in the table.
func countExports(t *testing.T, st *emulatortest.Stack) int {
	t.Helper()
	n := 0
	for k := range emulatortest.TakeSnapshot(t, st) {
		if strings.HasPrefix(k.PK, "EXPORT#") {
			n++
		}
	}
	return n
}

// TestExports_FloodAndQuota: a hundred POSTs for one client at once make one
// export (one 202; every other answers 200 with it), and a practitioner's
// twenty-first distinct export within the hour is 429 with Retry-After and
// changes nothing; another practitioner is not held back.
func TestExports_FloodAndQuota(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	owner := practitioner(e.practice.ID, e.practice.OwnerID, "owner")
	member := practitioner(e.practice.ID, e.practice.MemberID, "member")
	clients := []string{"cl-ava"}
	for i := range export.QuotaLimit {
		clients = append(clients, fmt.Sprintf("cl-q%02d", i))
	}
	for _, c := range clients {
		if err := e.store.Put(ctx, dynamostore.ClientItem{PK: dynamostore.ClientPK(e.practice.ID, c), SK: dynamostore.ProfileSK, ID: c,
			FirstName: "Q", LastName: c, PractitionerIDs: []string{e.practice.MemberID}, PortalUserID: c + "-sub"}); err != nil {
			t.Fatal(err)
		}
	}

	const flood = 100
	type answer struct {
		status int
		id     string
	}
	answers := make([]answer, flood)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			resp, err := e.h.Handle(ctx, request("POST", "/v1/clients/cl-ava/exports", owner, ""))
			if err != nil {
				answers[i] = answer{status: -1}
				return
			}
			var body map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &body)
			id, _ := body["exportId"].(string)
			answers[i] = answer{resp.StatusCode, id}
		})
	}
	wg.Wait()
	statuses := map[int]int{}
	for _, a := range answers {
		statuses[a.status]++
		if a.id != answers[0].id || a.id == "" {
			t.Fatalf("answers name different exports: %+v", answers)
		}
	}
	if statuses[http.StatusAccepted] != 1 || statuses[http.StatusOK] != flood-1 {
		t.Fatalf("got statuses %v, want one 202 and %d 200", statuses, flood-1)
	}
	if n := countExports(t, e.st); n != 1 {
		t.Fatalf("got %d export records, want 1", n)
	}
	if n := countSchedules(t, e.st, "rtbf-export-"); n != 1 {
		t.Fatalf("got %d export schedules, want 1", n)
	}

	// The owner's quota: cl-ava's export and nineteen more.
	for _, c := range clients[1:export.QuotaLimit] {
		if resp, body := apigwtest.CallJSON(t, e.h.Handle, request("POST", "/v1/clients/"+c+"/exports", owner, "")); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("export of %s: got %d %v, want 202", c, resp.StatusCode, body)
		}
	}
	before := emulatortest.TakeSnapshot(t, e.st)
	last := clients[export.QuotaLimit]
	resp, body := apigwtest.CallJSON(t, e.h.Handle, request("POST", "/v1/clients/"+last+"/exports", owner, ""))
	if resp.StatusCode != http.StatusTooManyRequests || body["error"].(map[string]any)["code"] != identity.ETooManyRequests {
		t.Fatalf("export %d: got %d %v, want 429 too_many_requests", export.QuotaLimit+1, resp.StatusCode, body)
	}
	if s, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || s < 1 || s > 3600 {
		t.Errorf("Retry-After: got %q, want 1 to 3600 seconds", resp.Headers["Retry-After"])
	}
	if after := emulatortest.TakeSnapshot(t, e.st); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused export changed the table: %d items before, %d after", len(before), len(after))
	}
	if resp, body := apigwtest.CallJSON(t, e.h.Handle, request("POST", "/v1/clients/"+last+"/exports", member, "")); resp.StatusCode != http.StatusAccepted {
		t.Errorf("another practitioner: got %d %v, want 202", resp.StatusCode, body)
	}
	if n := countExports(t, e.st); n != export.QuotaLimit+1 {
		t.Errorf("got %d export records, want %d", n, export.QuotaLimit+1)
	}
}

// countSchedules counts the schedules of the group whose name starts with
// prefix.
func countSchedules(t *testing.T, st *emulatortest.Stack, prefix string) int {
	t.Helper()
	n := 0
	p := scheduler.NewListSchedulesPaginator(st.Scheduler, &scheduler.ListSchedulesInput{GroupName: &st.ScheduleGroup, NamePrefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Schedules)
	}
	return n
}
