package erasure

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// The documents bucket keeps every object of a client's file under the
// client's folder, practices/<practiceId>/clients/<clientId>/ (README,
// "Data layout"). A document's objectKeys are written by whoever made the
// document: they are inputs, not facts. The purge deletes, and the export
// copies, only the keys InClientFolder accepts.

// ClientFolder is the key prefix of the client's folder in the documents
// bucket, trailing slash included.
func ClientFolder(practiceID, clientID string) string {
	return "practices/" + practiceID + "/clients/" + clientID + "/"
}

// InClientFolder reports whether the object key is inside the client's
// folder. S3 keys are literal: S3 resolves nothing in them and folds no
// case, so the test is on bytes: the folder's exact prefix, its trailing
// slash included (so cl-ava2's keys are not in cl-ava's folder), with a
// name after it. A key with an empty, "." or ".." segment after the prefix
// is refused as well: no key the platform writes has one, and a read
// carries its key in a URL path, where a layer that cleans paths would
// take practices/p/clients/c/../c2/x to another client's folder.
func InClientFolder(key, practiceID, clientID string) bool {
	for _, id := range []string{practiceID, clientID} {
		if !identity.ValidID(id) || id == "." || id == ".." {
			return false
		}
	}
	rest, ok := strings.CutPrefix(key, ClientFolder(practiceID, clientID))
	if !ok || rest == "" {
		return false
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// KeyHash names an object key in logs, which never carry the key itself
// (it may hold a file name): the first 16 hex digits of its SHA-256.
func KeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// maxObjectKey is the longest key S3 accepts, in bytes.
const maxObjectKey = 1024

// SkippedKey is how a key the purge left is recorded on the request: as it
// is, or, when it is longer than any S3 key or not UTF-8 (so it names no
// object), as "sha256:" and its SHA-256 in hex, so that a pointer of any
// length keeps the request's item small and every recorded key is a
// string DynamoDB can hold.
func SkippedKey(key string) string {
	if len(key) <= maxObjectKey && utf8.ValidString(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ValidObjectKey reports whether an S3 object can have the key: not empty,
// at most 1,024 bytes of UTF-8, and only characters XML 1.0 can carry (a
// DeleteObjects request is an XML body, so S3 refuses any other key in
// it, and no upload could have made one).
func ValidObjectKey(key string) bool {
	if key == "" || len(key) > maxObjectKey || !utf8.ValidString(key) {
		return false
	}
	for _, r := range key {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// splitKeys sorts a document's object keys: those inside the client's
// folder (own), those outside it (foreign), and those no object can have
// (unresolved), wherever they point.
func splitKeys(keys []string, practiceID, clientID string) (own, foreign, unresolved []string) {
	for _, k := range keys {
		switch {
		case !ValidObjectKey(k):
			unresolved = append(unresolved, k)
		case InClientFolder(k, practiceID, clientID):
			own = append(own, k)
		default:
			foreign = append(foreign, k)
		}
	}
	return own, foreign, unresolved
}

// holds reports whether a document is kept for one of its keys being
// unresolved (held is the request's UnresolvedObjects).
func holds(d Document, held []string) bool {
	for _, k := range d.ObjectKeys {
		if !ValidObjectKey(k) || slices.Contains(held, SkippedKey(k)) {
			return true
		}
	}
	return false
}
