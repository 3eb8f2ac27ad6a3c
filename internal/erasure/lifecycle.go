package erasure

import "slices"

// Event is what moves a deletion request from one status to another.
type Event string

const (
	// EventScheduled: the request's purge schedule exists, so the purge
	// is promised.
	EventScheduled Event = "scheduled"
	// EventRollBack: the request's acceptance failed, or the client
	// withdrew it before it was accepted; the request is removed, and no
	// one is told, since no one was.
	EventRollBack Event = "roll_back"
	// EventCancel: the client withdrew the request before its purge
	// started.
	EventCancel Event = "cancel"
	// EventStartPurge: a purge invocation takes the request (the first, or
	// a continuation).
	EventStartPurge Event = "start_purge"
	// EventComplete: nothing of the client's content is left.
	EventComplete Event = "complete"
	// EventSetAside: the purge finished everything but objects S3 refuses
	// to delete for good; support must look at them.
	EventSetAside Event = "set_aside"
	// EventRetry: the sweep's daily new try at a request set aside.
	EventRetry Event = "retry"
)

// Guard is what a transition needs besides its from status.
type Guard string

const (
	// Always: the status is enough.
	Always Guard = ""
	// NoLiveLease: no purge invocation holds an unexpired lease on the
	// request. It is what makes a cancel racing a purge end one way, and
	// two deliveries of one schedule run one after the other.
	NoLiveLease Guard = "no_live_lease"
)

// Transition is one row of the lifecycle: the event Event moves a request
// in status From to status To ("" when the request is removed), if Guard
// holds; the request then owes the deliveries Owes.
type Transition struct {
	From  Status
	Event Event
	To    Status
	Guard Guard
	Owes  []string
}

// Lifecycle is the whole life of a deletion request: no status changes but
// by one of these rows. The use cases ask it what an event does, the
// DynamoDB adapter builds its conditions from it and the in-memory store
// checks against it, and one contract test holds both stores to it.
var Lifecycle = []Transition{
	{From: StatusAccepting, Event: EventScheduled, To: StatusScheduled, Owes: []string{DeliveryPractitionersRequested, DeliveryClientRequested}},
	{From: StatusAccepting, Event: EventRollBack, To: ""},
	{From: StatusScheduled, Event: EventCancel, To: StatusCancelled, Guard: NoLiveLease, Owes: []string{DeliveryPractitionersCancelled, DeliveryClientCancelled}},
	{From: StatusScheduled, Event: EventStartPurge, To: StatusPurging, Guard: NoLiveLease},
	{From: StatusPurging, Event: EventStartPurge, To: StatusPurging, Guard: NoLiveLease},
	{From: StatusPurging, Event: EventComplete, To: StatusCompleted, Owes: []string{DeliveryEvidenceCompleted, DeliveryPractitionersCompleted, DeliveryClientCompleted}},
	{From: StatusPurging, Event: EventSetAside, To: StatusNeedsAttention, Owes: []string{DeliveryEvidenceNeedsAttention, DeliveryPractitionersNeedsAttention}},
	{From: StatusNeedsAttention, Event: EventRetry, To: StatusPurging, Guard: NoLiveLease},
}

// Statuses are every status a request can be in, in the order of its life.
var Statuses = []Status{StatusAccepting, StatusScheduled, StatusPurging, StatusNeedsAttention, StatusCompleted, StatusCancelled}

// Events are every event of the lifecycle.
var Events = []Event{EventScheduled, EventRollBack, EventCancel, EventStartPurge, EventComplete, EventSetAside, EventRetry}

// Step is the transition ev makes from status from; false when the
// lifecycle has none.
func Step(from Status, ev Event) (Transition, bool) {
	for _, t := range Lifecycle {
		if t.From == from && t.Event == ev {
			return t, true
		}
	}
	return Transition{}, false
}

// From are the statuses ev moves a request out of, in lifecycle order.
func From(ev Event) []Status {
	var out []Status
	for _, t := range Lifecycle {
		if t.Event == ev && !slices.Contains(out, t.From) {
			out = append(out, t.From)
		}
	}
	return out
}

// Outcome is what ev does to a request in status from, with a live lease
// or not: the status it moves to and what it then owes, or false when the
// lifecycle refuses it.
func Outcome(from Status, ev Event, leaseLive bool) (Transition, bool) {
	t, ok := Step(from, ev)
	if !ok || (t.Guard == NoLiveLease && leaseLive) {
		return Transition{}, false
	}
	return t, true
}

// Deliveries: what a request owes the people it concerns, each delivered
// once. A delivery is an email, in-portal notices, or both, or the
// erasure record the evidence ledger keeps (Ledger); the transition
// that makes one owed records it in the same write (Request.Owed), and it
// leaves Owed for Delivered once made. The sweep delivers whatever is
// still owed, whatever the request's status.
const (
	// DeliveryPractitionersRequested: the practitioners' notices and their
	// email listing what will be removed.
	DeliveryPractitionersRequested = "practitioners-requested"
	// DeliveryClientRequested: the client's confirmation email.
	DeliveryClientRequested = "client-requested"
	// DeliveryPractitionersCancelled: the practitioners' notices of a
	// cancellation.
	DeliveryPractitionersCancelled = "practitioners-cancelled"
	// DeliveryClientCancelled: the client's cancellation email.
	DeliveryClientCancelled = "client-cancelled"
	// DeliveryPractitionersNeedsAttention: the practitioners' notices that
	// the purge finished except for files support was alerted about.
	DeliveryPractitionersNeedsAttention = "practitioners-needs-attention"
	// DeliveryPractitionersCompleted: the practitioners' notices of the
	// completed purge.
	DeliveryPractitionersCompleted = "practitioners-completed"
	// DeliveryClientCompleted: the client's receipt email.
	DeliveryClientCompleted = "client-completed"
	// DeliveryEvidenceNeedsAttention: the erasure record of a purge set
	// aside, kept in the evidence ledger (written once: the first time
	// the request is set aside).
	DeliveryEvidenceNeedsAttention = "evidence-needs-attention"
	// DeliveryEvidenceCompleted: the erasure record of a completed purge,
	// kept in the evidence ledger: the request's certificate.
	DeliveryEvidenceCompleted = "evidence-completed"
)

// deliveryOrder is the order a request's owed deliveries are made in: the
// evidence first (the record is kept before anyone is told, and the
// client's receipt can name the certificate), then the practitioners
// before the client, as the product promises them.
var deliveryOrder = []string{
	DeliveryPractitionersRequested, DeliveryClientRequested,
	DeliveryPractitionersCancelled, DeliveryClientCancelled,
	DeliveryEvidenceNeedsAttention, DeliveryPractitionersNeedsAttention,
	DeliveryEvidenceCompleted, DeliveryPractitionersCompleted, DeliveryClientCompleted,
}

// Finished reports whether nothing is left to do about a request in status
// s but its owed deliveries: it leaves the sweep's index once it owes none.
func (s Status) Finished() bool { return s == StatusCompleted || s == StatusCancelled }
