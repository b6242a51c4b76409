package event

import (
	"errors"
	"reflect"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// TestCloneIsTheSDKsClone proves the steps' cheaper copy is the SDK's deep
// copy: equal to it, and sharing nothing the copy could change.
func TestCloneIsTheSDKsClone(t *testing.T) {
	base := func() *ce.Event {
		e := ce.New()
		e.SetID("8655CDD7-0775-4AEA-AF8C-89C47EBC8828")
		e.SetSource("acme-platform")
		e.SetType("agent_run")
		e.SetSubject("acme-inc")
		e.SetTime(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
		e.SetDataContentType(JSON)
		e.DataEncoded = []byte(`{"agent_name":"summarizer"}`)
		return &e
	}
	tests := map[string]func(e *ce.Event){
		"the guide's event":   func(e *ce.Event) {},
		"no time, no subject": func(e *ce.Event) { e.SetTime(time.Time{}); e.SetSubject("") },
		"dataschema":          func(e *ce.Event) { e.SetDataSchema("https://acme.example/run.json") },
		"source a URL":        func(e *ce.Event) { e.SetSource("https://user:pw@acme.example/agents?x=1#f") },
		"no data":             func(e *ce.Event) { e.DataEncoded = nil },
		"empty data":          func(e *ce.Event) { e.DataEncoded = []byte{} },
		"base64 data":         func(e *ce.Event) { e.DataBase64 = true },
		"field errors":        func(e *ce.Event) { e.FieldErrors = map[string]error{"id": errors.New("required")} },
		"extension": func(e *ce.Event) {
			e.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		},
		"specversion 0.3": func(e *ce.Event) { e.SetSpecVersion("0.3") },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			e := base()
			change(e)
			want := e.Clone()
			got := clone(e)
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("clone:\n%#v\nthe SDK's Clone:\n%#v", *got, want)
			}
			// Changing everything in the copy, in place first, leaves the
			// original as it was.
			before := e.Clone()
			if c, ok := got.Context.(*ce.EventContextV1); ok {
				c.Source.Path = "other"
				if c.Time != nil {
					c.Time.Time = time.Time{}
				}
				if c.DataSchema != nil {
					c.DataSchema.Path = "/other"
				}
			}
			if len(got.DataEncoded) > 0 {
				got.DataEncoded[0] = 'X'
			}
			if got.FieldErrors != nil {
				got.FieldErrors["source"] = errors.New("other")
			}
			got.SetID("other")
			got.SetTime(time.Now())
			got.SetSubject("other")
			got.SetDataSchema("https://other.example/")
			if !reflect.DeepEqual(*e, before) {
				t.Fatalf("changing the copy changed the original:\n%#v\nwas\n%#v", *e, before)
			}
		})
	}
}
