package erasure

import "time"

// SweepReport is what an hourly sweep found, for its function to report
// (the purge function's metrics): the figures an operator is alarmed on.
type SweepReport struct {
	// At is when the sweep looked. It is zero when the sweep could not
	// read the pending requests: then nothing was counted.
	At time.Time
	// Overdue counts the requests still pending (scheduled or purging) an
	// hour after their purge time: a schedule that did not fire, a purge
	// whose retries ran out, or one still running. The sweep purges them
	// itself.
	Overdue int
	// NeedsAttention counts the requests set aside (needs_attention),
	// waiting on objects S3 refuses to delete.
	NeedsAttention int
	// EmailsOwed counts the requests that still owe an email or notice
	// once the sweep has tried to make it.
	EmailsOwed int
	// Completed are the requests the sweep purged to completion (overdue
	// ones, and those set aside that a retry completed).
	Completed []Request
}
