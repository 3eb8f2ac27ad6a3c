package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// attrs is an item or a key in DynamoDB's JSON: attribute name to typed
// value.
type attrs = map[string]json.RawMessage

// table is what the model knows of a table: its keys, its global
// secondary indexes, and its lagged copy for index reads (lag.go).
type table struct {
	mu     sync.Mutex
	loaded bool
	name   string
	hash   string
	rng    string
	gsis   []index
	desc   map[string]json.RawMessage // DescribeTable's Table
	shadow *shadow
}

type index struct{ name, hash, rng string }

// canonical is a value's JSON with object keys sorted and no spaces (the
// SDK and the emulator write the same value differently).
func canonical(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// keyOf returns an item's key attributes.
func (t *table) keyOf(item attrs) attrs {
	k := attrs{t.hash: item[t.hash]}
	if t.rng != "" {
		k[t.rng] = item[t.rng]
	}
	return k
}

// id identifies an item of the table.
func (t *table) id(key attrs) uint64 {
	h := fnv.New64a()
	h.Write([]byte(t.name))
	h.Write([]byte{0})
	h.Write([]byte(canonical(key[t.hash])))
	h.Write([]byte{0})
	if t.rng != "" {
		h.Write([]byte(canonical(key[t.rng])))
	}
	return h.Sum64()
}

// partitionOf names the partition of a key value: "table value" (or
// "table/index value" for an index).
func partitionOf(tableName, indexName string, value json.RawMessage) string {
	if indexName != "" {
		tableName += "/" + indexName
	}
	return tableName + " " + canonical(value)
}

// ddbCall makes a call of the model's own to the emulator, with r's
// endpoint and credentials.
func (m *Model) ddbCall(r *http.Request, op string, in any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	defer cancel()
	u := *r.URL
	u.Path, u.RawPath, u.RawQuery = "/", "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := m.next.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", op, err)
	}
	body, err := readResponse(resp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("model: %s: %s: %s", op, resp.Status, body)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("model: %s: %w", op, err)
	}
	return out, nil
}

// schema returns what the model knows of a table, asking the emulator the
// first time.
func (m *Model) schema(r *http.Request, name string) (*table, error) {
	m.tmu.Lock()
	t := m.tables[name]
	if t == nil {
		t = &table{name: name}
		m.tables[name] = t
	}
	m.tmu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loaded {
		return t, nil
	}
	out, err := m.ddbCall(r, "DescribeTable", map[string]string{"TableName": name})
	if err != nil {
		return nil, err
	}
	var desc struct {
		Table struct {
			KeySchema []struct {
				AttributeName, KeyType string
			}
			GlobalSecondaryIndexes []struct {
				IndexName string
				KeySchema []struct {
					AttributeName, KeyType string
				}
			}
		}
	}
	raw, _ := json.Marshal(out)
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, err
	}
	for _, k := range desc.Table.KeySchema {
		if k.KeyType == "HASH" {
			t.hash = k.AttributeName
		} else {
			t.rng = k.AttributeName
		}
	}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		ix := index{name: g.IndexName}
		for _, k := range g.KeySchema {
			if k.KeyType == "HASH" {
				ix.hash = k.AttributeName
			} else {
				ix.rng = k.AttributeName
			}
		}
		t.gsis = append(t.gsis, ix)
	}
	if err := json.Unmarshal(out["Table"], &t.desc); err != nil {
		return nil, err
	}
	t.loaded = true
	return t, nil
}

// sizeOf returns the cached size of an item (-1: absent) and whether it
// is known.
func (m *Model) sizeOf(id uint64) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sizes[id]
	return int(s), ok
}

func (m *Model) setSize(id uint64, size int) {
	m.mu.Lock()
	m.sizes[id] = int32(size)
	m.mu.Unlock()
}

