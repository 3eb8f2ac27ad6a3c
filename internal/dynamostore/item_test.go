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
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the named zones of the generated times

	// The codec's reference. A test-only import: it stays out of the
	// bootstraps.
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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

// shapeTypes hold the shapes the codec supports that no item type uses
// yet, so that the comparisons with attributevalue cover them too.
var shapeTypes = []reflect.Type{reflect.TypeFor[codecShapes](), reflect.TypeFor[shapeNested]()}

type codecShapes struct {
	Untagged   string
	Flag       bool             `dynamodbav:"flag,omitempty"`
	FlagKept   bool             `dynamodbav:"flagKept"`
	OnlyOpts   string           `dynamodbav:",omitempty"`
	Empty      string           `dynamodbav:""`
	Skipped    string           `dynamodbav:"-"`
	I8         int8             `dynamodbav:"i8"`
	I16        int16            `dynamodbav:"i16,omitempty"`
	I32        int32            `dynamodbav:"i32"`
	Statuses   []erasure.Status `dynamodbav:"statuses"`
	Set        []string         `dynamodbav:"set,stringset"`
	PStr       *string          `dynamodbav:"pStr"`
	PStrOmit   *string          `dynamodbav:"pStrOmit,omitempty"`
	PBool      *bool            `dynamodbav:"pBool,omitempty"`
	PInt       *int64           `dynamodbav:"pInt"`
	PTime      *time.Time       `dynamodbav:"pTime"`
	Nested     shapeNested      `dynamodbav:"nested,omitempty"`
	PNested    *shapeNested     `dynamodbav:"pNested"`
	TimeOmit   time.Time        `dynamodbav:"timeOmit,omitempty"`
	unexported string
}

type shapeNested struct {
	A string `dynamodbav:"a,omitempty"`
	T time.Time
	L []string
	C erasure.Counts
}

// allTypes are the types the comparisons with attributevalue run on.
var allTypes = slices.Concat(itemTypes, shapeTypes)

// randomValues is how many random values of each type the tests compare.
const randomValues = 400

// TestItemTypesCovered fails when the package gains an item struct (a
// struct with dynamodbav tags) or a nested struct that itemTypes lacks, so
// that the comparisons below cover it.
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

// ---- compatibility with attributevalue ----

// TestItemMarshalMatchesAttributevalue: for every item type, the codec
// writes exactly what attributevalue.MarshalMap writes, of a struct and of a
// pointer to it, and marshalValue what attributevalue.Marshal does.
func TestItemMarshalMatchesAttributevalue(t *testing.T) {
	for i, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for n, p := range values(typ, uint64(i), randomValues) {
				want, err := attributevalue.MarshalMap(p.Elem().Interface())
				if err != nil {
					t.Fatal(err)
				}
				for _, in := range []any{p.Elem().Interface(), p.Interface()} {
					got, err := MarshalItem(in)
					if err != nil {
						t.Fatalf("value %d: %v", n, err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("value %d %s:\n got  %s\n want %s", n, show(p), showItem(got), showItem(want))
					}
				}
				wantV, err := attributevalue.Marshal(p.Elem().Interface())
				if err != nil {
					t.Fatal(err)
				}
				gotV, err := marshalValue(p.Elem().Interface())
				if err != nil || !reflect.DeepEqual(gotV, wantV) {
					t.Fatalf("value %d: marshalValue = %#v, %v; want %#v", n, gotV, err, wantV)
				}
			}
		})
	}
}

