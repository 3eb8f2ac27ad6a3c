package model

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB's item sizes and capacity units, as its developer guide counts
// them: an item's size is the sum of its attribute names' and values'
// lengths; a string is its UTF-8 bytes, a binary its bytes, a number about
// one byte per two significant digits plus one, a boolean or null one
// byte, a list or map three bytes plus one per element plus its elements,
// a set the sum of its elements.
const (
	writeUnit = 1024 // bytes of one write unit
	readUnit  = 4096 // bytes of one read unit
)

// WriteUnits is what writing (or deleting) an item of size bytes costs:
// one unit per KB, rounded up, at least one.
func WriteUnits(size int) float64 { return math.Max(1, math.Ceil(float64(size)/writeUnit)) }

// ReadUnits is what reading size bytes costs: one unit per 4 KB, rounded
// up, at least one; half for an eventually consistent read.
func ReadUnits(size int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/readUnit))
	if !consistent {
		u /= 2
	}
	return u
}

// itemSize is the size of an item in DynamoDB's JSON (attribute name to
// typed value), decoded with encoding/json.
func itemSize(item map[string]any) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// rawItemSize is itemSize of an item still in JSON.
func rawItemSize(raw json.RawMessage) int {
	var item map[string]any
	if json.Unmarshal(raw, &item) != nil {
		return len(raw)
	}
	return itemSize(item)
}

func valueSize(v any) int {
	tv, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	for typ, x := range tv {
		switch typ {
		case "S":
			s, _ := x.(string)
			return len(s)
		case "N":
			s, _ := x.(string)
			return numberSize(s)
		case "B":
			s, _ := x.(string)
			return binarySize(s)
		case "BOOL", "NULL":
			return 1
		case "SS", "NS", "BS":
			n := 0
			xs, _ := x.([]any)
			for _, e := range xs {
				s, _ := e.(string)
				switch typ {
				case "SS":
					n += len(s)
				case "NS":
					n += numberSize(s)
				default:
					n += binarySize(s)
				}
			}
			return n
		case "L":
			n := 3
			xs, _ := x.([]any)
			for _, e := range xs {
				n += 1 + valueSize(e)
			}
			return n
		case "M":
			n := 3
			m, _ := x.(map[string]any)
			for k, e := range m {
				n += 1 + len(k) + valueSize(e)
			}
			return n
		}
	}
	return 0
}

// binarySize is the length of a binary value sent in base64.
func binarySize(s string) int {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return len(b)
	}
	return base64.StdEncoding.DecodedLen(len(s))
}

// numberSize is about one byte per two significant digits, plus one.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.Trim(s, "0")
	return (len(s)+1)/2 + 1
}

// ItemSize is the size of an item as the SDK holds it, counted as
// DynamoDB counts it.
func ItemSize(item map[string]ddbtypes.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + avSize(v)
	}
	return n
}

func avSize(v ddbtypes.AttributeValue) int {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return numberSize(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL, *ddbtypes.AttributeValueMemberNULL:
		return 1
	case *ddbtypes.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *ddbtypes.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + avSize(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + avSize(e)
		}
		return n
	}
	return 0
}
