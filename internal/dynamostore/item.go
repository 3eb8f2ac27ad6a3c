package dynamostore

// This file is the package's item codec: it turns the item structs into
// DynamoDB attribute maps and back. It replaces the SDK's
// feature/dynamodb/attributevalue, which costs about 100 KB in every
// bootstrap (it brings in service/dynamodbstreams), for the few shapes the
// items use: strings, bools, signed integers, time.Time, pointers to those,
// []string (a list, or a string set with the stringset option) and nested
// structs.
//
// The table holds items that attributevalue wrote, and other services write
// it with attributevalue, so the codec writes and reads exactly what
// attributevalue (v1.21, default options) does for those shapes; the tests
// compare the two on every item type:
//   - an attribute is named by its dynamodbav tag, else by its Go field
//     name; "-" and unexported fields are skipped; on reading, a name that
//     matches no field exactly matches the first whose name is equal under
//     case folding;
//   - omitempty drops "", false, 0 and nil pointers and slices; without it
//     a nil pointer or slice is NULL and "" is an empty S;
//   - time.Time is an S in RFC 3339 with nanoseconds, the zero time
//     included, even under omitempty; it is read with time.RFC3339 (which
//     takes fractions too), or from an N as Unix seconds;
//   - a non-nil empty slice is an empty L, or NULL under stringset;
//   - a nested struct is always an M, even when zero;
//   - what a non-nil pointer points to is written even when empty;
//   - NULL reads as the zero value (nil for a pointer); an N reads into a
//     string as its text; a slice or a struct read into is reused.
//
// One difference: attributevalue reads an M into a time.Time as nothing,
// leaving the field as it was; the codec refuses it.
//
// Anything else (maps, floats, unsigned integers, bytes, interfaces,
// embedded structs, custom marshalers, other tag options) is refused with an
// error when the type is first seen, rather than written in a way that might
// differ from attributevalue.

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MarshalItem returns the attributes of item, a struct or a pointer to one,
// as attributevalue.MarshalMap does.
func MarshalItem(item any) (map[string]ddbtypes.AttributeValue, error) {
	v := reflect.ValueOf(item)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || v.Type() == timeType {
		return nil, fmt.Errorf("marshal item: %T is not a pointer to a struct or a struct", item)
	}
	sc, err := structCodecFor(v.Type(), nil)
	if err != nil {
		return nil, fmt.Errorf("marshal item: %w", err)
	}
	return sc.encode(v)
}

// marshalValue returns one attribute value, as attributevalue.Marshal does.
func marshalValue(x any) (ddbtypes.AttributeValue, error) {
	v := reflect.ValueOf(x)
	if !v.IsValid() {
		return nil, errors.New("marshal: nil value")
	}
	c, err := codecFor(v.Type(), nil)
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return c.encode(v, false, false)
}

// unmarshalItem reads item into out, a pointer to a struct, as
// attributevalue.UnmarshalMap does. Attributes without a field are ignored.
func unmarshalItem(item map[string]ddbtypes.AttributeValue, out any) error {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type() == timeType {
		return fmt.Errorf("unmarshal item: %T is not a non-nil pointer to a struct", out)
	}
	sc, err := structCodecFor(v.Elem().Type(), nil)
	if err != nil {
		return fmt.Errorf("unmarshal item: %w", err)
	}
	return sc.decode(v.Elem(), item)
}