// TestItemMarshalValueMatchesAttributevalue compares marshalValue with
// attributevalue.Marshal on the other values the package marshals alone
// (times) and on the codec's other kinds.
func TestItemMarshalValueMatchesAttributevalue(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var ins []any
	for range 2000 {
		ins = append(ins, randomTime(r))
	}
	tm := time.Date(2025, 3, 1, 9, 0, 0, 5, zones[8])
	ins = append(ins, time.Time{}, &tm, "", "x", erasure.StatusPurging, true, false, 0, int8(-8), int32(math.MinInt32),
		int64(math.MaxInt64), []string(nil), []string{}, []string{"", "a"}, erasure.Counts{}, &export.Counts{Documents: 3})
	for _, in := range ins {
		want, err := attributevalue.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalValue(in)
		if err != nil {
			t.Fatalf("%#v: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("marshalValue(%#v) = %#v, want %#v", in, got, want)
		}
	}
}

// TestItemUnmarshalMatchesAttributevalue: of what attributevalue writes,
// the codec reads what attributevalue reads; attributevalue reads what the
// codec writes back into the value written; the codec reads its own items
// back too.
func TestItemUnmarshalMatchesAttributevalue(t *testing.T) {
	for i, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for n, p := range values(typ, uint64(i), randomValues) {
				item, err := attributevalue.MarshalMap(p.Elem().Interface())
				if err != nil {
					t.Fatal(err)
				}
				want, got := reflect.New(typ), reflect.New(typ)
				if err := attributevalue.UnmarshalMap(item, want.Interface()); err != nil {
					t.Fatal(err)
				}
				if err := unmarshalItem(item, got.Interface()); err != nil {
					t.Fatalf("value %d: %v", n, err)
				}
				if !reflect.DeepEqual(got.Interface(), want.Interface()) {
					t.Fatalf("value %d of %s:\n got  %s\n want %s", n, showItem(item), show(got), show(want))
				}

				ours, err := MarshalItem(p.Interface())
				if err != nil {
					t.Fatal(err)
				}
				back := reflect.New(typ)
				if err := attributevalue.UnmarshalMap(ours, back.Interface()); err != nil {
					t.Fatalf("value %d: attributevalue reads %s: %v", n, showItem(ours), err)
				}
				if !sameValue(p.Elem(), back.Elem(), false) {
					t.Fatalf("value %d: attributevalue reads back\n %s\nnot\n %s", n, show(back), show(p))
				}
				own := reflect.New(typ)
				if err := unmarshalItem(ours, own.Interface()); err != nil || !reflect.DeepEqual(own.Interface(), back.Interface()) {
					t.Fatalf("value %d: the codec reads back %s, %v; want %s", n, show(own), err, show(back))
				}
			}
		})
	}
}

// TestItemUnmarshalIntoValuesMatchesAttributevalue decodes into values
// already set, as attributevalue does: absent attributes keep the fields,
// pointers are decoded through.
func TestItemUnmarshalIntoValuesMatchesAttributevalue(t *testing.T) {
	for i, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			src := values(typ, uint64(i)+100, randomValues)
			wants, gots := values(typ, uint64(i)+200, randomValues), values(typ, uint64(i)+200, randomValues)
			for n, p := range src {
				item, err := attributevalue.MarshalMap(p.Elem().Interface())
				if err != nil {
					t.Fatal(err)
				}
				// Drop some attributes, so that the fields they would set keep
				// their values.
				for k := range item {
					if len(k)%3 == n%3 {
						delete(item, k)
					}
				}
				if err := attributevalue.UnmarshalMap(item, wants[n].Interface()); err != nil {
					t.Fatal(err)
				}
				if err := unmarshalItem(item, gots[n].Interface()); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(gots[n].Interface(), wants[n].Interface()) {
					t.Fatalf("value %d:\n got  %s\n want %s", n, show(gots[n]), show(wants[n]))
				}
			}
		})
	}
}

// TestItemUnmarshalListMatchesAttributevalue compares unmarshalItems with
// attributevalue.UnmarshalListOfMaps, into nil, exact, larger and smaller
// slices, with and without items.
func TestItemUnmarshalListMatchesAttributevalue(t *testing.T) {
	for i, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			var items []map[string]ddbtypes.AttributeValue
			for _, p := range values(typ, uint64(i)+300, randomValues) {
				item, err := attributevalue.MarshalMap(p.Elem().Interface())
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, item)
			}
			sliceOf := func(n, c int, seed uint64) reflect.Value {
				p := reflect.New(reflect.SliceOf(typ))
				if n < 0 {
					return p // nil
				}
				p.Elem().Set(reflect.MakeSlice(p.Elem().Type(), n, c))
				vs := values(typ, seed, n)
				for j := range n {
					p.Elem().Index(j).Set(vs[j%len(vs)].Elem())
				}
				return p
			}
			for _, in := range [][]map[string]ddbtypes.AttributeValue{items, items[:1], items[:0], nil} {
				for _, shape := range [][2]int{{-1, 0}, {0, 0}, {len(in), len(in)}, {len(in) + 3, len(in) + 5}, {1, 2}, {3, 3}} {
					seed := uint64(len(in)*31 + shape[0])
					// values() builds fresh values per call: the two slices share no memory.
					want, got := sliceOf(shape[0], shape[1], seed), sliceOf(shape[0], shape[1], seed)
					if err := attributevalue.UnmarshalListOfMaps(in, want.Interface()); err != nil {
						t.Fatal(err)
					}
					if err := unmarshalItems(in, got.Interface()); err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got.Interface(), want.Interface()) {
						t.Fatalf("%d items into %v: got %d elements, want %d", len(in), shape, got.Elem().Len(), want.Elem().Len())
					}
				}
			}
		})
	}
}

