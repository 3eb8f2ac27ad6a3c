// Package dynamostore is the DynamoDB adapter of the erasure ports: the
// practice setting, the directory (practices, practitioners, clients), the
// deletion requests, practitioners' notifications and the client content a
// purge reads and deletes. Everything lives in one table; layout.go is the
// single description of its keys, and the README's "Data layout" section
// documents it for the other services that write the same table.
package dynamostore

import "time"

// Attribute names of the table's keys and its one index.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrPendingPK = "pendingPk"
	attrPendingSK = "pendingSk"

	attrInboxPK = "inboxPk"
	attrInboxSK = "inboxSk"

	// PendingIndex lists the deletion requests with something left to do
	// (a purge not finished, a delivery owed), by purge time; it is
	// sparse: a request leaves it once finished and owing nothing.
	PendingIndex = "pending"
	pendingValue = "PENDING"
	// InboxIndex lists a practitioner's notifications by time.
	InboxIndex = "inbox"
	// PracticeIndex lists a practice's deletion requests by request time.
	PracticeIndex = "practice"
)

// Key prefixes and fixed sort keys.
const (
	skSetting      = "SETTING#RIGHT_TO_BE_FORGOTTEN"
	skPractice     = "PRACTICE"
	skProfile      = "PROFILE"
	skActive       = "DELETION#ACTIVE"
	skCancelled    = "DELETION#CANCELLED"
	skPortalClosed = "PORTAL#CLOSED"
	skRequest      = "REQUEST"
	skSession      = "SESSION"

	prefixPractitioner = "PRACTITIONER#"
	prefixJournal      = "JOURNAL#"
	prefixDocument     = "DOCUMENT#"
	prefixChatRef      = "CHAT#"
	prefixMessage      = "MESSAGE#"
	prefixNotification = "NOTIFICATION#"
)

// PracticePK is the partition of a practice: its setting, its record and
// its practitioners.
func PracticePK(practiceID string) string { return "PRACTICE#" + practiceID }

// ClientPK is the partition of a client's file: profile, journal entries,
// documents, chat references, notes, appointments, invoices, and the
// deletion pointer and portal-closed marker.
func ClientPK(practiceID, clientID string) string {
	return "PRACTICE#" + practiceID + "#CLIENT#" + clientID
}

// ChatPK is the partition of one secure-messenger session and its messages.
func ChatPK(practiceID, sessionID string) string {
	return "PRACTICE#" + practiceID + "#CHAT#" + sessionID
}

// PractitionerPK is the partition of a practitioner's notifications.
func PractitionerPK(practiceID, practitionerID string) string {
	return "PRACTICE#" + practiceID + "#PRACTITIONER#" + practitionerID
}

// PracticeRequestsPK is the practice index partition of a practice's
// deletion requests.
func PracticeRequestsPK(practiceID string) string { return "PRACTICE#" + practiceID + "#DELETIONS" }

// RequestPK is the partition of one deletion request.
func RequestPK(requestID string) string { return "DELETION#" + requestID }

// Sort keys of items in a client's or chat's partition.
func JournalSK(id string) string        { return prefixJournal + id }
func DocumentSK(id string) string       { return prefixDocument + id }
func ChatRefSK(sessionID string) string { return prefixChatRef + sessionID }
func PractitionerSK(id string) string   { return prefixPractitioner + id }

// MessageSK orders messages by time within their session.
func MessageSK(at time.Time, id string) string {
	return prefixMessage + at.UTC().Format(timeKeyLayout) + "#" + id
}

// timeKeyLayout is fixed-width, so that keys sort in time order.
const timeKeyLayout = "2006-01-02T15:04:05.000000Z"

// Fixed sort keys, exported for the writers of other services.
const (
	SettingSK  = skSetting
	PracticeSK = skPractice
	ProfileSK  = skProfile
	SessionSK  = skSession
)
