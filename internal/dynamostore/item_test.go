package dynamostore

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the named zones of the generated times

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
	"github.com/wellness-rtbf/rtbf/internal/export"
)

// itemTypes are every type the package (un)marshals: its item structs and
// the structs nested in them.
var itemTypes = []reflect.Type{
	reflect.TypeFor[settingItem](),
	reflect.TypeFor[PracticeItem](),
	reflect.TypeFor[PractitionerItem](),
	reflect.TypeFor[ClientItem](),
	reflect.TypeFor[Record](),
	reflect.TypeFor[ChatSessionItem](),
	reflect.TypeFor[ChatRefItem](),
	reflect.TypeFor[ContentItem](),
	reflect.TypeFor[notificationItem](),
	reflect.TypeFor[requestItem](),
	reflect.TypeFor[activeItem](),
	reflect.TypeFor[closedItem](),
	reflect.TypeFor[exportItem](),
	reflect.TypeFor[activeExportItem](),
	reflect.TypeFor[exportQuotaItem](),
	reflect.TypeFor[exportContent](),
	reflect.TypeFor[erasure.Counts](),
	reflect.TypeFor[export.Counts](),
}

var timeType = reflect.TypeFor[time.Time]()

// randomValues is how many random values of each type the tests compare.
const randomValues = 400

// TestItemTypesCovered fails when the package gains an item struct (a
// struct with dynamodbav tags) or a nested struct that itemTypes lacks, so
// that the tests below cover it.
func TestItemTypesCovered(t *testing.T) {
	listed := map[reflect.Type]bool{}
	byName := map[string]bool{}
	for _, typ := range itemTypes {
		listed[typ] = true
		if typ.PkgPath() == reflect.TypeFor[Store]().PkgPath() {
			byName[typ.Name()] = true
		}
	}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, f := range st.Fields.List {
				if f.Tag != nil && strings.Contains(f.Tag.Value, "dynamodbav:") {
					found++
					if !byName[ts.Name.Name] {
						t.Errorf("item type %s (%s) is not in itemTypes", ts.Name.Name, name)
					}
					break
				}
			}
			return true
		})
	}
	if found < 14 {
		t.Errorf("found only %d item types in the package's source", found)
	}
	// Every struct nested in an item type is listed too.
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice:
			walk(typ.Elem())
		case reflect.Struct:
			if typ == timeType {
				return
			}
			if !listed[typ] {
				t.Errorf("nested type %s is not in itemTypes", typ)
			}
			for i := range typ.NumField() {
				walk(typ.Field(i).Type)
			}
		}
	}
	for _, typ := range itemTypes {
		walk(typ)
	}
}

// ---- random values ----

var zones = func() []*time.Location {
	zs := []*time.Location{time.UTC, time.Local, time.FixedZone("", 0), time.FixedZone("", -7*3600-30*60),
		time.FixedZone("", 14*3600), time.FixedZone("CET", 3600), time.FixedZone("ODD", 5*3600+17)}
	for _, name := range []string{"America/New_York", "Asia/Kolkata", "Australia/Adelaide", "Pacific/Chatham", "Europe/Amsterdam"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		zs = append(zs, loc)
	}
	return zs
}()

var sampleStrings = []string{
	"", "", " ", "a", "PRACTICE#p1#CLIENT#c1", "journal_entry", "Zoë Ångström", "日本語のテキスト", "🧘‍♀️ breathe",
	"line\nbreak\ttab", "\x00nul", "\xff\xfe not UTF-8", "0", "-1", "1e3", "true", "null", "2025-03-01T09:00:00Z",
	strings.Repeat("long ", 200),
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		b := make([]rune, r.IntN(12))
		for i := range b {
			b[i] = rune(r.IntN(0x2FFF) + 1)
		}
		return string(b)
	}
	return sampleStrings[r.IntN(len(sampleStrings))]
}