// foreignValues are attribute values another writer might put where a
// field of ours is: every type, bad numbers, edge times.
var foreignValues = []ddbtypes.AttributeValue{
	nil,
	&ddbtypes.AttributeValueMemberNULL{Value: true},
	&ddbtypes.AttributeValueMemberS{Value: ""},
	&ddbtypes.AttributeValueMemberS{Value: "text"},
	&ddbtypes.AttributeValueMemberS{Value: "2025-03-01T09:00:00Z"},
	&ddbtypes.AttributeValueMemberS{Value: "2025-03-01T09:00:00.123456789+05:30"},
	&ddbtypes.AttributeValueMemberS{Value: "2025-03-01T09:00:00.5-00:00"},
	&ddbtypes.AttributeValueMemberS{Value: "2025-03-01 09:00:00"},
	&ddbtypes.AttributeValueMemberS{Value: "2025-03-01T24:00:00Z"},
	&ddbtypes.AttributeValueMemberN{Value: "0"},
	&ddbtypes.AttributeValueMemberN{Value: "42"},
	&ddbtypes.AttributeValueMemberN{Value: "-7"},
	&ddbtypes.AttributeValueMemberN{Value: "1740819600"},
	&ddbtypes.AttributeValueMemberN{Value: "1.5"},
	&ddbtypes.AttributeValueMemberN{Value: "1e3"},
	&ddbtypes.AttributeValueMemberN{Value: "9223372036854775807"},
	&ddbtypes.AttributeValueMemberN{Value: "-9223372036854775808"},
	&ddbtypes.AttributeValueMemberN{Value: "9223372036854775808"},
	&ddbtypes.AttributeValueMemberN{Value: "abc"},
	&ddbtypes.AttributeValueMemberBOOL{Value: true},
	&ddbtypes.AttributeValueMemberBOOL{Value: false},
	&ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{}},
	&ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{
		&ddbtypes.AttributeValueMemberS{Value: "a"}, &ddbtypes.AttributeValueMemberN{Value: "1"},
		&ddbtypes.AttributeValueMemberNULL{Value: true}, nil}},
	&ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberBOOL{Value: true}}},
	&ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
	&ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
	&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{}},
	&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"JournalEntries": &ddbtypes.AttributeValueMemberN{Value: "3"}, "documents": &ddbtypes.AttributeValueMemberN{Value: "4"},
		"chatSessions": &ddbtypes.AttributeValueMemberN{Value: "5"}, "other": &ddbtypes.AttributeValueMemberS{Value: "x"}}},
	&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"Documents": &ddbtypes.AttributeValueMemberS{Value: "4"}}},
	&ddbtypes.AttributeValueMemberB{Value: []byte{1, 2}},
	&ddbtypes.AttributeValueMemberBS{Value: [][]byte{{1}}},
}

// knownDifference reports where the codec refuses what attributevalue
// takes: an M into a time, which attributevalue leaves as it was.
func knownDifference(fieldType reflect.Type, av ddbtypes.AttributeValue) bool {
	_, isM := av.(*ddbtypes.AttributeValueMemberM)
	return isM && (fieldType == timeType || fieldType == reflect.PointerTo(timeType))
}

