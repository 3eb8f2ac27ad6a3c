// Package erasure owns the client "right to be forgotten" lifecycle: the
// practice setting that allows client-initiated deletion, the deletion
// request a client makes, the commitment to purge (a one-shot schedule), the
// practitioners' notice, and the purge of exactly the content the client
// created: journal entries, uploaded documents and secure-messenger chats.
//
// The package is the domain: entities, their invariants and one type per
// use case (usecase.go): Settings, ClientRequests, Purger,
// Notifications, PracticeRequests and Certificates, each built by a
// constructor that takes exactly the ports it calls, and Replayer
// (replay.go), which erases again after a restore what the evidence ledger
// records. The purge's rule is one phase walk (walk.go) that the Purger
// and the Replayer both run. The caller, the id rule and the coded errors
// are internal/identity's; the evidence ledger's formats (the erasure
// record a purge leaves, its signed certificate, a replay's record) are
// internal/evidence's. It talks to the world only through the small
// interfaces in ports.go, ledger.go and replay.go, which the adapters in
// internal/dynamostore, internal/sesmail, internal/oneshot,
// internal/s3objects and internal/ledger implement.
package erasure
