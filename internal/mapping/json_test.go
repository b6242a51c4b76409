package mapping

import (
	"encoding/json"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestDataIsWhatEncodingJSONWritesOfCELsConversion: the data written
// straight from CEL's values is byte for byte what encoding/json writes of
// the map CEL converts them to, for every kind of value and string.
func TestDataIsWhatEncodingJSONWritesOfCELsConversion(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	vars, err := variables(Message{Subject: "a.b", Data: []byte(`{"n":1234,"f":0.1,"big":1e300,"tiny":1e-9,"neg":-0.0,"s":"r\u00e9sum\u00e9 <b>&\"\\\n","list":[1,"x",null,true,{"k":[]}],"m":{"z":1,"a":{"y":false}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{
		`{'msg': msg}`,
		`{'i': 7, 'neg': -12, 'max': 9007199254740991, 'huge': 9007199254740993, 'u': 42u, 'b': b'\x00\xffhi'}`,
		`{'at': stored, 'took': duration('1.5s'), 'seq': seq, 'null': null, 'empty': {}, 'list': []}`,
		`{'third': 1.0 / 3.0, 'e21': 1e21, 'e20': 1e20, 'small': 0.000001, 'smaller': 0.0000001, 'nan': 0.0 / 0.0, 'inf': -1.0 / 0.0}`,
		`{'html': '<a href="x">&</a>', 'lt': 'a<b', 'gt': 'a>b', 'amp': 'a&b', 'ctl': '\t\u0001', 'seps': '\u2028\u2029', 'emoji': '🙂', 'sum': msg.n + msg.f}`,
	} {
		t.Run(expr, func(t *testing.T) {
			prg, err := program(env, "data", expr, cel.MapType(cel.StringType, cel.DynType))
			if err != nil {
				t.Fatal(err)
			}
			v, err := eval(prg, vars)
			if err != nil {
				t.Fatal(err)
			}
			s, err := v.ConvertToNative(types.JSONStructType)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(s.(*structpb.Struct).AsMap())
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendData(nil, v)
			if err != nil || string(got) != string(want) {
				t.Errorf("data\n got %s (%v)\nwant %s", got, err, want)
			}
		})
	}
}

// TestDataThatIsNoJSONMapSaysWhy: data that is not a map, or holds what
// JSON cannot, is refused with what it yields.
func TestDataThatIsNoJSONMapSaysWhy(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		`msg.list`:                  "yields list(dyn), not a map of JSON values",
		`{'keys': {1: 'one'}}`:      "not a map of JSON values: unsupported type conversion",
		`{'deep': [{'k': {2: 3}}]}`: "not a map of JSON values: unsupported type conversion",
	} {
		t.Run(expr, func(t *testing.T) {
			prg, err := program(env, "data", expr, cel.MapType(cel.StringType, cel.DynType))
			if err != nil {
				t.Fatal(err)
			}
			vars, _ := variables(Message{Data: []byte(`{"list":[1]}`)})
			v, err := eval(prg, vars)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := appendData(nil, v); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("appendData: %v; want %q", err, want)
			}
		})
	}
}