// loadSizes reads the sizes of the items not known yet from the emulator
// (BatchGetItem, consistent), so that a delete costs what the item it
// deletes weighs.
func (m *Model) loadSizes(r *http.Request, t *table, keys []attrs) error {
	var missing []attrs
	seen := map[uint64]bool{}
	for _, k := range keys {
		id := t.id(k)
		if _, ok := m.sizeOf(id); !ok && !seen[id] {
			seen[id] = true
			missing = append(missing, k)
		}
	}
	for start := 0; start < len(missing); start += 100 {
		chunk := missing[start:min(start+100, len(missing))]
		req := map[string]any{t.name: map[string]any{"Keys": chunk, "ConsistentRead": true}}
		for len(req) > 0 {
			out, err := m.ddbCall(r, "BatchGetItem", map[string]any{"RequestItems": req})
			if err != nil {
				return err
			}
			var got map[string][]json.RawMessage
			json.Unmarshal(out["Responses"], &got)
			for _, raw := range got[t.name] {
				var item attrs
				if json.Unmarshal(raw, &item) == nil {
					m.setSize(t.id(t.keyOf(item)), rawItemSize(raw))
				}
			}
			var left map[string]json.RawMessage
			json.Unmarshal(out["UnprocessedKeys"], &left)
			req = map[string]any{}
			for k, v := range left {
				req[k] = v
			}
		}
		for _, k := range chunk {
			if _, ok := m.sizeOf(t.id(k)); !ok {
				m.setSize(t.id(k), -1)
			}
		}
	}
	return nil
}

// readItem reads one item (consistent), or nil.
func (m *Model) readItem(r *http.Request, t *table, key attrs) (json.RawMessage, error) {
	out, err := m.ddbCall(r, "GetItem", map[string]any{"TableName": t.name, "Key": key, "ConsistentRead": true})
	if err != nil {
		return nil, err
	}
	item := out["Item"]
	if len(item) == 0 || string(item) == "null" {
		m.setSize(t.id(key), -1)
		return nil, nil
	}
	m.setSize(t.id(key), rawItemSize(item))
	return item, nil
}

func (m *Model) throttled(r *http.Request, t *table, reason string) *http.Response {
	return ddbError(r, http.StatusBadRequest, "ProvisionedThroughputExceededException",
		"Throughput exceeds the current capacity of one of your table's partitions. Please try again shortly.",
		map[string]any{"ThrottlingReasons": []map[string]string{{
			"reason": reason, "resource": "arn:aws:dynamodb:us-east-1:123456789012:table/" + t.name,
		}}})
}

func (m *Model) conflict(r *http.Request) *http.Response {
	return ddbError(r, http.StatusBadRequest, "TransactionConflictException", "Transaction is ongoing for the item", nil)
}

// dynamodb answers a DynamoDB call. release, when not nil, is called once
// the answer has made its way back (a transaction is in flight until
// then).
func (m *Model) dynamodb(r *http.Request, op string) (*http.Response, func(), error) {
	switch op {
	case "GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query", "Scan", "BatchWriteItem", "BatchGetItem", "TransactWriteItems":
	default:
		resp, err := m.next.RoundTrip(r)
		return resp, nil, err
	}
	body, err := readBody(r)
	if err != nil {
		return nil, nil, err
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		resp, err := m.next.RoundTrip(withBody(r, body))
		return resp, nil, err
	}
	switch op {
	case "BatchWriteItem":
		resp, err := m.batchWrite(r, body, in, false)
		return resp, nil, err
	case "BatchGetItem":
		resp, err := m.batchGet(r, body, in)
		return resp, nil, err
	case "TransactWriteItems":
		return m.transactWrite(r, body, in, false)
	case "Query", "Scan":
		resp, err := m.query(r, op, body, in)
		return resp, nil, err
	case "GetItem":
		resp, err := m.getItem(r, body, in)
		return resp, nil, err
	default:
		resp, err := m.writeItem(r, op, body, in, false)
		return resp, nil, err
	}
}

// observe passes a DynamoDB call through for the Observer, keeping sizes
// and indexes up to date.
func (m *Model) observe(r *http.Request, op string) (*http.Response, error) {
	switch op {
	case "PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems":
	default:
		return m.next.RoundTrip(r)
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return m.next.RoundTrip(withBody(r, body))
	}
	switch op {
	case "BatchWriteItem":
		return m.batchWrite(r, body, in, true)
	case "TransactWriteItems":
		resp, _, err := m.transactWrite(r, body, in, true)
		return resp, err
	default:
		return m.writeItem(r, op, body, in, true)
	}
}