// testNow is one time.Now, so that values made from the same seed are equal.
var testNow = time.Now()

func randomTime(r *rand.Rand) time.Time {
	switch r.IntN(8) {
	case 0:
		return time.Time{}
	case 1:
		return testNow // with a monotonic reading
	case 2:
		return time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	}
	// Years 1 to 9999: what RFC 3339 can write.
	lo, hi := time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	if r.IntN(2) == 0 {
		lo, hi = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	}
	ns := int64(0)
	switch r.IntN(4) {
	case 1:
		ns = r.Int64N(1e9)
	case 2:
		ns = r.Int64N(1000) * 1e6
	case 3:
		ns = 1
	}
	return time.Unix(lo+r.Int64N(hi-lo), ns).In(zones[r.IntN(len(zones))])
}

func randomInt(r *rand.Rand, bits int) int64 {
	lim := int64(1)<<(bits-1) - 1
	switch r.IntN(8) {
	case 0, 1:
		return 0
	case 2:
		return lim
	case 3:
		return -lim - 1
	case 4:
		return -r.Int64N(1000)
	case 5:
		return r.Int64N(lim) - r.Int64N(lim)
	}
	return r.Int64N(1000)
}

// fill sets v, settable, to a random value: nil and empty slices, empty
// strings, zero and other times in many zones, extreme integers.
func fill(r *rand.Rand, v reflect.Value) {
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(randomTime(r)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randomString(r))
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(randomInt(r, v.Type().Bits()))
	case reflect.Pointer:
		if r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(r, p.Elem())
		v.Set(p)
	case reflect.Slice:
		switch r.IntN(5) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, r.IntN(3)))
		default:
			n := 1 + r.IntN(5)
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				fill(r, v.Index(i))
			}
		}
	case reflect.Map:
		switch r.IntN(3) {
		case 0:
			v.SetZero()
		default:
			v.Set(reflect.MakeMap(v.Type()))
			for range r.IntN(4) {
				// A map key is never empty: DynamoDB takes none.
				k, e := reflect.ValueOf("k"+randomString(r)), reflect.New(v.Type().Elem()).Elem()
				fill(r, e)
				v.SetMapIndex(k, e)
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	default:
		panic("fill: " + v.Type().String())
	}
}

// full sets every field of v to a non-empty value.
func full(v reflect.Value) {
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Date(2025, 3, 1, 9, 30, 15, 123456789, zones[8])))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("value-" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-42)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		full(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 3, 3))
		v.Index(0).SetString("a")
		v.Index(2).SetString("b")
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		full(k)
		full(e)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				full(v.Field(i))
			}
		}
	}
}

// values returns the zero value of typ, a full one and random ones, each as
// a pointer; the same seed gives equal values that share no memory.
func values(typ reflect.Type, seed uint64, random int) []reflect.Value {
	r := rand.New(rand.NewPCG(seed, 0x17e7))
	zero, fu := reflect.New(typ), reflect.New(typ)
	full(fu.Elem())
	out := []reflect.Value{zero, fu}
	for range random {
		p := reflect.New(typ)
		fill(r, p.Elem())
		out = append(out, p)
	}
	return out
}

