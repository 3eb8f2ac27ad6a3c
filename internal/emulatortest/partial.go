package emulatortest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Partial is an http.RoundTripper in front of the emulator that makes batch
// calls come back partly done, as DynamoDB and S3 answer under load. Of a
// BatchWriteItem it forwards all but a random third of the write requests
// and answers with the rest added to UnprocessedItems; of a BatchGetItem,
// likewise with keys and UnprocessedKeys; of a DeleteObjects
// it forwards all but a random third of the keys and answers with an
// InternalError for each of the rest. The adapters' retry paths then run
// against real answers. Every other request passes through.
type Partial struct {
	next http.RoundTripper
	// MaxHeld bounds how often one write request or key is held back, so a
	// caller that retries always gets through.
	MaxHeld int
	// Refuse are object keys a DeleteObjects always answers with a
	// permanent per-key error (AccessDenied), as S3 does for an object
	// the caller may not delete; set before the first call.
	Refuse map[string]bool

	mu    sync.Mutex
	rng   *rand.Rand
	held  map[string]int
	stats PartialStats
}

// PartialStats counts what a Partial saw and held back.
type PartialStats struct {
	BatchWrites          int // BatchWriteItem calls
	PartialBatchWrites   int // of them, answered with UnprocessedItems added
	UnprocessedItems     int // write requests held back
	BatchGets            int // BatchGetItem calls
	PartialBatchGets     int // of them, answered with UnprocessedKeys added
	UnprocessedKeys      int // keys held back
	DeleteObjects        int // DeleteObjects calls
	PartialDeleteObjects int // of them, answered with per-key errors added
	KeyErrors            int // keys held back
}

// NewPartial wraps http.DefaultTransport (the model, when it is on); seed
// makes the choices repeatable.
func NewPartial(seed uint64) *Partial {
	return &Partial{next: codeTransport(), MaxHeld: 2, rng: rand.New(rand.NewPCG(seed, 0)), held: map[string]int{}}
}

// Stats returns the counts so far.
func (p *Partial) Stats() PartialStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *Partial) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.Header.Get("X-Amz-Target"), "BatchWriteItem"):
		return p.batchWrite(r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.Header.Get("X-Amz-Target"), "BatchGetItem"):
		return p.batchGet(r)
	case r.Method == http.MethodPost && r.URL.Query().Has("delete"):
		return p.deleteObjects(r)
	}
	return p.next.RoundTrip(r)
}

// hold picks about a third of ids (never all of them, and none held
// MaxHeld times already) to hold back, and records them.
func (p *Partial) hold(ids []string) map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	var eligible []int
	for i, id := range ids {
		if p.held[id] < p.MaxHeld {
			eligible = append(eligible, i)
		}
	}
	n := min(len(ids)/3, len(eligible))
	out := map[int]bool{}
	for _, j := range p.rng.Perm(len(eligible))[:n] {
		out[eligible[j]] = true
		p.held[ids[eligible[j]]]++
	}
	return out
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

// withBody returns a copy of r that sends body.
func withBody(r *http.Request, body []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Content-Length")
	return r2
}

// setBody replaces the body of a response read in full.
func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

func (p *Partial) batchWrite(r *http.Request) (*http.Response, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var in map[string]json.RawMessage
	var items map[string][]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("partial: decode BatchWriteItem: %w", err)
	}
	if err := json.Unmarshal(in["RequestItems"], &items); err != nil {
		return nil, fmt.Errorf("partial: decode RequestItems: %w", err)
	}
	type ref struct {
		table string
		req   json.RawMessage
	}
	var refs []ref
	var ids []string
	for table, reqs := range items {
		for _, req := range reqs {
			canon, err := canonical(req)
			if err != nil {
				return nil, fmt.Errorf("partial: decode write request: %w", err)
			}
			refs = append(refs, ref{table, req})
			ids = append(ids, "dynamodb "+table+" "+canon)
		}
	}
	held := p.hold(ids)
	p.mu.Lock()
	p.stats.BatchWrites++
	p.mu.Unlock()
	if len(held) == 0 {
		return p.next.RoundTrip(withBody(r, body))
	}

	forward := map[string][]json.RawMessage{}
	back := map[string][]json.RawMessage{}
	for i, rf := range refs {
		if held[i] {
			back[rf.table] = append(back[rf.table], rf.req)
		} else {
			forward[rf.table] = append(forward[rf.table], rf.req)
		}
	}
	in["RequestItems"], _ = json.Marshal(forward)
	out, _ := json.Marshal(in)
	resp, err := p.next.RoundTrip(withBody(r, out))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var res map[string]json.RawMessage
	unprocessed := map[string][]json.RawMessage{}
	if err := json.Unmarshal(rb, &res); err != nil {
		return nil, fmt.Errorf("partial: decode BatchWriteItem answer: %w", err)
	}
	if u, ok := res["UnprocessedItems"]; ok {
		if err := json.Unmarshal(u, &unprocessed); err != nil {
			return nil, fmt.Errorf("partial: decode UnprocessedItems: %w", err)
		}
	}
	for table, reqs := range back {
		unprocessed[table] = append(unprocessed[table], reqs...)
	}
	res["UnprocessedItems"], _ = json.Marshal(unprocessed)
	rb, _ = json.Marshal(res)
	setBody(resp, rb)
	// The SDK checks DynamoDB's answers against this checksum.
	resp.Header.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(rb)), 10))

	p.mu.Lock()
	p.stats.PartialBatchWrites++
	p.stats.UnprocessedItems += len(held)
	p.mu.Unlock()
	return resp, nil
}