// TestItemUnmarshalForeignMatchesAttributevalue puts every foreign value in
// every attribute of every item type, and under its name in other cases:
// the codec reads what attributevalue reads, and fails where it fails.
func TestItemUnmarshalForeignMatchesAttributevalue(t *testing.T) {
	for i, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			base := values(typ, uint64(i), 0)[1] // full
			sc, err := structCodecFor(typ, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range sc.fields {
				fieldType := typ.Field(f.index).Type
				for _, name := range []string{f.name, strings.ToUpper(f.name), strings.ToLower(f.name)} {
					for j, av := range foreignValues {
						item, err := MarshalItem(base.Interface())
						if err != nil {
							t.Fatal(err)
						}
						delete(item, f.name)
						item[name] = av
						want, got := reflect.New(typ), reflect.New(typ)
						werr := attributevalue.UnmarshalMap(item, want.Interface())
						gerr := unmarshalItem(item, got.Interface())
						switch {
						case werr != nil && gerr == nil:
							t.Errorf("%s = foreign %d: attributevalue fails (%v), the codec does not", name, j, werr)
						case werr != nil:
							if !strings.Contains(gerr.Error(), fmt.Sprintf("%q", name)) {
								t.Errorf("%s = foreign %d: error %q does not name the attribute", name, j, gerr)
							}
						case gerr != nil && !knownDifference(fieldType, av):
							t.Errorf("%s = foreign %d: attributevalue reads it, the codec fails: %v", name, j, gerr)
						case gerr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()):
							t.Errorf("%s = foreign %d:\n got  %s\n want %s", name, j, show(got), show(want))
						}
					}
				}
			}
		})
	}
}

// TestItemKnownDifference pins the one place the codec is stricter than
// attributevalue.
func TestItemKnownDifference(t *testing.T) {
	item := map[string]ddbtypes.AttributeValue{"createdAt": &ddbtypes.AttributeValueMemberM{}}
	var want, got Record
	if err := attributevalue.UnmarshalMap(item, &want); err != nil || !want.CreatedAt.IsZero() {
		t.Fatalf("attributevalue: %v, %v; it used to ignore an M in a time", want.CreatedAt, err)
	}
	if err := unmarshalItem(item, &got); err == nil || !strings.Contains(err.Error(), `"createdAt"`) {
		t.Fatalf("the codec: %v, want an error naming createdAt", err)
	}
}

// ---- the rules, spelled out ----