// sameValue reports whether b is a as written and read back: times by their
// RFC 3339 text (instant, wall clock and offset), and under stringset an
// empty set as nil, which is what attributevalue writes of it.
func sameValue(a, b reflect.Value, stringSet bool) bool {
	if a.Type() == timeType {
		return a.Interface().(time.Time).Format(time.RFC3339Nano) == b.Interface().(time.Time).Format(time.RFC3339Nano)
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem(), false)
	case reflect.Slice:
		if stringSet && a.Len() == 0 && b.Len() == 0 {
			return true
		}
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if a.Index(i).String() != b.Index(i).String() {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if e := b.MapIndex(k); !e.IsValid() || !sameValue(a.MapIndex(k), e, false) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			sf := a.Type().Field(i)
			if !sf.IsExported() || sf.Tag.Get("dynamodbav") == "-" {
				continue // not written
			}
			if !sameValue(a.Field(i), b.Field(i), strings.Contains(sf.Tag.Get("dynamodbav"), "stringset")) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

func show(v reflect.Value) string { return fmt.Sprintf("%+v", v.Elem().Interface()) }

// ---- the stored shapes ----

// stored is the attribute that README's data layout says holds v, and
// whether one is written at all: strings S, integers N, booleans BOOL,
// times S in RFC 3339 with nanoseconds (the zero time too, even under
// omitempty), lists of strings L or, tagged stringset, SS (an empty set
// NULL, even under omitempty), structs M of their fields named by tag or
// else by Go name; a nil pointer or slice NULL; under omitempty "", 0,
// false, a nil pointer and a nil slice are not written; a pointer's target
// is written as it is, even when empty; a map of strings M of its values.
func stored(v reflect.Value, omitEmpty, stringSet bool) (ddbtypes.AttributeValue, bool) {
	null := &ddbtypes.AttributeValueMemberNULL{Value: true}
	if v.Type() == timeType {
		return &ddbtypes.AttributeValueMemberS{Value: v.Interface().(time.Time).Format(time.RFC3339Nano)}, true
	}
	switch v.Kind() {
	case reflect.String:
		if omitEmpty && v.Len() == 0 {
			return nil, false
		}
		return &ddbtypes.AttributeValueMemberS{Value: v.String()}, true
	case reflect.Bool:
		if omitEmpty && !v.Bool() {
			return nil, false
		}
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Bool()}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if omitEmpty && v.Int() == 0 {
			return nil, false
		}
		return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v.Int(), 10)}, true
	case reflect.Pointer:
		if v.IsNil() {
			return null, !omitEmpty
		}
		return stored(v.Elem(), false, false)
	case reflect.Slice:
		if v.IsNil() {
			return null, !omitEmpty
		}
		if stringSet {
			if v.Len() == 0 {
				return null, true
			}
			ss := make([]string, v.Len())
			for i := range ss {
				ss[i] = v.Index(i).String()
			}
			return &ddbtypes.AttributeValueMemberSS{Value: ss}, true
		}
		l := make([]ddbtypes.AttributeValue, v.Len())
		for i := range l {
			l[i] = &ddbtypes.AttributeValueMemberS{Value: v.Index(i).String()}
		}
		return &ddbtypes.AttributeValueMemberL{Value: l}, true
	case reflect.Struct:
		m := map[string]ddbtypes.AttributeValue{}
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			name, opts, _ := strings.Cut(sf.Tag.Get("dynamodbav"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			o := strings.Split(opts, ",")
			if av, ok := stored(v.Field(i), slices.Contains(o, "omitempty"), slices.Contains(o, "stringset")); ok {
				m[name] = av
			}
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}, true
	case reflect.Map:
		// A map of string keys: M, each value stored by these rules; a nil
		// map NULL.
		if v.IsNil() {
			return null, !omitEmpty
		}
		m := map[string]ddbtypes.AttributeValue{}
		for _, k := range v.MapKeys() {
			if av, ok := stored(v.MapIndex(k), false, false); ok {
				m[k.String()] = av
			}
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}, true
	}
	panic("stored: no rule for " + v.Type().String())
}

