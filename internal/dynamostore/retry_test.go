package dynamostore

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestConflictsAreRetried(t *testing.T) {
	cancelled := func(codes ...string) error {
		var rs []ddbtypes.CancellationReason
		for _, c := range codes {
			rs = append(rs, ddbtypes.CancellationReason{Code: aws.String(c)})
		}
		return fmt.Errorf("op: %w", &ddbtypes.TransactionCanceledException{CancellationReasons: rs})
	}
	r := conflictRetryer{retry.NewStandard()}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&ddbtypes.TransactionConflictException{}, true},
		{cancelled("None", "TransactionConflict"), true},
		{cancelled("ThrottlingError", "None"), true},
		{cancelled("None", "TransactionConflict", "ConditionalCheckFailed"), false}, // an answer
		{cancelled("ConditionalCheckFailed"), false},
		{cancelled("None", "None"), false},
		{&ddbtypes.ProvisionedThroughputExceededException{}, true}, // the SDK's own
		{&ddbtypes.ConditionalCheckFailedException{}, false},
	} {
		if got := r.IsErrorRetryable(c.err); got != c.want {
			t.Errorf("%v: retryable %v, want %v", c.err, got, c.want)
		}
	}
}
