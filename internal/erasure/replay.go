package erasure

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/evidence"
	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// ReplayLedger is what a replay after a restore reads of the evidence
// ledger, and where it keeps its own records.
type ReplayLedger interface {
	// ErasureKeys calls fn, a page at a time, with the keys of every
	// erasure certificate the ledger keeps (under evidence.KeyPrefix).
	ErasureKeys(ctx context.Context, fn func([]string) error) error
	// CertificateAt reads the bytes kept under key, as they are (the
	// replay decodes and verifies them); ErrNotFound when there are none.
	CertificateAt(ctx context.Context, key string) ([]byte, error)
	// PublicKey returns the signing key's public key: what the replay
	// trusts a certificate by.
	PublicKey(ctx context.Context) (evidence.PublicKey, error)
	// RecordReplay signs rec and keeps it under evidence.ReplayKey, once,
	// as Ledger.Record keeps an erasure record.
	RecordReplay(ctx context.Context, rec evidence.ReplayRecord) error
}

// Replayer erases again, after the table and the documents bucket were
// restored from a backup, what the purges that ended after the restore
// point erased: for each erasure record in the ledger that ended after it
// (and verifies), it runs the purge's phase walk (walker: the same rule,
// the same code) for the record's client against the restored table
// (content) and bucket (objects). It never reads or writes a deletion
// request: the ledger, outside the restored system, is what it trusts.
//
// The domain's items carry no creation time, so the walk deletes all the
// client created, whenever: a restored table holds nothing written after
// the restore point, which is before the record's end, and on the live
// table the purge closed the client's portal for good, so no content of
// theirs can postdate the record.
type Replayer struct {
	env
	walk    walker
	portals PortalCloser
	ledger  ReplayLedger
	cfg     PurgeConfig
}

// PortalCloser closes a client's portal for good: the marker a purge
// leaves, which a restore from before it brings back missing.
type PortalCloser interface {
	ClosePortal(ctx context.Context, practiceID, clientID, requestID string, at time.Time) error
}

// NewReplayer returns the replay's use case over the restored table's
// content and the documents bucket's objects.
// portals closes the replayed clients' portals in the same table.
func NewReplayer(content Content, portals PortalCloser, objects Objects, ledger ReplayLedger, cfg PurgeConfig, o Options) *Replayer {
	RequirePorts("erasure.Replayer", content, portals, objects, ledger)
	return &Replayer{env: env{o}, walk: walker{content: content, objects: objects, log: o.Logger(), concurrency: cfg.Concurrency, pace: newPacer()},
		portals: portals, ledger: ledger, cfg: cfg}
}

// ReplayInput is what an operator gives a replay.
type ReplayInput struct {
	// Since is the restore point: the records that ended after it are
	// replayed.
	Since time.Time
	// Cursor is the Next of the invocation before ("" to start).
	Cursor string
}

// ReplayReport is what one invocation of a replay did.
type ReplayReport struct {
	ReplayID string    `json:"replayId"`
	Since    time.Time `json:"since"`
	// Requests are the requests replayed to their end in this invocation.
	Requests []ReplayedRequest `json:"requests"`
	// Refused are the ledger's certificates that did not verify: not
	// trusted, so not replayed.
	Refused []RefusedCertificate `json:"refused"`
	// Older counts the requests whose records all ended at or before Since.
	Older int `json:"older"`
	// Next is the cursor to invoke the replay with again; "" when it is
	// done.
	Next string `json:"next,omitempty"`
}

// ReplayedRequest is what a replay found and deleted again of one
// request's client.
type ReplayedRequest struct {
	RequestID      string    `json:"requestId"`
	PracticeID     string    `json:"practiceId"`
	ClientID       string    `json:"clientId"`
	ErasureEndedAt time.Time `json:"erasureEndedAt"`
	// Found is the client's content in scope when the replay started on
	// the request, Deleted what it deleted, Left what a read after finds
	// (nothing, but for documents kept for an unresolved object).
	Found          Counts `json:"found"`
	Deleted        Counts `json:"deleted"`
	DeletedObjects int    `json:"deletedObjects"`
	Left           Counts `json:"left"`
	// SkippedObjects and UnresolvedObjects count the keys the walk left
	// (outside the client's folder; refused, or no object's).
	SkippedObjects    int `json:"skippedObjects"`
	UnresolvedObjects int `json:"unresolvedObjects"`
}