// unmarshalItems reads items into out, a pointer to a slice of structs, as
// attributevalue.UnmarshalListOfMaps does: the slice is reused when it has
// room, and its elements are decoded into as they are.
func unmarshalItems(items []map[string]ddbtypes.AttributeValue, out any) error {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Slice ||
		v.Elem().Type().Elem().Kind() != reflect.Struct || v.Elem().Type().Elem() == timeType {
		return fmt.Errorf("unmarshal items: %T is not a non-nil pointer to a slice of structs", out)
	}
	s := v.Elem()
	sc, err := structCodecFor(s.Type().Elem(), nil)
	if err != nil {
		return fmt.Errorf("unmarshal items: %w", err)
	}
	n := len(items)
	if s.IsNil() || s.Cap() < n {
		s.Set(reflect.MakeSlice(s.Type(), n, n))
	} else if n > 0 {
		s.SetLen(n)
	}
	for i, item := range items {
		if err := sc.decode(s.Index(i), item); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	return nil
}

// ---- codecs ----

type kind uint8

const (
	kString  kind = iota // a string kind: S
	kBool                // BOOL
	kInt                 // a signed integer kind: N
	kTime                // time.Time: S, RFC 3339 with nanoseconds
	kStrings             // a slice of a string kind: L of S, or SS
	kStruct              // M
	kPointer             // a pointer to any of the above but kStrings
)

type codec struct {
	kind   kind
	elem   *codec       // kPointer
	fields *structCodec // kStruct
}

type field struct {
	name      string
	index     int
	omitEmpty bool
	stringSet bool
	codec     *codec
}

type structCodec struct {
	fields []field
	byName map[string]int
}

var (
	timeType = reflect.TypeFor[time.Time]()

	// attributevalue calls these when a type has them; the codec does not.
	marshalerType = reflect.TypeFor[interface {
		MarshalDynamoDBAttributeValue() (ddbtypes.AttributeValue, error)
	}]()
	unmarshalerType = reflect.TypeFor[interface {
		UnmarshalDynamoDBAttributeValue(ddbtypes.AttributeValue) error
	}]()
	// attributevalue writes a string type with these methods as an N.
	numberType = reflect.TypeFor[interface {
		Float64() (float64, error)
		Int64() (int64, error)
		String() string
	}]()
)

// structCodecs caches a *structCodec, or the error that refuses the type, by
// reflect.Type.
var structCodecs sync.Map

type cachedStruct struct {
	sc  *structCodec
	err error
}

func codecFor(t reflect.Type, building map[reflect.Type]bool) (*codec, error) {
	for _, it := range []reflect.Type{marshalerType, unmarshalerType} {
		if t.Implements(it) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it)) {
			return nil, fmt.Errorf("type %s has a custom DynamoDB (un)marshaler, which is not supported", t)
		}
	}
	if t == timeType {
		return &codec{kind: kTime}, nil
	}
	switch t.Kind() {
	case reflect.String:
		if t.Implements(numberType) {
			return nil, fmt.Errorf("type %s is a number type, which is not supported", t)
		}
		return &codec{kind: kString}, nil
	case reflect.Bool:
		return &codec{kind: kBool}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &codec{kind: kInt}, nil
	case reflect.Slice:
		e, err := codecFor(t.Elem(), building)
		if err != nil {
			return nil, err
		}
		if e.kind != kString {
			return nil, fmt.Errorf("type %s is not supported: slices must be of strings", t)
		}
		return &codec{kind: kStrings}, nil
	case reflect.Struct:
		if t.ConvertibleTo(timeType) {
			return nil, fmt.Errorf("type %s is not supported: use time.Time", t)
		}
		sc, err := structCodecFor(t, building)
		if err != nil {
			return nil, err
		}
		return &codec{kind: kStruct, fields: sc}, nil
	case reflect.Pointer:
		e, err := codecFor(t.Elem(), building)
		if err != nil {
			return nil, err
		}
		if e.kind == kStrings || e.kind == kPointer {
			return nil, fmt.Errorf("type %s is not supported: pointers must be to a string, bool, integer, time or struct", t)
		}
		return &codec{kind: kPointer, elem: e}, nil
	}
	return nil, fmt.Errorf("type %s is not supported", t)
}

// structCodecFor returns the cached field list of the struct type t,
// building it (and those of its nested structs) on first use. building holds
// the struct types being built, to refuse recursive types.
func structCodecFor(t reflect.Type, building map[reflect.Type]bool) (*structCodec, error) {
	if c, ok := structCodecs.Load(t); ok {
		c := c.(*cachedStruct)
		return c.sc, c.err
	}
	if building[t] {
		return nil, fmt.Errorf("type %s is recursive, which is not supported", t)
	}
	if building == nil {
		building = map[reflect.Type]bool{}
	}
	building[t] = true
	sc, err := buildStructCodec(t, building)
	delete(building, t)
	c, _ := structCodecs.LoadOrStore(t, &cachedStruct{sc: sc, err: err})
	return c.(*cachedStruct).sc, c.(*cachedStruct).err
}