// canonical is v's JSON with object keys sorted: the SDK writes a key's
// attributes in map order, so that is how requests are compared.
func canonical(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	canon, err := json.Marshal(v)
	return string(canon), err
}

func (p *Partial) batchGet(r *http.Request) (*http.Response, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var in map[string]json.RawMessage
	var items map[string]map[string]json.RawMessage // table -> KeysAndAttributes
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("partial: decode BatchGetItem: %w", err)
	}
	if err := json.Unmarshal(in["RequestItems"], &items); err != nil {
		return nil, fmt.Errorf("partial: decode RequestItems: %w", err)
	}
	type ref struct {
		table string
		key   json.RawMessage
	}
	var refs []ref
	var ids []string
	for table, ka := range items {
		var keys []json.RawMessage
		if err := json.Unmarshal(ka["Keys"], &keys); err != nil {
			return nil, fmt.Errorf("partial: decode Keys: %w", err)
		}
		for _, k := range keys {
			canon, err := canonical(k)
			if err != nil {
				return nil, fmt.Errorf("partial: decode key: %w", err)
			}
			refs = append(refs, ref{table, k})
			ids = append(ids, "dynamodb get "+table+" "+canon)
		}
	}
	held := p.hold(ids)
	p.mu.Lock()
	p.stats.BatchGets++
	p.mu.Unlock()
	if len(held) == 0 {
		return p.next.RoundTrip(withBody(r, body))
	}

	// Each table's keys split in two, its other fields (consistency,
	// projection) kept on both sides.
	forward := map[string][]json.RawMessage{}
	back := map[string][]json.RawMessage{}
	for i, rf := range refs {
		if held[i] {
			back[rf.table] = append(back[rf.table], rf.key)
		} else {
			forward[rf.table] = append(forward[rf.table], rf.key)
		}
	}
	with := func(table string, keys []json.RawMessage) map[string]json.RawMessage {
		ka := maps.Clone(items[table])
		ka["Keys"], _ = json.Marshal(keys)
		return ka
	}
	fwd := map[string]map[string]json.RawMessage{}
	for table, keys := range forward { // never empty: hold keeps some
		fwd[table] = with(table, keys)
	}
	in["RequestItems"], _ = json.Marshal(fwd)
	out, _ := json.Marshal(in)
	resp, err := p.next.RoundTrip(withBody(r, out))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(rb, &res); err != nil {
		return nil, fmt.Errorf("partial: decode BatchGetItem answer: %w", err)
	}
	unprocessed := map[string]map[string]json.RawMessage{}
	if u, ok := res["UnprocessedKeys"]; ok {
		if err := json.Unmarshal(u, &unprocessed); err != nil {
			return nil, fmt.Errorf("partial: decode UnprocessedKeys: %w", err)
		}
	}
	for table, keys := range back {
		if prev, ok := unprocessed[table]; ok {
			var more []json.RawMessage
			if err := json.Unmarshal(prev["Keys"], &more); err != nil {
				return nil, fmt.Errorf("partial: decode unprocessed Keys: %w", err)
			}
			keys = append(more, keys...)
		}
		unprocessed[table] = with(table, keys)
	}
	res["UnprocessedKeys"], _ = json.Marshal(unprocessed)
	rb, _ = json.Marshal(res)
	setBody(resp, rb)
	// The SDK checks DynamoDB's answers against this checksum.
	resp.Header.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(rb)), 10))

	p.mu.Lock()
	p.stats.PartialBatchGets++
	p.stats.UnprocessedKeys += len(held)
	p.mu.Unlock()
	return resp, nil
}