// RefusedCertificate is a ledger object the replay did not trust.
type RefusedCertificate struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// replayCursor is where a replay goes on: the requests are taken in the
// order of their ids; After is the last one done, and Request the one in
// progress (its phase, chat cursor and what was done of it so far).
type replayCursor struct {
	ReplayID string           `json:"replayId"`
	Since    time.Time        `json:"since"`
	After    string           `json:"after,omitempty"`
	Request  *ReplayedRequest `json:"request,omitempty"`
	Phase    string           `json:"phase,omitempty"`
	Chat     string           `json:"chat,omitempty"`
}

func (c replayCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeReplayCursor(s string) (replayCursor, error) {
	var c replayCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ReplayID == "" || strings.Contains(c.ReplayID, "/") {
		return replayCursor{}, identity.Errorf(identity.EInvalid, "cursor is not one a replay gave")
	}
	return c, nil
}

// replayLog counts, in the request's report, the keys the walk leaves.
type replayLog struct{ r *ReplayedRequest }

func (l replayLog) skipped(_ context.Context, keys []string) error {
	l.r.SkippedObjects += len(keys)
	return nil
}

func (l replayLog) unresolved(_ context.Context, keys []string) error {
	l.r.UnresolvedObjects += len(keys)
	return nil
}

// Replay replays, in order, the ledger's erasure records that ended after
// in.Since, until it is done or its time is up (Margin before the
// invocation's deadline, or Budget): then the report's Next is the cursor
// to invoke it with again. Each request replayed to its end gets a replay
// record in the ledger. It is idempotent: what it deleted is gone, and a
// replay run again finds nothing to delete. An error leaves the report so
// far, whose Next resumes before the failed work.
func (s *Replayer) Replay(ctx context.Context, in ReplayInput) (ReplayReport, error) {
	cur := replayCursor{ReplayID: s.newID(), Since: in.Since.UTC()}
	if in.Cursor != "" {
		c, err := decodeReplayCursor(in.Cursor)
		if err != nil {
			return ReplayReport{}, err
		}
		if !c.Since.Equal(in.Since) {
			return ReplayReport{}, identity.Errorf(identity.EInvalid, "cursor is of a replay since %s, not %s",
				c.Since.Format(time.RFC3339Nano), in.Since.UTC().Format(time.RFC3339Nano))
		}
		cur = c
	}
	rep := ReplayReport{ReplayID: cur.ReplayID, Since: cur.Since, Requests: []ReplayedRequest{}, Refused: []RefusedCertificate{}}
	stop := s.cfg.stopAt(ctx, time.Now())
	pk, err := s.ledger.PublicKey(ctx)
	if err != nil {
		return rep, fmt.Errorf("public key: %w", err)
	}
	key, err := evidence.ParsePublicKey([]byte(pk.PublicKeyPEM))
	if err != nil {
		return rep, err
	}
	trusted := &evidence.Trusted{KeyID: pk.KeyID, Key: key}

	byRequest := map[string][]string{}
	err = s.ledger.ErasureKeys(ctx, func(keys []string) error {
		for _, k := range keys {
			id, _, ok := strings.Cut(strings.TrimPrefix(k, evidence.KeyPrefix), "/")
			if !ok || !strings.HasPrefix(k, evidence.KeyPrefix) || id == "" {
				rep.Refused = append(rep.Refused, RefusedCertificate{Key: k, Reason: "not a certificate's key"})
				continue
			}
			byRequest[id] = append(byRequest[id], k)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("list erasure certificates: %w", err)
	}
	ids := make([]string, 0, len(byRequest))
	for id := range byRequest {
		if id > cur.After || (cur.Request != nil && id == cur.Request.RequestID) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)

	for i, id := range ids {
		if i > 0 && timeUp(stop) {
			rep.Next = cur.encode()
			return rep, nil
		}
		rec, ok, err := s.latest(ctx, byRequest[id], trusted, &rep)
		if err != nil {
			rep.Next = cur.encode()
			return rep, err
		}
		if !ok {
			cur.After = id
			continue
		}
		if !rec.EndedAt().After(cur.Since) {
			rep.Older++
			cur.After = id
			continue
		}
		done, err := s.replayOne(ctx, rec, &cur, stop)
		if err != nil || !done {
			rep.Next = cur.encode()
			return rep, err
		}
		rep.Requests = append(rep.Requests, *cur.Request)
		cur.After, cur.Request, cur.Phase, cur.Chat = id, nil, "", ""
	}
	return rep, nil
}

// latest verifies the request's certificates and returns the record that
// ended last; ok is false when none verifies (each refused one is in rep).
func (s *Replayer) latest(ctx context.Context, keys []string, trusted *evidence.Trusted, rep *ReplayReport) (evidence.Record, bool, error) {
	var (
		best evidence.Record
		ok   bool
	)
	for _, k := range keys {
		b, err := s.ledger.CertificateAt(ctx, k)
		if errors.Is(err, identity.ErrNotFound) {
			continue
		}
		if err != nil {
			return evidence.Record{}, false, fmt.Errorf("read %s: %w", k, err)
		}
		var rec evidence.Record
		c, err := evidence.DecodeCertificate(b)
		if err == nil {
			rec, err = evidence.Verify(c, trusted)
		}
		if err == nil && evidence.Key(rec.RequestID, rec.Outcome) != k {
			err = fmt.Errorf("the record is of %s, kept under %s", evidence.Key(rec.RequestID, rec.Outcome), k)
		}
		if err != nil {
			s.log().ErrorContext(ctx, "replay: an erasure certificate does not verify: not replayed", "key", k, "err", err)
			rep.Refused = append(rep.Refused, RefusedCertificate{Key: k, Reason: err.Error()})
			continue
		}
		if !ok || rec.EndedAt().After(best.EndedAt()) {
			best, ok = rec, true
		}
	}
	return best, ok, nil
}

// replayOne runs the phases for rec's client from where cur says, and
// reports whether it reached their end (and kept the replay record); when
// not, cur says where to go on.
func (s *Replayer) replayOne(ctx context.Context, rec evidence.Record, cur *replayCursor, stop time.Time) (bool, error) {
	t := target{requestID: rec.RequestID, practiceID: rec.PracticeID, clientID: rec.ClientID}
	if cur.Request == nil || cur.Request.RequestID != rec.RequestID {
		// First the portal, as the purge does: a restored client must not
		// sign in and add content while (or after) it is erased again.
		if err := s.portals.ClosePortal(ctx, t.practiceID, t.clientID, rec.RequestID, rec.EndedAt()); err != nil {
			return false, fmt.Errorf("replay %s: close portal: %w", rec.RequestID, err)
		}
		found, _, err := files{s.walk.content}.scopeHolding(ctx, t.practiceID, t.clientID, nil)
		if err != nil {
			return false, fmt.Errorf("replay %s: scope: %w", rec.RequestID, err)
		}
		cur.Request = &ReplayedRequest{RequestID: rec.RequestID, PracticeID: rec.PracticeID, ClientID: rec.ClientID,
			ErasureEndedAt: rec.EndedAt(), Found: found}
		cur.Phase, cur.Chat = phaseJournal, ""
	}
	r := cur.Request
	for first := true; cur.Phase != phaseVerify; first = false {
		if !first && timeUp(stop) {
			return false, nil
		}
		res, err := s.walk.phase(ctx, t, replayLog{r}, cur.Phase, cur.Chat, stop)
		r.Deleted = r.Deleted.Add(res.Deleted)
		r.DeletedObjects += res.Objects
		cur.Phase, cur.Chat = res.Next, res.Cursor
		if err != nil {
			return false, fmt.Errorf("replay %s: %s: %w", rec.RequestID, res.Next, err)
		}
		if res.Stopped {
			return false, nil
		}
	}
	left, _, err := files{s.walk.content}.scopeHolding(ctx, t.practiceID, t.clientID, nil)
	if err != nil {
		return false, fmt.Errorf("replay %s: scope: %w", rec.RequestID, err)
	}
	r.Left = left
	err = s.ledger.RecordReplay(ctx, evidence.ReplayRecord{
		Type: evidence.ReplayRecordType, Format: evidence.Format, ReplayID: cur.ReplayID,
		RequestID: r.RequestID, PracticeID: r.PracticeID, ClientID: r.ClientID, RuleVersion: RuleVersion,
		Since: cur.Since, ErasureEndedAt: r.ErasureEndedAt, ReplayedAt: s.now(),
		Found: evidenceCounts(r.Found), Deleted: evidenceCounts(r.Deleted), DeletedObjects: r.DeletedObjects,
		SkippedObjects: r.SkippedObjects, UnresolvedObjects: r.UnresolvedObjects,
	})
	if err != nil {
		return false, fmt.Errorf("replay %s: record: %w", rec.RequestID, err)
	}
	s.log().InfoContext(ctx, "replayed", "replayId", cur.ReplayID, "deletionRequestId", r.RequestID,
		"found", r.Found, "deleted", r.Deleted, "deletedObjects", r.DeletedObjects, "left", r.Left)
	return true, nil
}

func evidenceCounts(c Counts) evidence.Counts {
	return evidence.Counts{JournalEntries: c.JournalEntries, Documents: c.Documents, ChatSessions: c.ChatSessions, ChatMessages: c.ChatMessages}
}
