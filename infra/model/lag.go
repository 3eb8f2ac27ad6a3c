package model

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The lag of global secondary index reads. DynamoDB propagates a table's
// writes to its indexes asynchronously; a query on an index may not see a
// write that has succeeded. The model keeps, per table with indexes, a
// lagged copy in the emulator (a table of the same shape, named
// "<table>.gsi-lag", holding the items that belong to some index) and
// answers index reads from it. Each write the model lets through reaches
// the copy GSILag later, in the order the writes were made; a write of the
// Observer (a test setting the scene) reaches it at once, behind any
// lagged write to the same item. The copy is made at the first modelled
// write to the table, from the table as it is then.

// shadow is a table's lagged copy.
type shadow struct {
	name    string
	keys    map[uint64]bool // items the copy holds
	queue   []change        // by due time
	lastDue map[uint64]time.Duration
}

// change is one write on its way to the copy: the item's image after it
// (nil: gone).
type change struct {
	due   time.Duration
	id    uint64
	key   attrs
	image json.RawMessage
}

// inIndex reports whether an item belongs to one of the table's indexes
// (it has an index's partition key).
func (t *table) inIndex(image json.RawMessage) bool {
	var item attrs
	if json.Unmarshal(image, &item) != nil {
		return false
	}
	for _, g := range t.gsis {
		if _, ok := item[g.hash]; ok {
			return true
		}
	}
	return false
}

// ensureShadow makes the table's lagged copy, if reads of its indexes lag
// and it has none yet.
func (m *Model) ensureShadow(r *http.Request, t *table) error {
	if m.p.GSILag <= 0 || len(t.gsis) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shadow != nil {
		return nil
	}
	s := &shadow{name: t.name + ".gsi-lag", keys: map[uint64]bool{}, lastDue: map[uint64]time.Duration{}}
	create := map[string]any{
		"TableName":            s.name,
		"BillingMode":          "PAY_PER_REQUEST",
		"AttributeDefinitions": t.desc["AttributeDefinitions"],
		"KeySchema":            t.desc["KeySchema"],
	}
	var gsis []map[string]json.RawMessage
	json.Unmarshal(t.desc["GlobalSecondaryIndexes"], &gsis)
	var defs []map[string]json.RawMessage
	for _, g := range gsis {
		defs = append(defs, map[string]json.RawMessage{"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]})
	}
	create["GlobalSecondaryIndexes"] = defs
	if _, err := m.ddbCall(r, "CreateTable", create); err != nil && !strings.Contains(err.Error(), "ResourceInUse") {
		return err
	}
	// The copy starts as the table is: the items of its indexes.
	names := map[string]string{}
	var conds []string
	for i, g := range t.gsis {
		n := "#h" + strconv.Itoa(i)
		names[n] = g.hash
		conds = append(conds, "attribute_exists("+n+")")
	}
	scan := map[string]any{
		"TableName": t.name, "ConsistentRead": true,
		"FilterExpression": strings.Join(conds, " OR "), "ExpressionAttributeNames": names,
	}
	for {
		out, err := m.ddbCall(r, "Scan", scan)
		if err != nil {
			return err
		}
		var items []json.RawMessage
		json.Unmarshal(out["Items"], &items)
		for start := 0; start < len(items); start += 25 {
			var reqs []any
			for _, raw := range items[start:min(start+25, len(items))] {
				var item attrs
				json.Unmarshal(raw, &item)
				s.keys[t.id(t.keyOf(item))] = true
				reqs = append(reqs, map[string]any{"PutRequest": map[string]any{"Item": raw}})
			}
			pending := map[string]any{s.name: reqs}
			for len(pending) > 0 {
				res, err := m.ddbCall(r, "BatchWriteItem", map[string]any{"RequestItems": pending})
				if err != nil {
					return err
				}
				var left map[string]json.RawMessage
				json.Unmarshal(res["UnprocessedItems"], &left)
				pending = map[string]any{}
				for k, v := range left {
					pending[k] = v
				}
			}
		}
		last := out["LastEvaluatedKey"]
		if len(last) == 0 || string(last) == "null" || string(last) == "{}" {
			break
		}
		scan["ExclusiveStartKey"] = last
	}
	t.shadow = s
	return nil
}

// record sends a write on its way to the table's lagged copy: GSILag from
// now, or at once for the Observer's, but never ahead of an earlier write
// to the same item.
func (m *Model) record(t *table, key attrs, image json.RawMessage, observe bool) {
	if m.p.GSILag <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.shadow
	if s == nil {
		return // no modelled write yet: the copy, once made, starts from the table
	}
	m.mu.Lock()
	due := m.now()
	m.mu.Unlock()
	if !observe {
		due += m.p.GSILag
	}
	id := t.id(key)
	if d := s.lastDue[id]; d > due {
		due = d
	}
	s.lastDue[id] = due
	i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].due > due })
	s.queue = append(s.queue, change{})
	copy(s.queue[i+1:], s.queue[i:])
	s.queue[i] = change{due: due, id: id, key: key, image: image}
}

// lagged brings the table's lagged copy up to now and returns its name
// ("" when the table has none: no modelled write has touched it, so its
// indexes hold everything).
func (m *Model) lagged(r *http.Request, t *table) (string, error) {
	if m.p.GSILag <= 0 {
		return "", nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.shadow
	if s == nil {
		return "", nil
	}
	m.mu.Lock()
	now := m.now()
	m.mu.Unlock()
	n := 0
	for ; n < len(s.queue) && s.queue[n].due <= now; n++ {
		c := s.queue[n]
		switch {
		case c.image != nil && t.inIndex(c.image):
			if _, err := m.ddbCall(r, "PutItem", map[string]any{"TableName": s.name, "Item": c.image}); err != nil {
				return "", err
			}
			s.keys[c.id] = true
		case s.keys[c.id]:
			if _, err := m.ddbCall(r, "DeleteItem", map[string]any{"TableName": s.name, "Key": c.key}); err != nil {
				return "", err
			}
			delete(s.keys, c.id)
		}
		if s.lastDue[c.id] == c.due {
			delete(s.lastDue, c.id)
		}
	}
	s.queue = s.queue[n:]
	return s.name, nil
}