// TestItemShapes: every item type, zero, full and random, is stored as
// README's data layout says (see stored), by MarshalItem, of a struct and
// of a pointer to it, and by marshalValue.
func TestItemShapes(t *testing.T) {
	for i, typ := range itemTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for n, p := range values(typ, uint64(i), randomValues) {
				want, _ := stored(p.Elem(), false, false)
				for _, in := range []any{p.Elem().Interface(), p.Interface()} {
					got, err := MarshalItem(in)
					if err != nil {
						t.Fatalf("value %d: %v", n, err)
					}
					if !reflect.DeepEqual(got, want.(*ddbtypes.AttributeValueMemberM).Value) {
						t.Fatalf("value %d %s:\n got  %s\n want %s", n, show(p), showItem(got), showAV(want))
					}
				}
				got, err := marshalValue(p.Elem().Interface())
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("value %d: marshalValue = %s, %v; want %s", n, showAV(got), err, showAV(want))
				}
			}
		})
	}
	// The values the package marshals alone: times (conditions, updates).
	r := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		at := randomTime(r)
		want, _ := stored(reflect.ValueOf(at), false, false)
		if got, err := marshalValue(at); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("marshalValue(%v) = %s, %v; want %s", at, showAV(got), err, showAV(want))
		}
	}
}

// TestItemRoundTrip: what MarshalItem writes, unmarshalItem and
// unmarshalItems read back as the value written (times as the same RFC 3339
// text: instant, wall clock and offset).
func TestItemRoundTrip(t *testing.T) {
	for i, typ := range itemTypes {
		t.Run(typ.String(), func(t *testing.T) {
			vs := values(typ, uint64(i)+100, randomValues)
			var items []map[string]ddbtypes.AttributeValue
			for n, p := range vs {
				item, err := MarshalItem(p.Interface())
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, item)
				back := reflect.New(typ)
				if err := unmarshalItem(item, back.Interface()); err != nil {
					t.Fatalf("value %d: %v", n, err)
				}
				if !sameValue(p.Elem(), back.Elem(), false) {
					t.Fatalf("value %d: read back\n %s\nnot\n %s", n, show(back), show(p))
				}
			}
			list := reflect.New(reflect.SliceOf(typ))
			if err := unmarshalItems(items, list.Interface()); err != nil {
				t.Fatal(err)
			}
			if list.Elem().Len() != len(vs) {
				t.Fatalf("unmarshalItems: got %d items, want %d", list.Elem().Len(), len(vs))
			}
			for n, p := range vs {
				if !sameValue(p.Elem(), list.Elem().Index(n), false) {
					t.Fatalf("unmarshalItems, value %d: read back\n %+v\nnot\n %s", n, list.Elem().Index(n).Interface(), show(p))
				}
			}
		})
	}
}

// ---- the rules, spelled out ----

