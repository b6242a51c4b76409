package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"google.golang.org/protobuf/types/known/structpb"
)

// appendData appends data's result v, which must be a map with string
// keys, as JSON.
func appendData(b []byte, v ref.Val) ([]byte, error) {
	if _, ok := v.(traits.Mapper); !ok {
		_, err := v.ConvertToNative(types.JSONStructType)
		return nil, fmt.Errorf("yields %s, not a map of JSON values: %v", v.Type(), err)
	}
	out, err := appendJSON(b, v)
	if err != nil {
		return nil, fmt.Errorf("yields %s, not a map of JSON values: %v", v.Type(), err)
	}
	return out, nil
}

// appendJSON appends v as JSON: exactly what encoding/json writes of what
// CEL converts v to (ConvertToNative to a JSON value), the values run
// records are made of written directly, anything else through CEL's
// conversion.
func appendJSON(b []byte, v ref.Val) ([]byte, error) {
	switch v := v.(type) {
	case types.String:
		return appendString(b, string(v)), nil
	case types.Bool:
		return strconv.AppendBool(b, bool(v)), nil
	case types.Null:
		return append(b, "null"...), nil
	case types.Int:
		if v >= -(1<<53-1) && v <= 1<<53-1 { // else CEL makes it a string
			return strconv.AppendInt(b, int64(v), 10), nil
		}
	case types.Double:
		// encoding/json's own format for these; the rest (exponents, NaN) through it
		if f := math.Abs(float64(v)); f == 0 || f >= 1e-6 && f < 1e21 {
			return strconv.AppendFloat(b, float64(v), 'f', -1, 64), nil
		}
	case traits.Mapper:
		return appendMap(b, v)
	case traits.Lister:
		b = append(b, '[')
		for i := range int(v.Size().(types.Int)) {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, v.Get(types.Int(i))); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	n, err := v.ConvertToNative(types.JSONValueType)
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(n.(*structpb.Value).AsInterface())
	if err != nil {
		return nil, err
	}
	return append(b, js...), nil
}

// appendMap appends m as a JSON object, its keys sorted as encoding/json
// sorts a map's.
func appendMap(b []byte, m traits.Mapper) ([]byte, error) {
	keys := make([]types.String, 0, int(m.Size().(types.Int)))
	for it := m.Iterator(); it.HasNext() == types.True; {
		k, ok := it.Next().(types.String)
		if !ok {
			_, err := m.ConvertToNative(types.JSONStructType)
			return nil, err
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, string(k)), ':')
		var err error
		if b, err = appendJSON(b, m.Get(k)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string, as encoding/json escapes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}