// TestItemRules states the compatibility rules on one item each, so that a
// failure says which rule broke; the comparisons above prove them general.
func TestItemRules(t *testing.T) {
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	null := &ddbtypes.AttributeValueMemberNULL{Value: true}
	at := time.Date(2025, 3, 1, 9, 0, 0, 120000000, time.FixedZone("", 3600))
	got, err := MarshalItem(requestItem{EmailsSent: []string{}, RequestedAt: at, NotifiedAt: &time.Time{}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]ddbtypes.AttributeValue{
		"pk":             s(""),                                       // "" without omitempty is an empty S
		"pendingPk":      nil,                                         // "" with omitempty is dropped
		"emailClaimedMs": nil,                                         // 0 with omitempty is dropped
		"invocations":    &ddbtypes.AttributeValueMemberN{Value: "0"}, // 0 without is N 0
		"requestedAt":    s("2025-03-01T09:00:00.12+01:00"),           // RFC 3339 with nanoseconds, its zone kept
		"purgeAt":        s("0001-01-01T00:00:00Z"),                   // the zero time is written
		"notifiedAt":     s("0001-01-01T00:00:00Z"),                   // a pointer to it too, under omitempty
		"completedAt":    nil,                                         // a nil pointer with omitempty is dropped
		"emailsSent":     null,                                        // an empty string set is NULL, even with omitempty
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

	var rd requestItem
	rd.PurgePhase = "kept"
	if err := unmarshalItem(map[string]ddbtypes.AttributeValue{
		"REQUESTID":   s("r1"),                                         // case-insensitive fallback
		"requestedAt": &ddbtypes.AttributeValueMemberN{Value: "100"},   // N: Unix seconds
		"status":      &ddbtypes.AttributeValueMemberN{Value: "7"},     // N into a string: its text
		"notifiedAt":  null,                                            // NULL: nil
		"unknown":     &ddbtypes.AttributeValueMemberBOOL{Value: true}, // ignored
		"emailsSent":  &ddbtypes.AttributeValueMemberSS{Value: []string{"a"}},
	}, &rd); err != nil {
		t.Fatal(err)
	}
	if rd.ID != "r1" || !rd.RequestedAt.Equal(time.Unix(100, 0)) || rd.Status != "7" || rd.NotifiedAt != nil ||
		rd.PurgePhase != "kept" || !slices.Equal(rd.EmailsSent, []string{"a"}) {
		t.Errorf("decoded %+v", rd)
	}
}

// ---- errors ----

type (
	withMap       struct{ M map[string]string }
	withFloat     struct{ F float64 }
	withUint      struct{ U uint }
	withBytes     struct{ B []byte }
	withInterface struct{ I any }
	withChan      struct{ C chan int }
	withInts      struct{ I []int }
	withPtrSlice  struct{ P *[]string }
	withEmbedded  struct{ ChatRefItem }
	withOption    struct {
		N int `dynamodbav:"n,unixtime"`
	}
	withDuplicate struct {
		A string `dynamodbav:"x"`
		B string `dynamodbav:"x"`
	}
	withBadSet struct {
		S string `dynamodbav:"s,stringset"`
	}
	withRecursion struct{ Next *withRecursion }
	myTime        time.Time
	withMyTime    struct{ T myTime }
	withMarshaler struct{ U attributevalue.UnixTime }
	number        string
	withNumber    struct{ N number }
	withSmallInts struct {
		A int8  `dynamodbav:"a"`
		B int32 `dynamodbav:"b"`
	}
	withIgnored struct {
		Keep    string
		Skip    map[string]int `dynamodbav:"-"`
		private chan int
	}
)

func (n number) Float64() (float64, error) { return 0, nil }
func (n number) Int64() (int64, error)     { return 0, nil }
func (n number) String() string            { return string(n) }

// TestItemUnsupported: types outside what the codec supports are refused
// with an error, on writing and reading, and never panic.
func TestItemUnsupported(t *testing.T) {
	for _, v := range []any{
		withMap{}, withFloat{}, withUint{}, withBytes{}, withInterface{}, withChan{}, withInts{}, withPtrSlice{},
		withEmbedded{}, withOption{}, withDuplicate{}, withBadSet{}, withRecursion{}, withMyTime{}, withMarshaler{}, withNumber{},
	} {
		typ := reflect.TypeOf(v)
		if _, err := MarshalItem(v); err == nil {
			t.Errorf("MarshalItem(%s) succeeds", typ)
		}
		if _, err := marshalValue(v); err == nil {
			t.Errorf("marshalValue(%s) succeeds", typ)
		}
		if err := unmarshalItem(map[string]ddbtypes.AttributeValue{}, reflect.New(typ).Interface()); err == nil {
			t.Errorf("unmarshalItem into %s succeeds", typ)
		}
		if err := unmarshalItems(nil, reflect.New(reflect.SliceOf(typ)).Interface()); err == nil {
			t.Errorf("unmarshalItems into %s succeeds", typ)
		}
	}
	var r Record
	var rs []Record
	for _, out := range []any{nil, r, &rs, (*Record)(nil), new(string), new(time.Time), new(*Record)} {
		if err := unmarshalItem(nil, out); err == nil {
			t.Errorf("unmarshalItem into %T succeeds", out)
		}
	}
	for _, out := range []any{nil, rs, &r, (*[]Record)(nil), new([]string), new([]*Record), new([]time.Time)} {
		if err := unmarshalItems(nil, out); err == nil {
			t.Errorf("unmarshalItems into %T succeeds", out)
		}
	}
	for _, in := range []any{nil, "s", 1, time.Time{}, (*Record)(nil), []Record{}, map[string]string{}} {
		if _, err := MarshalItem(in); err == nil {
			t.Errorf("MarshalItem(%T) succeeds", in)
		}
	}
	if _, err := marshalValue(nil); err == nil {
		t.Error("marshalValue(nil) succeeds")
	}
	// Fields skipped by "-" or by being unexported may be of any type.
	got, err := MarshalItem(withIgnored{Keep: "k"})
	if err != nil || len(got) != 1 {
		t.Errorf("MarshalItem(withIgnored) = %v, %v", got, err)
	}
}

// TestItemDecodeErrors: a value of the wrong type, a bad or overflowing
// number and a bad time fail, naming the attribute.
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
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.attr)) {
			t.Errorf("%s = %#v: error %q does not name the attribute", c.attr, c.av, err)
		}
		if aerr := attributevalue.UnmarshalMap(item, reflect.New(reflect.TypeOf(c.out).Elem()).Interface()); aerr == nil {
			t.Errorf("%s = %#v: attributevalue reads it", c.attr, c.av)
		}
		if err := unmarshalItems([]map[string]ddbtypes.AttributeValue{{}, item}, reflect.New(reflect.SliceOf(reflect.TypeOf(c.out).Elem())).Interface()); err == nil ||
			!strings.Contains(err.Error(), "item 1") {
			t.Errorf("unmarshalItems: %v, want an error for item 1", err)
		}
	}
	// A nested attribute is named with its parent.
	err := unmarshalItem(map[string]ddbtypes.AttributeValue{"counts": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"Documents": s("x")}}}, &notificationItem{})
	if err == nil || !strings.Contains(err.Error(), `"counts"`) || !strings.Contains(err.Error(), `"Documents"`) {
		t.Errorf("nested: %v", err)
	}
	// int8 and int32 hold their bounds.
	var si withSmallInts
	if err := unmarshalItem(map[string]ddbtypes.AttributeValue{"a": n("-128"), "b": n("2147483647")}, &si); err != nil || si.A != -128 || si.B != math.MaxInt32 {
		t.Errorf("small ints: %+v, %v", si, err)
	}
}

