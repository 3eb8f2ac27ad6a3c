package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// sdkError is err as a DynamoDB client returns it: an operation error
// around the HTTP response error (status) around err.
func sdkError(op string, status int, err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
		RequestID:     "req-1",
	}}
}

func TestTranslate(t *testing.T) {
	throttled := &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("The level of configured provisioned throughput for the table was exceeded.")}
	cancelled := func(codes ...string) error {
		var reasons []ddbtypes.CancellationReason
		for _, c := range codes {
			reasons = append(reasons, ddbtypes.CancellationReason{Code: aws.String(c)})
		}
		return sdkError("TransactWriteItems", 400, &ddbtypes.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons})
	}
	const (
		unavailable = "unavailable"
		condition   = "condition"
		other       = "other"
	)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"ProvisionedThroughputExceeded", sdkError("GetItem", 400, throttled), unavailable},
		{"ThrottlingException", sdkError("Query", 400, &ddbtypes.ThrottlingException{Message: aws.String("Throughput exceeds the current throughput limit")}), unavailable},
		{"RequestLimitExceeded", sdkError("PutItem", 400, &ddbtypes.RequestLimitExceeded{Message: aws.String("too many requests")}), unavailable},
		{"GenericThrottle", sdkError("Query", 400, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}), unavailable},
		{"MaxAttempts", sdkError("GetItem", 400, &retry.MaxAttemptsError{Attempt: 3, Err: throttled}), unavailable},
		// The standard retryer joins the last error and why it got no
		// retry token.
		{"RetryQuota", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "BatchGetItem",
			Err: errors.Join(errors.New("connection reset"), fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}))}, unavailable},
		{"InternalServerError", sdkError("UpdateItem", 500, &ddbtypes.InternalServerError{Message: aws.String("Internal server error")}), unavailable},
		{"Unmodeled503", sdkError("GetItem", 503, &smithy.GenericAPIError{Code: "UnknownError", Message: "Service Unavailable"}), unavailable},
		{"TransactionThrottled", cancelled("None", "ThrottlingError"), unavailable},
		{"TransactionThroughput", cancelled("ProvisionedThroughputExceeded"), unavailable},
		{"ConditionalCheckFailed", sdkError("PutItem", 400, &ddbtypes.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}), condition},
		{"TransactionCondition", cancelled("ConditionalCheckFailed", "ThrottlingError"), condition},
		// Conflicts that outlasted every retry: try again later.
		{"TransactionConflict", cancelled("None", "TransactionConflict"), unavailable},
		{"TransactionConflictException", sdkError("UpdateItem", 400, &ddbtypes.TransactionConflictException{Message: aws.String("Transaction is ongoing for the item")}), unavailable},
		{"Validation", sdkError("Query", 400, &smithy.GenericAPIError{Code: "ValidationException", Message: "bad key", Fault: smithy.FaultClient}), other},
		{"ResourceNotFound", sdkError("GetItem", 400, &ddbtypes.ResourceNotFoundException{Message: aws.String("no table")}), other},
		{"Canceled", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem", Err: &smithy.CanceledError{Err: context.Canceled}}, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate("get item", tc.err)
			kind := other
			switch {
			case errors.Is(got, identity.ErrUnavailable):
				kind = unavailable
			case errors.Is(got, identity.ErrConditionFailed):
				kind = condition
			}
			if kind != tc.want {
				t.Fatalf("got %v (%s), want %s", got, kind, tc.want)
			}
			if kind == unavailable {
				if code := identity.ErrorCode(got); code != identity.EUnavailable {
					t.Errorf("code: got %q, want %q", code, identity.EUnavailable)
				}
				if !errors.Is(got, tc.err) {
					t.Errorf("got %v, want the SDK's error kept in the chain (for the log)", got)
				}
			}
		})
	}
	if translate("x", nil) != nil {
		t.Error("nil: got an error")
	}
}