func buildStructCodec(t reflect.Type, building map[reflect.Type]bool) (*structCodec, error) {
	sc := &structCodec{byName: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, fmt.Errorf("%s.%s: embedded fields are not supported", t, sf.Name)
		}
		if !sf.IsExported() {
			continue
		}
		f := field{name: sf.Name, index: i}
		if tag, ok := sf.Tag.Lookup("dynamodbav"); ok && tag != "" {
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			if name != "" {
				f.name = name
			}
			for opt := range strings.SplitSeq(opts, ",") {
				switch opt {
				case "":
				case "omitempty":
					f.omitEmpty = true
				case "stringset":
					f.stringSet = true
				default:
					return nil, fmt.Errorf("%s.%s: tag option %q is not supported", t, sf.Name, opt)
				}
			}
		}
		c, err := codecFor(sf.Type, building)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
		}
		if f.stringSet && c.kind != kStrings {
			return nil, fmt.Errorf("%s.%s: stringset on a field that is not a slice of strings", t, sf.Name)
		}
		if _, dup := sc.byName[f.name]; dup {
			return nil, fmt.Errorf("%s.%s: a second field for attribute %q", t, sf.Name, f.name)
		}
		f.codec = c
		sc.byName[f.name] = len(sc.fields)
		sc.fields = append(sc.fields, f)
	}
	return sc, nil
}

// ---- encoding ----

var null ddbtypes.AttributeValue = &ddbtypes.AttributeValueMemberNULL{Value: true}

func (sc *structCodec) encode(v reflect.Value) (map[string]ddbtypes.AttributeValue, error) {
	m := make(map[string]ddbtypes.AttributeValue, len(sc.fields))
	for i := range sc.fields {
		f := &sc.fields[i]
		av, err := f.codec.encode(v.Field(f.index), f.omitEmpty, f.stringSet)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", f.name, err)
		}
		if av != nil {
			m[f.name] = av
		}
	}
	return m, nil
}

// encode returns v's attribute value, or nil when omitEmpty drops it.
func (c *codec) encode(v reflect.Value, omitEmpty, stringSet bool) (ddbtypes.AttributeValue, error) {
	switch c.kind {
	case kString:
		if omitEmpty && v.Len() == 0 {
			return nil, nil
		}
		return &ddbtypes.AttributeValueMemberS{Value: v.String()}, nil
	case kBool:
		if omitEmpty && !v.Bool() {
			return nil, nil
		}
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Bool()}, nil
	case kInt:
		if omitEmpty && v.Int() == 0 {
			return nil, nil
		}
		return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v.Int(), 10)}, nil
	case kTime:
		// The zero time is written too: attributevalue's omitempty does
		// not see it as empty.
		t := v.Interface().(time.Time)
		return &ddbtypes.AttributeValueMemberS{Value: t.Format(time.RFC3339Nano)}, nil
	case kStrings:
		if v.IsNil() {
			if omitEmpty {
				return nil, nil
			}
			return null, nil
		}
		n := v.Len()
		if stringSet {
			// An empty set is NULL, omitempty or not: attributevalue omits
			// only the nil slice.
			if n == 0 {
				return null, nil
			}
			ss := make([]string, n)
			for i := range n {
				ss[i] = v.Index(i).String()
			}
			return &ddbtypes.AttributeValueMemberSS{Value: ss}, nil
		}
		l := make([]ddbtypes.AttributeValue, n)
		for i := range n {
			l[i] = &ddbtypes.AttributeValueMemberS{Value: v.Index(i).String()}
		}
		return &ddbtypes.AttributeValueMemberL{Value: l}, nil
	case kStruct:
		m, err := c.fields.encode(v)
		if err != nil {
			return nil, err
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}, nil
	case kPointer:
		if v.IsNil() {
			if omitEmpty {
				return nil, nil
			}
			return null, nil
		}
		// What a pointer points to is written as it is, even when empty.
		return c.elem.encode(v.Elem(), false, false)
	}
	return nil, fmt.Errorf("codec kind %d", c.kind)
}

// ---- decoding ----

func (sc *structCodec) decode(v reflect.Value, item map[string]ddbtypes.AttributeValue) error {
	for name, av := range item {
		f := sc.lookup(name)
		if f == nil {
			continue
		}
		if err := f.codec.decode(v.Field(f.index), av); err != nil {
			return fmt.Errorf("attribute %q: %w", name, err)
		}
	}
	return nil
}

