package safelog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/wellness-rtbf/rtbf/internal/identity"
	"github.com/wellness-rtbf/rtbf/internal/safelog"
)

// The personal data an AWS error may quote.
const (
	address = "ava.lin@clients.example.com"
	name    = "Ava Lin"
)

// sesRejected is SES v2's answer to a message whose recipient is not
// verified, as the SDK returns it: its message lists the addresses.
func sesRejected() error {
	return &smithy.OperationError{
		ServiceID: "SESv2", OperationName: "SendEmail",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
				Err: &sestypes.MessageRejected{Message: aws.String(
					"Email address is not verified. The following identities failed the check in region US-EAST-1: " + name + " <" + address + ">")},
			},
			RequestID: "4f2c9a1e-ses",
		},
	}
}

// ours wraps an AWS error the way the service's code does: ids and phase
// names only.
func ours(err error) error {
	return fmt.Errorf("purge req-123: send %s email: %w", "client-completed", fmt.Errorf("ses send email: %w", err))
}

func noPersonalData(t *testing.T, got string) {
	t.Helper()
	for _, bad := range []string{address, "@", name, "not verified", "identities"} {
		if strings.Contains(strings.ToLower(got), strings.ToLower(bad)) {
			t.Errorf("got %q, which holds %q", got, bad)
		}
	}
}

func TestText(t *testing.T) {
	throttled := &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "Query", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
			Err:      &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("Throughput exceeded for " + address)},
		},
		RequestID: "ddb-1",
	}}
	for _, tc := range []struct {
		name string
		err  error
		want []string // in the text, in this order
	}{
		{"SESMessageRejected", ours(sesRejected()),
			[]string{"purge req-123: send client-completed email: ses send email: ", "operation error SESv2: SendEmail, ",
				"https response error StatusCode: 400, RequestID: 4f2c9a1e-ses, ", "api error MessageRejected"}},
		{"GenericAPIError", fmt.Errorf("get item: %w", &smithy.GenericAPIError{Code: "ValidationException", Message: "value " + name + " is invalid"}),
			[]string{"get item: api error ValidationException"}},
		{"MaxAttempts", fmt.Errorf("query: %w", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "Query",
			Err: &retry.MaxAttemptsError{Attempt: 3, Err: &ddbtypes.ThrottlingException{Message: aws.String(address)}}}),
			[]string{"query: operation error DynamoDB: Query, exceeded maximum number of attempts, 3, api error ThrottlingException"}},
		{"RetryQuota", errors.Join(throttled, fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5})),
			[]string{"operation error DynamoDB: Query, ", "api error ProvisionedThroughputExceededException\n",
				"failed to get rate limit token, retry quota exceeded, 0 available, 5 requested"}},
		{"TwoLinks", fmt.Errorf("op: %w: %w", identity.ErrConditionFailed, sesRejected()),
			[]string{"op: condition failed: operation error SESv2: SendEmail", "api error MessageRejected"}},
		{"URL", fmt.Errorf("put object: %w", &url.Error{Op: "Put",
			URL: "https://docs.s3.us-east-1.amazonaws.com/practices/p1/clients/cl-ava/uploads/Ava%20Lin%20notes.pdf?x-id=PutObject",
			Err: errors.New("connection reset by peer")}),
			[]string{`put object: Put "https://docs.s3.us-east-1.amazonaws.com/…": connection reset by peer`}},
		{"Quoted", quoting{sesRejected()}, []string{"(safelog_test.quoting) operation error SESv2: SendEmail", "api error MessageRejected"}},
		{"Safe", safelog.Err(ours(sesRejected())), []string{"purge req-123", "api error MessageRejected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := safelog.Text(tc.err)
			noPersonalData(t, got)
			if strings.Contains(got, "Notes") || strings.Contains(got, "notes.pdf") {
				t.Errorf("got %q, which names the file", got)
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("got %q, want %q (after what came before)", got, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}

	// An error with nothing of AWS in it reads as it is.
	for _, err := range []error{
		fmt.Errorf("purge req-1: documents: %w", identity.ErrConditionFailed),
		errors.Join(errors.New("a"), fmt.Errorf("b: %w", context.DeadlineExceeded)),
		&identity.Error{Code: identity.EConflict, Message: "try again"},
	} {
		if got := safelog.Text(err); got != err.Error() {
			t.Errorf("got %q, want %q unchanged", got, err.Error())
		}
	}
	if got := safelog.Text(nil); got != "" {
		t.Errorf("nil: got %q", got)
	}
	var nilPtr *quotingPtr
	if got := safelog.Text(nilPtr); got != "(*safelog_test.quotingPtr)" {
		t.Errorf("a nil pointer: got %q", got)
	}
}

// quoting changes its link's text on the way in (upper case), so its
// text cannot be split into its words and the link's.
type quoting struct{ err error }

func (q quoting) Error() string { return "failed: " + strings.ToUpper(q.err.Error()) }
func (q quoting) Unwrap() error { return q.err }

type quotingPtr struct{ err error }

func (q *quotingPtr) Error() string { return q.err.Error() }

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(safelog.Handler(slog.NewJSONHandler(&buf, nil)))
	err := ours(sesRejected())
	log.With("cause", err).WithGroup("g").ErrorContext(context.Background(), "email the client",
		"deletionRequestId", "req-123", "err", err, slog.Group("inner", "err", err), "count", 3)
	got := buf.String()
	noPersonalData(t, got)
	for _, want := range []string{`"cause":"purge req-123`, `"g":{"deletionRequestId":"req-123"`, `"inner":{"err":"purge req-123`,
		"api error MessageRejected", "operation error SESv2: SendEmail", `"count":3`} {
		if !strings.Contains(got, want) {
			t.Errorf("got %s, want %s in it", got, want)
		}
	}
	if h := safelog.Handler(slog.NewJSONHandler(&buf, nil)); safelog.Handler(h) != h {
		t.Error("wrapping twice: got a second wrapper, want the same handler")
	}
}

func TestReturns(t *testing.T) {
	handle := safelog.Returns(func(ctx context.Context, in string) (int, error) {
		if in == "fail" {
			return 0, ours(sesRejected())
		}
		return 1, nil
	})
	if n, err := handle(context.Background(), "ok"); n != 1 || err != nil {
		t.Fatalf("ok: got %d %v", n, err)
	}
	_, err := handle(context.Background(), "fail")
	if err == nil {
		t.Fatal("fail: got no error")
	}
	noPersonalData(t, err.Error())
	var rejected *sestypes.MessageRejected
	if !errors.As(err, &rejected) {
		t.Errorf("got %v, want the chain kept for errors.As", err)
	}
	if again := safelog.Err(err); again != err {
		t.Errorf("Err of a safe error: got %v, want it as it is", again)
	}
}