// concurrentItem is used by TestItemConcurrent alone, so that its codec is
// built there, by the racing goroutines.
type concurrentItem struct {
	PK     string         `dynamodbav:"pk"`
	At     time.Time      `dynamodbav:"at"`
	Counts erasure.Counts `dynamodbav:"counts"`
}

// TestItemConcurrent builds and uses one type's codec from many goroutines
// at once (run it with -race).
func TestItemConcurrent(t *testing.T) {
	in := concurrentItem{PK: "p", At: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), Counts: erasure.Counts{Documents: 2}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			item, err := MarshalItem(in)
			if err != nil {
				t.Error(err)
				return
			}
			var out []concurrentItem
			if err := unmarshalItems([]map[string]ddbtypes.AttributeValue{item}, &out); err != nil || len(out) != 1 || out[0] != in {
				t.Errorf("read back %+v, %v", out, err)
			}
		})
	}
	wg.Wait()
}

// ---- benchmarks ----

func benchItems() (requestItem, ContentItem) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 123456789, time.UTC)
	return requestItem{
			PK: RequestPK("r-0123456789"), SK: skRequest, PendingPK: pendingValue, PendingSK: pendingSK(at, "r-0123456789"),
			PracticePK: PracticeRequestsPK("p-1"), PracticeSK: pendingSK(at, "r-0123456789"), ID: "r-0123456789",
			PracticeID: "p-1", ClientID: "c-1", RequestedBy: "c-1", Status: erasure.StatusScheduled,
			RequestedAt: at, PurgeAt: at.Add(72 * time.Hour), WillDelete: erasure.Counts{JournalEntries: 120, Documents: 8, ChatSessions: 2, ChatMessages: 400},
			ScheduleName: "rtbf-r-0123456789", NotifiedAt: &at, EmailsSent: []string{"received", "scheduled"}, Invocations: 1,
		}, ContentItem{
			PK: ClientPK("p-1", "c-1"), SK: JournalSK("j-000123"), AuthorRole: erasure.RoleClient, AuthorID: "c-1",
		}
}

// BenchmarkItemDecode compares reading a deletion request and a page of
// purge content (Query items projected to keys and author) with
// attributevalue.
func BenchmarkItemDecode(b *testing.B) {
	req, content := benchItems()
	reqItem, err := MarshalItem(req)
	if err != nil {
		b.Fatal(err)
	}
	ci, err := MarshalItem(content)
	if err != nil {
		b.Fatal(err)
	}
	page := slices.Repeat([]map[string]ddbtypes.AttributeValue{ci}, 100)
	b.Run("request/codec", func(b *testing.B) {
		for b.Loop() {
			var it requestItem
			if err := unmarshalItem(reqItem, &it); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request/attributevalue", func(b *testing.B) {
		for b.Loop() {
			var it requestItem
			if err := attributevalue.UnmarshalMap(reqItem, &it); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("content100/codec", func(b *testing.B) {
		for b.Loop() {
			out := make([]ContentItem, len(page))
			if err := unmarshalItems(page, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("content100/attributevalue", func(b *testing.B) {
		for b.Loop() {
			out := make([]ContentItem, len(page))
			if err := attributevalue.UnmarshalListOfMaps(page, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkItemEncode compares writing a deletion request with
// attributevalue.
func BenchmarkItemEncode(b *testing.B) {
	req, _ := benchItems()
	b.Run("request/codec", func(b *testing.B) {
		for b.Loop() {
			if _, err := MarshalItem(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request/attributevalue", func(b *testing.B) {
		for b.Loop() {
			if _, err := attributevalue.MarshalMap(req); err != nil {
				b.Fatal(err)
			}
		}
	})
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