// s3Delete is the body of a DeleteObjects request.
type s3Delete struct {
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
	Quiet *bool `xml:"Quiet"`
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (p *Partial) deleteObjects(r *http.Request) (*http.Response, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var del s3Delete
	if err := xml.Unmarshal(body, &del); err != nil {
		return nil, fmt.Errorf("partial: decode DeleteObjects: %w", err)
	}
	ids := make([]string, len(del.Objects))
	for i, o := range del.Objects {
		ids[i] = "s3 " + r.URL.Path + " " + o.Key + " " + o.VersionID
	}
	held := p.hold(ids)
	refused := map[int]bool{}
	for i, o := range del.Objects {
		if p.Refuse[o.Key] {
			refused[i] = true
		}
	}
	p.mu.Lock()
	p.stats.DeleteObjects++
	p.mu.Unlock()
	if len(held) == 0 && len(refused) == 0 {
		return p.next.RoundTrip(withBody(r, body))
	}

	var fwd, errs strings.Builder
	fwd.WriteString(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for i, o := range del.Objects {
		if refused[i] {
			fmt.Fprintf(&errs, "<Error><Key>%s</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", xmlText(o.Key))
			continue
		}
		if held[i] {
			fmt.Fprintf(&errs, "<Error><Key>%s</Key><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>", xmlText(o.Key))
			continue
		}
		fwd.WriteString("<Object><Key>" + xmlText(o.Key) + "</Key>")
		if o.VersionID != "" {
			fwd.WriteString("<VersionId>" + xmlText(o.VersionID) + "</VersionId>")
		}
		fwd.WriteString("</Object>")
	}
	if del.Quiet != nil {
		fwd.WriteString("<Quiet>" + strconv.FormatBool(*del.Quiet) + "</Quiet>")
	}
	fwd.WriteString("</Delete>")
	out := []byte(fwd.String())

	r2 := withBody(r, out)
	resignBody(r2.Header, out)
	resp, err := p.next.RoundTrip(r2)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	end := bytes.LastIndex(rb, []byte("</DeleteResult>"))
	if end < 0 {
		return nil, fmt.Errorf("partial: unexpected DeleteObjects answer: %s", rb)
	}
	rb = append(rb[:end:end], append([]byte(errs.String()), rb[end:]...)...)
	setBody(resp, rb)

	p.mu.Lock()
	p.stats.PartialDeleteObjects++
	p.stats.KeyErrors += len(held)
	p.mu.Unlock()
	return resp, nil
}

// resignBody brings the body's checksums in the headers in line with a
// rewritten body. (The signature no longer matches; the emulator does not
// check it.)
func resignBody(h http.Header, body []byte) {
	if h.Get("Content-Md5") != "" {
		sum := md5.Sum(body)
		h.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	if v := h.Get("X-Amz-Content-Sha256"); v != "" && !strings.HasPrefix(v, "UNSIGNED") && !strings.HasPrefix(v, "STREAMING") {
		sum := sha256.Sum256(body)
		h.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	crc := func(t *crc32.Table) string {
		return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, t)))
	}
	var names []string
	for name := range h {
		names = append(names, name)
	}
	for _, name := range names {
		switch strings.ToLower(name) {
		case "x-amz-checksum-crc32":
			h.Set(name, crc(crc32.IEEETable))
		case "x-amz-checksum-crc32c":
			h.Set(name, crc(crc32.MakeTable(crc32.Castagnoli)))
		case "x-amz-checksum-sha256":
			sum := sha256.Sum256(body)
			h.Set(name, base64.StdEncoding.EncodeToString(sum[:]))
		default:
			if strings.HasPrefix(strings.ToLower(name), "x-amz-checksum-") {
				// An algorithm not recomputed here: send CRC32 instead.
				h.Del(name)
				h.Set("X-Amz-Checksum-Crc32", crc(crc32.IEEETable))
				if h.Get("X-Amz-Sdk-Checksum-Algorithm") != "" {
					h.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32")
				}
			}
		}
	}
}
