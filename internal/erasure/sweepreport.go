package erasure

import "time"

// SweepReport is what an hourly sweep found, for its function to report
// (the purge function's metrics): the figures an operator is alarmed on.
type SweepReport struct {
	// At is when the sweep looked. It is zero when the sweep could not
	// read the pending requests: then nothing was counted.
	At time.Time
	// Overdue counts the requests still pending (scheduled or purging)
	// SweepGrace after their purge time: a schedule that did not fire, a
	// purge whose retries ran out, or one still running. The sweep purges
	// them itself.
	Overdue int
	// NeedsAttention counts the requests waiting for an operator. No
	// status says so yet: it is 0.
	NeedsAttention int
	// EmailsOwed counts the requests whose practitioners' notice or
	// client's confirmation the sweep tried to send and could not.
	EmailsOwed int
	// Completed are the overdue requests the sweep purged to completion.
	Completed []Request
}