// TestItemRules states the rules of the stored shapes on one item each, so
// that a failure says which rule broke; TestItemShapes proves them general.
func TestItemRules(t *testing.T) {
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	null := &ddbtypes.AttributeValueMemberNULL{Value: true}
	at := time.Date(2025, 3, 1, 9, 0, 0, 120000000, time.FixedZone("", 3600))
	got, err := MarshalItem(requestItem{Owed: []string{}, RequestedAt: at, SetAsideAt: &time.Time{}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]ddbtypes.AttributeValue{
		"pk":              s(""),                                       // "" without omitempty is an empty S
		"pendingPk":       nil,                                         // "" with omitempty is dropped
		"deliveryClaimMs": nil,                                         // 0 with omitempty is dropped
		"invocations":     &ddbtypes.AttributeValueMemberN{Value: "0"}, // 0 without is N 0
		"requestedAt":     s("2025-03-01T09:00:00.12+01:00"),           // RFC 3339 with nanoseconds, its zone kept
		"purgeAt":         s("0001-01-01T00:00:00Z"),                   // the zero time is written
		"setAsideAt":      s("0001-01-01T00:00:00Z"),                   // a pointer to it too, under omitempty
		"completedAt":     nil,                                         // a nil pointer with omitempty is dropped
		"owed":            null,                                        // an empty string set is NULL, even with omitempty
		"delivered":       null,                                        // a nil map is NULL
		"willDelete": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{ // untagged fields by Go name
			"JournalEntries": &ddbtypes.AttributeValueMemberN{Value: "0"}, "Documents": &ddbtypes.AttributeValueMemberN{Value: "0"},
			"ChatSessions": &ddbtypes.AttributeValueMemberN{Value: "0"}, "ChatMessages": &ddbtypes.AttributeValueMemberN{Value: "0"}}},
	} {
		if !reflect.DeepEqual(got[name], want) {
			t.Errorf("%s = %#v, want %#v", name, got[name], want)
		}
	}
	c, err := MarshalItem(ChatSessionItem{ClientIDs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c["clientIds"], &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{}}) || !reflect.DeepEqual(c["practitionerIds"], null) {
		t.Errorf("clientIds = %#v, practitionerIds = %#v; want an empty L and NULL", c["clientIds"], c["practitionerIds"])
	}
	r, err := MarshalItem(Record{ObjectKeys: nil, Title: ""})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r["objectKeys"]; ok {
		t.Errorf("a nil slice under omitempty is written: %#v", r["objectKeys"])
	}

	// Filled: a string set SS, lists of strings L, counts M under their
	// tags (an export's) or Go names (a request's).
	sent, err := MarshalItem(requestItem{Owed: []string{erasure.DeliveryClientRequested, erasure.DeliveryClientCancelled},
		WillDelete: erasure.Counts{JournalEntries: 12, ChatMessages: 40}})
	if err != nil {
		t.Fatal(err)
	}
	n := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }
	if want := (&ddbtypes.AttributeValueMemberSS{Value: []string{"client-requested", "client-cancelled"}}); !reflect.DeepEqual(sent["owed"], want) {
		t.Errorf("owed = %s, want %s", showAV(sent["owed"]), showAV(want))
	}
	if want := (&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"JournalEntries": n("12"), "Documents": n("0"), "ChatSessions": n("0"), "ChatMessages": n("40")}}); !reflect.DeepEqual(sent["willDelete"], want) {
		t.Errorf("willDelete = %s, want %s", showAV(sent["willDelete"]), showAV(want))
	}
	doc, err := MarshalItem(Record{ObjectKeys: []string{"k/file.pdf", "k/thumb.png"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{s("k/file.pdf"), s("k/thumb.png")}}); !reflect.DeepEqual(doc["objectKeys"], want) {
		t.Errorf("objectKeys = %s, want %s", showAV(doc["objectKeys"]), showAV(want))
	}
	ex, err := MarshalItem(exportItem{Counts: export.Counts{Documents: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"journalEntries": n("0"), "documents": n("3"), "chatSessions": n("0"), "chatMessages": n("0")}}); !reflect.DeepEqual(ex["counts"], want) {
		t.Errorf("counts = %s, want %s", showAV(ex["counts"]), showAV(want))
	}

	var rd requestItem
	rd.PurgePhase = "kept"
	if err := unmarshalItem(map[string]ddbtypes.AttributeValue{
		"REQUESTID":   s("r1"),                                         // case-insensitive fallback
		"requestedAt": &ddbtypes.AttributeValueMemberN{Value: "100"},   // N: Unix seconds
		"status":      &ddbtypes.AttributeValueMemberN{Value: "7"},     // N into a string: its text
		"setAsideAt":  null,                                            // NULL: nil
		"unknown":     &ddbtypes.AttributeValueMemberBOOL{Value: true}, // ignored
		"owed":        &ddbtypes.AttributeValueMemberSS{Value: []string{"a"}},
	}, &rd); err != nil {
		t.Fatal(err)
	}
	if rd.ID != "r1" || !rd.RequestedAt.Equal(time.Unix(100, 0)) || rd.Status != "7" || rd.SetAsideAt != nil ||
		rd.PurgePhase != "kept" || !slices.Equal(rd.Owed, []string{"a"}) {
		t.Errorf("decoded %+v", rd)
	}
}

// ---- errors ----

// withSmallInts has integers narrower than int, whose bounds a read checks.
type withSmallInts struct {
	A int8  `dynamodbav:"a"`
	B int32 `dynamodbav:"b"`
}

