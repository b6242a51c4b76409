package decode

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// structuredSeeds are structured-mode events as producers write them, and
// the shapes readStructured leaves to the SDK.
var structuredSeeds = map[string]struct {
	in   string
	fast bool // read by readStructured, not left to the SDK
}{
	"the guide's run":         {`{"specversion":"1.0","id":"8655CDD7-0775-4AEA-AF8C-89C47EBC8828","source":"acme-platform","type":"agent_run","subject":"acme-inc","time":"2026-11-27T08:00:00Z","datacontenttype":"application/json","data":{"agent_name":"summarizer"}}`, true},
	"no id, no time":          {`{"specversion":"1.0","source":"acme-platform","type":"agent_run","subject":"acme-inc","data":{"agent_name":"summarizer"}}`, true},
	"specversion last":        {`{"id":"r1","source":"acme-platform","type":"agent_run","subject":"acme-inc","data":{"a":[1,{"b":"}"}]},"specversion":"1.0"}`, true},
	"data before its type":    {`{"specversion":"1.0","id":"r1","data":{"a":1},"datacontenttype":"application/json","source":"s","type":"t","subject":"c"}`, true},
	"spaces everywhere":       {"{ \"specversion\" : \"1.0\" ,\n\t\"id\" : \"r1\" , \"source\":\"s\", \"type\":\"t\",\"subject\":\"c\", \"data\" :  {\"a\" : 1}  \r\n}", true},
	"data null":               {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":null}`, true},
	"data a number":           {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":12.5e3}`, true},
	"data a string":           {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":"x\"y"}`, true},
	"text/plain data":         {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","datacontenttype":"text/plain","data":"hello"}`, false},
	"charset":                 {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","datacontenttype":"application/json; charset=utf-8","data":{}}`, true},
	"empty content type":      {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","datacontenttype":"","data":{}}`, false},
	"empty strings":           {`{"specversion":"1.0","id":"","source":"s","type":"","subject":"","time":""}`, true},
	"source a URL":            {`{"specversion":"1.0","id":"r1","source":"https://acme.example/agents?x=1#f","type":"t","subject":"c"}`, true},
	"source a URN":            {`{"specversion":"1.0","id":"r1","source":"urn:acme:platform","type":"t","subject":"c"}`, true},
	"source a path":           {`{"specversion":"1.0","id":"r1","source":"/acme/platform","type":"t","subject":"c"}`, true},
	"source with a space":     {`{"specversion":"1.0","id":"r1","source":"acme platform","type":"t","subject":"c"}`, true},
	"source with percent":     {`{"specversion":"1.0","id":"r1","source":"acme%20platform","type":"t","subject":"c"}`, true},
	"source empty":            {`{"specversion":"1.0","id":"r1","source":"","type":"t","subject":"c"}`, false},
	"source a number":         {`{"specversion":"1.0","id":"r1","source":42,"type":"t","subject":"c"}`, false},
	"time with an offset":     {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","time":"2026-11-27T09:00:00.123456789+01:00"}`, true},
	"time not RFC 3339":       {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","time":"yesterday"}`, false},
	"dataschema":              {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","dataschema":"https://acme.example/run.json"}`, true},
	"escaped id":              {`{"specversion":"1.0","id":"r\u00e9\n1","source":"s","type":"t","subject":"c"}`, false},
	"escaped key":             {`{"spec\u0076ersion":"1.0","id":"r1","source":"s","type":"t","subject":"c"}`, false},
	"invalid UTF-8 in source": {"{\"specversion\":\"1.0\",\"id\":\"r1\",\"source\":\"a:\x94\",\"type\":\"t\",\"subject\":\"c\"}", true},
	"non-ASCII subject":       {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"café ☕"}`, true},
	"extension":               {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`, false},
	"id twice":                {`{"specversion":"1.0","id":"r1","id":"r2","source":"s","type":"t","subject":"c"}`, false},
	"specversion 0.3":         {`{"specversion":"0.3","id":"r1","source":"s","type":"t","subject":"c"}`, false},
	"no specversion":          {`{"id":"r1","source":"s","type":"t","subject":"c"}`, false},
	"subject null":            {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":null}`, false},
	"data_base64":             {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data_base64":"aGVsbG8="}`, false},
	"escapes in data":         {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"q":"\u00e9\n\"\\\/","n":-0.5e+10,"a":[true,false,null,[],{}]}}`, true},
	"trailing garbage":        {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c"}x`, false},
	"trailing spaces":         {"{\"specversion\":\"1.0\",\"id\":\"r1\",\"source\":\"s\",\"type\":\"t\",\"subject\":\"c\"} \n", true},
	"trailing comma":          {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c",}`, false},
	"missing colon":           {`{"specversion":"1.0","id" "r1","source":"s","type":"t","subject":"c"}`, false},
	"unterminated":            {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"a":1}`, false},
	"number with a zero":      {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"a":01}}`, false},
	"number without digits":   {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"a":1.}}`, false},
	"bad escape in data":      {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"a":"\x"}}`, false},
	"short unicode escape":    {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"a":"\u12"}}`, false},
	"control character in id": {"{\"specversion\":\"1.0\",\"id\":\"r\x01\",\"source\":\"s\",\"type\":\"t\",\"subject\":\"c\"}", false},
	"truthy literal":          {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"a":tru}}`, false},
	"deep data":               {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false},
	"empty object":            {`{}`, false},
	"nested data with quotes": {`{"specversion":"1.0","id":"r1","source":"s","type":"t","subject":"c","data":{"q":"a \"}\" b","n":[[],{}],"t":true,"f":false,"z":null}}`, true},
}

// TestReadStructuredAgreesWithTheSDK proves the fast path of Decode reads
// every event it takes exactly as the CloudEvents SDK does, so that what
// Konnect receives does not depend on which path read the event.
func TestReadStructuredAgreesWithTheSDK(t *testing.T) {
	for name, tc := range structuredSeeds {
		t.Run(name, func(t *testing.T) {
			if fast := readStructured([]byte(tc.in)) != nil; fast != tc.fast {
				t.Errorf("read by the fast path: %v, want %v", fast, tc.fast)
			}
			agreesWithSDK(t, []byte(tc.in))
		})
	}
}

// FuzzReadStructured looks for an event the fast path reads differently
// from the SDK: go test -fuzz=FuzzReadStructured ./internal/event/decode/
func FuzzReadStructured(f *testing.F) {
	for _, tc := range structuredSeeds {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(agreesWithSDK)
}

func agreesWithSDK(t *testing.T, in []byte) {
	if len(in) == 0 || in[0] != '{' {
		return
	}
	got := readStructured(in)
	if got == nil {
		return // left to encoding/json and the SDK
	}
	if !json.Valid(in) {
		t.Fatalf("the fast path read %q, which is not valid JSON", in)
	}
	want := ce.New()
	sdkErr := want.UnmarshalJSON(in)
	if sdkErr != nil {
		t.Fatalf("the fast path read %s, which the SDK refuses: %v", in, sdkErr)
	}
	// decodeStructured's SDK path keeps the producer's source verbatim too.
	var raw struct {
		Source string `json:"source"`
	}
	_ = json.Unmarshal(in, &raw)
	verbatimSource(&want, raw.Source)
	if !reflect.DeepEqual(got.event, want) {
		t.Fatalf("%s\nfast path: %#v\n      SDK: %#v", in, got.event.Context, want.Context)
	}
	// The encoder's shortcut for the source agrees with the SDK too (the
	// encoder replaces invalid UTF-8, on purpose).
	var encoded struct{ Source string }
	if err := json.Unmarshal(event.AppendJSON(nil, &want), &encoded); err != nil {
		t.Fatalf("encoded %s: %v", in, err)
	}
	if utf8.ValidString(want.Source()) && encoded.Source != want.Source() {
		t.Fatalf("encoded source %q, the SDK says %q", encoded.Source, want.Source())
	}
	if src := got.event.Context.(*ce.EventContextV1).Source.Path; plainPath(src) {
		if u, err := url.Parse(src); err != nil || *u != (url.URL{Path: src}) || u.String() != src {
			t.Fatalf("url.Parse(%q) = %#v, %v: not a plain path", src, u, err)
		}
	}
}