func str(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// writeItem is PutItem, DeleteItem or UpdateItem.
func (m *Model) writeItem(r *http.Request, op string, body []byte, in map[string]json.RawMessage, observe bool) (*http.Response, error) {
	t, err := m.schema(r, str(in["TableName"]))
	if err != nil {
		return m.next.RoundTrip(withBody(r, body))
	}
	var key, item attrs
	newSize := 0
	if op == "PutItem" {
		json.Unmarshal(in["Item"], &item)
		key = t.keyOf(item)
		newSize = rawItemSize(in["Item"])
	} else {
		json.Unmarshal(in["Key"], &key)
	}
	id := t.id(key)
	if !observe {
		if err := m.ensureShadow(r, t); err != nil {
			return nil, err
		}
		if err := m.loadSizes(r, t, []attrs{key}); err != nil {
			return nil, err
		}
		old, _ := m.sizeOf(id)
		cost := WriteUnits(max(old, newSize))
		part := partitionOf(t.name, "", key[t.hash])
		m.mu.Lock()
		busy := m.p.Conflicts && m.busy[id] > 0
		ok := !busy && m.part(part).w.take(cost, m.now())
		switch {
		case busy:
			m.stats.Conflicts++
		case !ok:
			m.stats.Throttled++
		default:
			m.wrote(part, cost, m.now())
		}
		m.mu.Unlock()
		if busy {
			return m.conflict(r), nil
		}
		if !ok {
			return m.throttled(r, t, "TableWriteKeyRangeThroughputExceeded"), nil
		}
	}
	resp, err := m.next.RoundTrip(withBody(r, body))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	switch op {
	case "PutItem":
		m.setSize(id, newSize)
		m.record(t, key, in["Item"], observe)
	case "DeleteItem":
		m.setSize(id, -1)
		m.record(t, key, nil, observe)
	case "UpdateItem":
		item, err := m.readItem(r, t, key)
		if err != nil {
			return nil, err
		}
		m.record(t, key, item, observe)
	}
	return resp, nil
}

// batchWrite is BatchWriteItem: each write request takes its partition's
// write units in order; those that find too few are returned in
// UnprocessedItems, and if none is done the call is throttled whole.
func (m *Model) batchWrite(r *http.Request, body []byte, in map[string]json.RawMessage, observe bool) (*http.Response, error) {
	var items map[string][]json.RawMessage
	if err := json.Unmarshal(in["RequestItems"], &items); err != nil {
		return m.next.RoundTrip(withBody(r, body))
	}
	type wreq struct {
		t     *table
		raw   json.RawMessage
		key   attrs
		image json.RawMessage // nil for a delete
		size  int
		held  bool
	}
	var reqs []*wreq
	for name, list := range items {
		t, err := m.schema(r, name)
		if err != nil {
			return m.next.RoundTrip(withBody(r, body))
		}
		if !observe {
			if err := m.ensureShadow(r, t); err != nil {
				return nil, err
			}
		}
		var keys []attrs
		for _, raw := range list {
			var w struct {
				PutRequest    *struct{ Item json.RawMessage }
				DeleteRequest *struct{ Key attrs }
			}
			json.Unmarshal(raw, &w)
			q := &wreq{t: t, raw: raw}
			switch {
			case w.PutRequest != nil:
				var item attrs
				json.Unmarshal(w.PutRequest.Item, &item)
				q.key, q.image, q.size = t.keyOf(item), w.PutRequest.Item, rawItemSize(w.PutRequest.Item)
			case w.DeleteRequest != nil:
				q.key = w.DeleteRequest.Key
			default:
				return m.next.RoundTrip(withBody(r, body))
			}
			keys = append(keys, q.key)
			reqs = append(reqs, q)
		}
		if !observe {
			if err := m.loadSizes(r, t, keys); err != nil {
				return nil, err
			}
		}
	}
	held := 0
	if !observe {
		m.mu.Lock()
		now := m.now()
		for _, q := range reqs {
			id := q.t.id(q.key)
			if m.p.Conflicts && m.busy[id] > 0 {
				q.held = true
				held++
				continue
			}
			old := int(m.sizes[id])
			cost := WriteUnits(max(old, q.size))
			part := partitionOf(q.t.name, "", q.key[q.t.hash])
			if !m.part(part).w.take(cost, now) {
				q.held = true
				held++
				continue
			}
			m.wrote(part, cost, now)
		}
		if held > 0 {
			m.stats.Throttled++
			m.stats.Unprocessed += held
		}
		m.mu.Unlock()
		if held == len(reqs) && held > 0 {
			return m.throttled(r, reqs[0].t, "TableWriteKeyRangeThroughputExceeded"), nil
		}
	}
	fwd := body
	if held > 0 {
		forward := map[string][]json.RawMessage{}
		for _, q := range reqs {
			if !q.held {
				forward[q.t.name] = append(forward[q.t.name], q.raw)
			}
		}
		in["RequestItems"], _ = json.Marshal(forward)
		fwd, _ = json.Marshal(in)
	}
	resp, err := m.next.RoundTrip(withBody(r, fwd))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	rb, err := readResponse(resp)
	if err != nil {
		return nil, err
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(rb, &res); err != nil {
		return resp, nil
	}
	unprocessed := map[string][]json.RawMessage{}
	json.Unmarshal(res["UnprocessedItems"], &unprocessed)
	notDone := map[string]bool{}
	for _, list := range unprocessed {
		for _, raw := range list {
			notDone[canonical(raw)] = true
		}
	}
	for _, q := range reqs {
		if q.held || notDone[canonical(q.raw)] {
			continue
		}
		id := q.t.id(q.key)
		if q.image != nil {
			m.setSize(id, q.size)
		} else {
			m.setSize(id, -1)
		}
		m.record(q.t, q.key, q.image, observe)
	}
	if held > 0 {
		for _, q := range reqs {
			if q.held {
				unprocessed[q.t.name] = append(unprocessed[q.t.name], q.raw)
			}
		}
		res["UnprocessedItems"], _ = json.Marshal(unprocessed)
		rb, _ = json.Marshal(res)
		setBody(resp, rb)
	}
	return resp, nil
}

// batchGet is BatchGetItem: keys whose partition has no read units left
// are returned in UnprocessedKeys; if none can be read the call is
// throttled whole.
func (m *Model) batchGet(r *http.Request, body []byte, in map[string]json.RawMessage) (*http.Response, error) {
	var items map[string]map[string]json.RawMessage
	if err := json.Unmarshal(in["RequestItems"], &items); err != nil {
		return m.next.RoundTrip(withBody(r, body))
	}
	type gkey struct {
		raw  json.RawMessage
		held bool
	}
	keys := map[string][]*gkey{}
	total, held := 0, 0
	var first *table
	m.mu.Lock()
	now := m.now()
	m.mu.Unlock()
	for name, ka := range items {
		t, err := m.schema(r, name)
		if err != nil {
			return m.next.RoundTrip(withBody(r, body))
		}
		first = t
		var list []json.RawMessage
		json.Unmarshal(ka["Keys"], &list)
		consistent := string(ka["ConsistentRead"]) == "true"
		m.mu.Lock()
		for _, raw := range list {
			var key attrs
			json.Unmarshal(raw, &key)
			id := t.id(key)
			size := 0
			if s, ok := m.sizes[id]; ok {
				size = int(s)
			}
			part := partitionOf(t.name, "", key[t.hash])
			b := m.part(part).r
			k := &gkey{raw: raw}
			if b.open(now) {
				cost := ReadUnits(size, consistent)
				b.charge(cost, now)
				m.stats.ReadUnits[part] += cost
			} else {
				k.held = true
				held++
			}
			total++
			keys[name] = append(keys[name], k)
		}
		m.mu.Unlock()
	}
	if held > 0 {
		m.mu.Lock()
		m.stats.Throttled++
		m.stats.Unprocessed += held
		m.mu.Unlock()
		if held == total {
			return m.throttled(r, first, "TableReadKeyRangeThroughputExceeded"), nil
		}
	}
	if held == 0 {
		return m.next.RoundTrip(withBody(r, body))
	}
	with := func(name string, held bool) map[string]json.RawMessage {
		var list []json.RawMessage
		for _, k := range keys[name] {
			if k.held == held {
				list = append(list, k.raw)
			}
		}
		if len(list) == 0 {
			return nil
		}
		ka := map[string]json.RawMessage{}
		for k, v := range items[name] {
			ka[k] = v
		}
		ka["Keys"], _ = json.Marshal(list)
		return ka
	}
	fwd := map[string]map[string]json.RawMessage{}
	back := map[string]map[string]json.RawMessage{}
	for name := range items {
		if ka := with(name, false); ka != nil {
			fwd[name] = ka
		}
		if ka := with(name, true); ka != nil {
			back[name] = ka
		}
	}
	in["RequestItems"], _ = json.Marshal(fwd)
	out, _ := json.Marshal(in)
	resp, err := m.next.RoundTrip(withBody(r, out))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	rb, err := readResponse(resp)
	if err != nil {
		return nil, err
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(rb, &res); err != nil {
		return resp, nil
	}
	unprocessed := map[string]map[string]json.RawMessage{}
	json.Unmarshal(res["UnprocessedKeys"], &unprocessed)
	for name, ka := range back {
		if prev, ok := unprocessed[name]; ok {
			var more, mine []json.RawMessage
			json.Unmarshal(prev["Keys"], &more)
			json.Unmarshal(ka["Keys"], &mine)
			ka["Keys"], _ = json.Marshal(append(more, mine...))
		}
		unprocessed[name] = ka
	}
	res["UnprocessedKeys"], _ = json.Marshal(unprocessed)
	rb, _ = json.Marshal(res)
	setBody(resp, rb)
	return resp, nil
}

// getItem charges the item's read units after reading it, once its size
// is known; a partition with none left is throttled.
func (m *Model) getItem(r *http.Request, body []byte, in map[string]json.RawMessage) (*http.Response, error) {
	t, err := m.schema(r, str(in["TableName"]))
	if err != nil {
		return m.next.RoundTrip(withBody(r, body))
	}
	var key attrs
	json.Unmarshal(in["Key"], &key)
	part := partitionOf(t.name, "", key[t.hash])
	m.mu.Lock()
	ok := m.part(part).r.open(m.now())
	if !ok {
		m.stats.Throttled++
	}
	m.mu.Unlock()
	if !ok {
		return m.throttled(r, t, "TableReadKeyRangeThroughputExceeded"), nil
	}
	resp, err := m.next.RoundTrip(withBody(r, body))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	rb, err := readResponse(resp)
	if err != nil {
		return nil, err
	}
	var res struct{ Item json.RawMessage }
	json.Unmarshal(rb, &res)
	size := 0
	if len(res.Item) > 0 && string(res.Item) != "null" {
		size = rawItemSize(res.Item)
		if len(in["ProjectionExpression"]) == 0 {
			m.setSize(t.id(key), size)
		} else if s, ok := m.sizeOf(t.id(key)); ok && s > size {
			size = s
		}
	}
	cost := ReadUnits(size, string(in["ConsistentRead"]) == "true")
	m.mu.Lock()
	m.part(part).r.charge(cost, m.now())
	m.stats.ReadUnits[part] += cost
	m.mu.Unlock()
	return resp, nil
}

var (
	keyCondPart = regexp.MustCompile(`^\(?\s*([#\w.]+)\s*=\s*(:[\w]+)\s*\)?$`)
	keyCondAnd  = regexp.MustCompile(`(?i)\s+and\s+`)
)

// hashValue finds the value the key condition gives the partition key
// attribute.
func hashValue(cond string, names map[string]string, values attrs, hash string) (json.RawMessage, bool) {
	for _, part := range keyCondAnd.Split(strings.TrimSpace(cond), -1) {
		mm := keyCondPart.FindStringSubmatch(strings.TrimSpace(part))
		if mm == nil {
			continue
		}
		name := mm[1]
		if n, ok := names[name]; ok {
			name = n
		}
		if name == hash {
			v, ok := values[mm[2]]
			return v, ok
		}
	}
	return nil, false
}

// query is Query (and Scan): a query reads one partition, which must have
// read units left; it is charged, once done, for the items it read
// (before any filter: those the filter dropped are counted at the
// returned items' mean size). A Scan reads every partition and is not
// limited. A read of a global secondary index reads the lagged copy.
func (m *Model) query(r *http.Request, op string, body []byte, in map[string]json.RawMessage) (*http.Response, error) {
	t, err := m.schema(r, str(in["TableName"]))
	if err != nil {
		return m.next.RoundTrip(withBody(r, body))
	}
	indexName := str(in["IndexName"])
	hash := t.hash
	if indexName != "" {
		hash = ""
		for _, g := range t.gsis {
			if g.name == indexName {
				hash = g.hash
			}
		}
	}
	part := ""
	if op == "Query" && hash != "" {
		var names map[string]string
		var values attrs
		json.Unmarshal(in["ExpressionAttributeNames"], &names)
		json.Unmarshal(in["ExpressionAttributeValues"], &values)
		if v, ok := hashValue(str(in["KeyConditionExpression"]), names, values, hash); ok {
			part = partitionOf(t.name, indexName, v)
		}
	}
	if part != "" {
		m.mu.Lock()
		ok := m.part(part).r.open(m.now())
		if !ok {
			m.stats.Throttled++
		}
		m.mu.Unlock()
		if !ok {
			reason := "TableReadKeyRangeThroughputExceeded"
			if indexName != "" {
				reason = "IndexReadKeyRangeThroughputExceeded"
			}
			return m.throttled(r, t, reason), nil
		}
	}
	fwd := body
	if indexName != "" {
		if name, err := m.lagged(r, t); err != nil {
			return nil, err
		} else if name != "" {
			in["TableName"], _ = json.Marshal(name)
			fwd, _ = json.Marshal(in)
		}
	}
	resp, err := m.next.RoundTrip(withBody(r, fwd))
	if err != nil || resp.StatusCode != http.StatusOK || part == "" {
		return resp, err
	}
	rb, err := readResponse(resp)
	if err != nil {
		return nil, err
	}
	var res struct {
		Items        []json.RawMessage
		Count        int
		ScannedCount int
	}
	json.Unmarshal(rb, &res)
	projected := len(in["ProjectionExpression"]) > 0 || (str(in["Select"]) != "" && str(in["Select"]) != "ALL_ATTRIBUTES")
	bytes := 0
	for _, raw := range res.Items {
		size := rawItemSize(raw)
		var item attrs
		if json.Unmarshal(raw, &item) == nil && item[t.hash] != nil && (t.rng == "" || item[t.rng] != nil) {
			id := t.id(t.keyOf(item))
			if !projected && indexName == "" {
				m.setSize(id, size)
			} else if s, ok := m.sizeOf(id); ok && s > size {
				size = s
			}
		}
		bytes += size
	}
	if dropped := res.ScannedCount - res.Count; dropped > 0 {
		mean := writeUnit
		if len(res.Items) > 0 {
			mean = bytes / len(res.Items)
		}
		bytes += dropped * mean
	}
	consistent := indexName == "" && string(in["ConsistentRead"]) == "true"
	cost := ReadUnits(bytes, consistent)
	m.mu.Lock()
	m.part(part).r.charge(cost, m.now())
	m.stats.ReadUnits[part] += cost
	m.mu.Unlock()
	return resp, nil
}

// transactWrite is TransactWriteItems: each item costs twice its write
// units; a transaction touching an item another transaction in flight
// touches is cancelled with TransactionConflict, and one whose partitions
// lack the units with ThrottlingError. Its items stay in flight until its
// answer is back (release).
func (m *Model) transactWrite(r *http.Request, body []byte, in map[string]json.RawMessage, observe bool) (*http.Response, func(), error) {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(in["TransactItems"], &list); err != nil {
		resp, err := m.next.RoundTrip(withBody(r, body))
		return resp, nil, err
	}
	type titem struct {
		t      *table
		kind   string
		key    attrs
		image  json.RawMessage
		size   int
		id     uint64
		part   string
		reason string
	}
	items := make([]*titem, 0, len(list))
	for _, ti := range list {
		for kind, raw := range ti {
			var x struct {
				TableName string
				Item      json.RawMessage
				Key       attrs
			}
			json.Unmarshal(raw, &x)
			t, err := m.schema(r, x.TableName)
			if err != nil {
				resp, err := m.next.RoundTrip(withBody(r, body))
				return resp, nil, err
			}
			it := &titem{t: t, kind: kind, key: x.Key}
			if kind == "Put" {
				var item attrs
				json.Unmarshal(x.Item, &item)
				it.key, it.image, it.size = t.keyOf(item), x.Item, rawItemSize(x.Item)
			}
			it.id = t.id(it.key)
			it.part = partitionOf(t.name, "", it.key[t.hash])
			items = append(items, it)
		}
	}
	var release func()
	if !observe {
		for _, it := range items {
			if err := m.ensureShadow(r, it.t); err != nil {
				return nil, nil, err
			}
			if err := m.loadSizes(r, it.t, []attrs{it.key}); err != nil {
				return nil, nil, err
			}
		}
		// In flight from here: the emulator is the transaction's to use
		// until it answers.
		m.gate.Lock()
		m.mu.Lock()
		now := m.now()
		need := map[string]float64{}
		costs := make([]float64, len(items))
		for i, it := range items {
			costs[i] = 2 * WriteUnits(max(int(m.sizes[it.id]), it.size))
			need[it.part] += costs[i]
		}
		cancelled := false
		for _, it := range items {
			switch {
			case m.p.Conflicts && m.busy[it.id] > 0:
				it.reason = "TransactionConflict"
			case !m.canTake(m.part(it.part).w, need[it.part], now):
				it.reason = "ThrottlingError"
			}
			cancelled = cancelled || it.reason != ""
		}
		if !cancelled {
			for i, it := range items {
				m.part(it.part).w.take(costs[i], now)
				m.wrote(it.part, costs[i], now)
				if m.p.Conflicts {
					m.busy[it.id]++
				}
			}
		} else {
			conflict := false
			for _, it := range items {
				conflict = conflict || it.reason == "TransactionConflict"
			}
			if conflict {
				m.stats.Conflicts++
			} else {
				m.stats.Throttled++
			}
		}
		m.mu.Unlock()
		if cancelled {
			m.gate.Unlock()
			var reasons []map[string]string
			var codes []string
			for _, it := range items {
				switch it.reason {
				case "":
					reasons = append(reasons, map[string]string{"Code": "None"})
					codes = append(codes, "None")
				case "TransactionConflict":
					reasons = append(reasons, map[string]string{"Code": it.reason, "Message": "Transaction is ongoing for the item"})
					codes = append(codes, it.reason)
				default:
					reasons = append(reasons, map[string]string{"Code": it.reason, "Message": "Throughput exceeds the current capacity of one of your table's partitions."})
					codes = append(codes, it.reason)
				}
			}
			return ddbError(r, http.StatusBadRequest, "TransactionCanceledException",
				"Transaction cancelled, please refer cancellation reasons for specific reasons ["+strings.Join(codes, ", ")+"]",
				map[string]any{"CancellationReasons": reasons}), nil, nil
		}
		if m.p.Conflicts {
			release = func() {
				m.mu.Lock()
				defer m.mu.Unlock()
				for _, it := range items {
					if m.busy[it.id]--; m.busy[it.id] <= 0 {
						delete(m.busy, it.id)
					}
				}
			}
		}
	}
	var (
		resp *http.Response
		err  error
	)
	if observe {
		resp, err = m.next.RoundTrip(withBody(r, body))
	} else {
		resp, err = m.emulator.RoundTrip(withBody(r, body))
		m.gate.Unlock()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		if release != nil {
			release()
		}
		return resp, nil, err
	}
	for _, it := range items {
		switch it.kind {
		case "Put":
			m.setSize(it.id, it.size)
			m.record(it.t, it.key, it.image, observe)
		case "Delete":
			m.setSize(it.id, -1)
			m.record(it.t, it.key, nil, observe)
		case "Update":
			item, err := m.readItem(r, it.t, it.key)
			if err != nil {
				if release != nil {
					release()
				}
				return nil, nil, err
			}
			m.record(it.t, it.key, item, observe)
		}
	}
	return resp, release, nil
}

// canTake reports whether b could give n tokens now.
func (m *Model) canTake(b *bucket, n float64, now time.Duration) bool {
	if b.rate == 0 {
		return true
	}
	b.refill(now)
	return b.tokens >= n || b.tokens >= b.capacity || math.IsInf(n, 1)
}
