package apigwtest

import (
	"strings"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	type body struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"OK", `{"a":1}`, true},
		{"OK/Whitespace", " {\"a\":1}\n", true},
		{"ErrUnknownField", `{"a":1,"b":2}`, false},
		{"ErrTrailingObject", `{"a":1}{}`, false},
		{"ErrTrailingGarbage", `{"a":1} x`, false},
		{"ErrMalformed", `{"a":`, false},
		{"ErrEmpty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v body
			if err := decodeStrict(strings.NewReader(tc.in), &v); (err == nil) != tc.ok {
				t.Errorf("decodeStrict(%q): got error %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}