// lookup finds the field of an attribute: by exact name, else the first
// whose name is equal under case folding, as attributevalue does.
func (sc *structCodec) lookup(name string) *field {
	if i, ok := sc.byName[name]; ok {
		return &sc.fields[i]
	}
	for i := range sc.fields {
		if strings.EqualFold(sc.fields[i].name, name) {
			return &sc.fields[i]
		}
	}
	return nil
}

// decode sets v, which is addressable, from av.
func (c *codec) decode(v reflect.Value, av ddbtypes.AttributeValue) error {
	if av == nil {
		v.SetZero()
		return nil
	}
	if _, ok := av.(*ddbtypes.AttributeValueMemberNULL); ok {
		v.SetZero()
		return nil
	}
	switch c.kind {
	case kString:
		switch av := av.(type) {
		case *ddbtypes.AttributeValueMemberS:
			v.SetString(av.Value)
			return nil
		case *ddbtypes.AttributeValueMemberN:
			v.SetString(av.Value)
			return nil
		}
	case kBool:
		if av, ok := av.(*ddbtypes.AttributeValueMemberBOOL); ok {
			v.SetBool(av.Value)
			return nil
		}
	case kInt:
		if av, ok := av.(*ddbtypes.AttributeValueMemberN); ok {
			n, err := strconv.ParseInt(av.Value, 10, 64)
			if err != nil {
				return fmt.Errorf("number %q: %w", av.Value, err)
			}
			if v.OverflowInt(n) {
				return fmt.Errorf("number %s overflows %s", av.Value, v.Type())
			}
			v.SetInt(n)
			return nil
		}
	case kTime:
		var t time.Time
		switch av := av.(type) {
		case *ddbtypes.AttributeValueMemberS:
			var err error
			if t, err = time.Parse(time.RFC3339, av.Value); err != nil {
				return err
			}
		case *ddbtypes.AttributeValueMemberN:
			s, err := strconv.ParseInt(av.Value, 10, 64)
			if err != nil {
				return fmt.Errorf("time in Unix seconds %q: %w", av.Value, err)
			}
			t = time.Unix(s, 0)
		default:
			return mismatch(av, v.Type())
		}
		*v.Addr().Interface().(*time.Time) = t
		return nil
	case kStrings:
		switch av := av.(type) {
		case *ddbtypes.AttributeValueMemberSS:
			setStrings(v, av.Value)
			return nil
		case *ddbtypes.AttributeValueMemberNS:
			setStrings(v, av.Value)
			return nil
		case *ddbtypes.AttributeValueMemberL:
			growStrings(v, len(av.Value))
			for i, e := range av.Value {
				switch e := e.(type) {
				case nil, *ddbtypes.AttributeValueMemberNULL:
					v.Index(i).SetString("")
				case *ddbtypes.AttributeValueMemberS:
					v.Index(i).SetString(e.Value)
				case *ddbtypes.AttributeValueMemberN:
					v.Index(i).SetString(e.Value)
				default:
					return fmt.Errorf("element %d: %w", i, mismatch(e, v.Type().Elem()))
				}
			}
			return nil
		}
	case kStruct:
		if av, ok := av.(*ddbtypes.AttributeValueMemberM); ok {
			return c.fields.decode(v, av.Value)
		}
	case kPointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return c.elem.decode(v.Elem(), av)
	}
	return mismatch(av, v.Type())
}

// growStrings makes the slice v n long, reusing its array when it has room,
// as attributevalue does.
func growStrings(v reflect.Value, n int) {
	if v.IsNil() || v.Cap() < n {
		v.Set(reflect.MakeSlice(v.Type(), n, n))
	} else if n > 0 {
		v.SetLen(n)
	}
}

func setStrings(v reflect.Value, ss []string) {
	growStrings(v, len(ss))
	if p, ok := v.Addr().Interface().(*[]string); ok {
		copy(*p, ss)
		return
	}
	for i, s := range ss {
		v.Index(i).SetString(s)
	}
}

func mismatch(av ddbtypes.AttributeValue, t reflect.Type) error {
	name := strings.TrimPrefix(fmt.Sprintf("%T", av), "*types.AttributeValueMember")
	return fmt.Errorf("cannot decode %s into %s", name, t)
}