// TestItemDecodeErrors: a value of the wrong type, a bad or overflowing
// number and a bad time fail, in an item and in a list of items.
func TestItemDecodeErrors(t *testing.T) {
	n := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	for _, c := range []struct {
		attr string
		av   ddbtypes.AttributeValue
		out  any
	}{
		{"pk", &ddbtypes.AttributeValueMemberBOOL{Value: true}, &Record{}},
		{"createdAt", s("yesterday"), &Record{}},
		{"createdAt", n("1.5"), &Record{}},
		{"createdAt", &ddbtypes.AttributeValueMemberL{}, &Record{}},
		{"objectKeys", s("a"), &Record{}},
		{"objectKeys", &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberM{}}}, &Record{}},
		{"objectKeys", &ddbtypes.AttributeValueMemberB{Value: []byte("a")}, &Record{}},
		{"enabled", s("true"), &settingItem{}},
		{"updatedAt", s("2025-13-01T00:00:00Z"), &settingItem{}},
		{"invocations", s("1"), &requestItem{}},
		{"invocations", n("1.0"), &requestItem{}},
		{"invocations", n("ten"), &requestItem{}},
		{"leaseUntilMs", n("9223372036854775808"), &requestItem{}},
		{"willDelete", s("{}"), &requestItem{}},
		{"willDelete", &ddbtypes.AttributeValueMemberL{}, &requestItem{}},
		{"a", n("128"), &withSmallInts{}},
		{"b", n("-2147483649"), &withSmallInts{}},
	} {
		item := map[string]ddbtypes.AttributeValue{c.attr: c.av}
		err := unmarshalItem(item, c.out)
		if err == nil {
			t.Errorf("%s = %#v into %T: no error", c.attr, c.av, c.out)
			continue
		}
		if err := unmarshalItems([]map[string]ddbtypes.AttributeValue{{}, item}, reflect.New(reflect.SliceOf(reflect.TypeOf(c.out).Elem())).Interface()); err == nil {
			t.Errorf("%s = %#v: unmarshalItems: no error for item 1", c.attr, c.av)
		}
	}
	// A nested attribute of the wrong type fails too.
	err := unmarshalItem(map[string]ddbtypes.AttributeValue{"counts": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"Documents": s("x")}}}, &notificationItem{})
	if err == nil {
		t.Errorf("nested: no error")
	}
	// int8 and int32 hold their bounds.
	var si withSmallInts
	if err := unmarshalItem(map[string]ddbtypes.AttributeValue{"a": n("-128"), "b": n("2147483647")}, &si); err != nil || si.A != -128 || si.B != math.MaxInt32 {
		t.Errorf("small ints: %+v, %v", si, err)
	}
}

// showItem prints an item's attributes in name order.
func showItem(item map[string]ddbtypes.AttributeValue) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(item)) {
		fmt.Fprintf(&b, "%s=%s ", k, showAV(item[k]))
	}
	return b.String()
}

func showAV(av ddbtypes.AttributeValue) string {
	switch av := av.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return fmt.Sprintf("S%q", av.Value)
	case *ddbtypes.AttributeValueMemberN:
		return "N" + av.Value
	case *ddbtypes.AttributeValueMemberBOOL:
		return fmt.Sprint(av.Value)
	case *ddbtypes.AttributeValueMemberNULL:
		return "NULL"
	case *ddbtypes.AttributeValueMemberSS:
		return fmt.Sprintf("SS%q", av.Value)
	case *ddbtypes.AttributeValueMemberL:
		parts := make([]string, len(av.Value))
		for i, e := range av.Value {
			parts[i] = showAV(e)
		}
		if av.Value == nil {
			return "L(nil)"
		}
		return "L[" + strings.Join(parts, " ") + "]"
	case *ddbtypes.AttributeValueMemberM:
		return "M{" + showItem(av.Value) + "}"
	}
	return fmt.Sprintf("%#v", av)
}
