// Package export builds the export of a client's file: a practitioner asks
// for it (a record and a one-shot schedule), a worker writes it as one ZIP
// archive (journal entries, chats, uploaded and shared documents, a
// manifest) streamed into an S3 multipart upload, and the practitioner
// downloads it through a short-lived pre-signed URL.
//
// The archive is written in bounded memory whatever the client's size: the
// content is read a page at a time, each JSON array is written entry by
// entry, each document is copied from its object into the archive, and the
// archive goes to storage through one reusable part buffer.
//
// The API side (Requests: Request and Get) and the worker (Worker: Run)
// are two types, each built by a constructor that takes exactly the ports
// it calls.
//
// The package talks to the world only through the small interfaces of
// ports.go, which internal/dynamostore, internal/s3objects and
// internal/oneshot implement and internal/porttest fakes. The
// caller, the id rule and the coded errors are internal/identity's, shared
// with the erasure package, so the API edge maps its errors with the same
// table.
package export
