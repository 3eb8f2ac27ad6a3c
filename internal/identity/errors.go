package identity

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The API edge maps each code to one HTTP status
// (internal/apigw), which adds the codes only HTTP has; anything without a
// code is an internal error.
const (
	EInvalid              = "invalid_request"
	EConfirmationRequired = "confirmation_required"
	EUnauthorized         = "unauthorized"
	EForbidden            = "forbidden"
	EDeletionDisabled     = "deletion_disabled"
	EAccountClosed        = "account_closed"
	ENotFound             = "not_found"
	EConflict             = "conflict"
	EAlreadyPurging       = "already_purging"
	EAlreadyCompleted     = "already_completed"
	EUnavailable          = "service_unavailable"
	ETooManyRequests      = "too_many_requests"
	// ECertificateNotReady: the request exists, but its purge has not
	// completed, or its erasure certificate is not written yet.
	ECertificateNotReady = "certificate_not_ready"
)

// Error is a domain error with a stable code and a message that is safe to
// show to the caller.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set, is how long the caller should wait before
	// trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain;
// EUnavailable for ErrUnavailable; "" when there is neither (an internal
// error).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrUnavailable) {
		return EUnavailable
	}
	return ""
}

// RetryAfter returns how long err says to wait before a retry; 0 when it
// does not say.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if errors.Is(err, ErrUnavailable) {
		return "the service is busy just now; please try again"
	}
	return "internal error"
}

// Sentinel errors the ports return; adapters wrap them with %w.
var (
	// ErrNotFound: the item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConditionFailed: a conditional write lost (another writer got there
	// first, or the item is not in the expected state).
	ErrConditionFailed = errors.New("condition failed")
	// ErrAlreadyExists: a schedule with the same name exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrBadToken: a page token that the store did not give.
	ErrBadToken = errors.New("bad page token")
	// ErrUnavailable: the store throttled the call, or failed on its
	// side, past the SDK's retries; the same call may well succeed a
	// little later. Its code is EUnavailable (ErrorCode), so the API
	// answers 503 with Retry-After.
	ErrUnavailable = errors.New("unavailable")
)
