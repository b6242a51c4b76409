package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

var runTime = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// agentRun is one summarizer run for acme-inc, as the Konnect guide sends it.
func agentRun(id string) *ce.Event {
	e := ce.New()
	e.SetID(id)
	e.SetSource("acme-platform")
	e.SetType("agent_run")
	e.SetSubject("acme-inc")
	e.SetTime(runTime)
	if err := e.SetData(ce.ApplicationJSON, map[string]string{"agent_name": "summarizer"}); err != nil {
		panic(err)
	}
	return &e
}

// v1 reaches the attributes directly, to set what the SDK's setters refuse.
func v1(e *ce.Event) *ce.EventContextV1 { return e.Context.(*ce.EventContextV1) }

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		change func(e *ce.Event)
		field  string // "" when Konnect would accept the event
	}{
		"the guide's event":       {change: func(e *ce.Event) {}},
		"no data":                 {change: func(e *ce.Event) { e.DataEncoded = nil; v1(e).DataContentType = nil }},
		"data null":               {change: func(e *ce.Event) { e.DataEncoded = []byte("null") }},
		"data object with spaces": {change: func(e *ce.Event) { e.DataEncoded = []byte(" \n{\"tokens\": 3} ") }},
		"no datacontenttype":      {change: func(e *ce.Event) { v1(e).DataContentType = nil }},
		"no time":                 {change: func(e *ce.Event) { e.SetTime(time.Time{}) }},
		"dataschema":              {change: func(e *ce.Event) { e.SetDataSchema("https://acme.example/schemas/agent_run.json") }},
		"extension traceparent": {change: func(e *ce.Event) {
			e.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		}},
		"extension partitionkey":     {change: func(e *ce.Event) { e.SetExtension("partitionkey", "acme-inc") }},
		"no attributes at all":       {change: func(e *ce.Event) { e.Context = nil }, field: "specversion"},
		"specversion 0.3":            {change: func(e *ce.Event) { e.SetSpecVersion("0.3") }, field: "specversion"},
		"id missing":                 {change: func(e *ce.Event) { v1(e).ID = "" }, field: "id"},
		"id only spaces":             {change: func(e *ce.Event) { v1(e).ID = "  \t" }, field: "id"},
		"source missing":             {change: func(e *ce.Event) { e.SetSource("") }, field: "source"},
		"type missing":               {change: func(e *ce.Event) { e.SetType("") }, field: "type"},
		"subject missing":            {change: func(e *ce.Event) { e.SetSubject("") }, field: "subject"},
		"subject only spaces":        {change: func(e *ce.Event) { s := "   "; v1(e).Subject = &s }, field: "subject"},
		"datacontenttype text/plain": {change: func(e *ce.Event) { e.SetDataContentType("text/plain") }, field: "datacontenttype"},
		"datacontenttype with a charset": {
			change: func(e *ce.Event) { e.SetDataContentType("application/json; charset=utf-8") }, field: "datacontenttype",
		},
		"data in base64": {change: func(e *ce.Event) {
			_ = e.SetData("", []byte(`{"agent_name":"summarizer"}`))
		}, field: "data_base64"},
		"dataschema relative":      {change: func(e *ce.Event) { e.SetDataSchema("schemas/agent_run.json") }, field: "dataschema"},
		"dataschema only a path":   {change: func(e *ce.Event) { e.SetDataSchema("/schemas/agent_run.json") }, field: "dataschema"},
		"data an array":            {change: func(e *ce.Event) { e.DataEncoded = []byte(`[{"agent_name":"summarizer"}]`) }, field: "data"},
		"data a string":            {change: func(e *ce.Event) { e.DataEncoded = []byte(`"summarizer"`) }, field: "data"},
		"data a number":            {change: func(e *ce.Event) { e.DataEncoded = []byte(`3`) }, field: "data"},
		"data an array with space": {change: func(e *ce.Event) { e.DataEncoded = []byte(" [1]") }, field: "data"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := agentRun("8655CDD7-0775-4AEA-AF8C-89C47EBC8828")
			tc.change(e)
			err := event.Validate(e)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate refused an event Konnect takes: %v", err)
				}
				return
			}
			if !errors.Is(err, event.ErrInvalid) {
				t.Fatalf("Validate = %v, want an error wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("Validate = %q, want it to name %s", err, tc.field)
			}
		})
	}
}

// TestStepsFillOnlyWhatIsMissing: each step sets its attribute when the
// event lacks it, and changes nothing else.
func TestStepsFillOnlyWhatIsMissing(t *testing.T) {
	stamp := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	withoutID := func() *ce.Event { e := agentRun(""); v1(e).ID = ""; return e }
	withoutTime := func() *ce.Event { e := agentRun("run-1"); e.SetTime(time.Time{}); return e }
	withoutSubject := func() *ce.Event { e := agentRun("run-1"); e.SetSubject(""); return e }
	withType := func(ct string) func() *ce.Event {
		return func() *ce.Event { e := agentRun("run-1"); e.SetDataContentType(ct); return e }
	}
	tests := map[string]struct {
		in   func() *ce.Event
		step func(*ce.Event)
		// attr is the attribute the step may set, want its value after.
		attr, want string
	}{
		"FillID keeps the producer's id": {
			in: func() *ce.Event { return agentRun("producer-id") }, step: func(e *ce.Event) { event.FillID(e, "derived") },
			attr: "id", want: "producer-id",
		},
		"FillID fills a missing id": {
			in: withoutID, step: func(e *ce.Event) { event.FillID(e, "AGENT_RUNS/42") }, attr: "id", want: "AGENT_RUNS/42",
		},
		"FillID with no id to give": {
			in: withoutID, step: func(e *ce.Event) { event.FillID(e, "") }, attr: "id", want: "",
		},
		"FillTime keeps the producer's time": {
			in: func() *ce.Event { return agentRun("run-1") }, step: func(e *ce.Event) { event.FillTime(e, stamp) },
			attr: "time", want: runTime.String(),
		},
		"FillTime stamps a missing time": {
			in: withoutTime, step: func(e *ce.Event) { event.FillTime(e, stamp) }, attr: "time", want: stamp.String(),
		},
		"FillTime with no time to give": {
			in: withoutTime, step: func(e *ce.Event) { event.FillTime(e, time.Time{}) }, attr: "time", want: time.Time{}.String(),
		},
		"FillSubject keeps the producer's customer": {
			in: func() *ce.Event { return agentRun("run-1") }, step: func(e *ce.Event) { event.FillSubject(e, "globex") },
			attr: "subject", want: "acme-inc",
		},
		"FillSubject fills a missing customer": {
			in: withoutSubject, step: func(e *ce.Event) { event.FillSubject(e, "globex") }, attr: "subject", want: "globex",
		},
		"NormalizeContentType keeps application/json": {
			in: withType("application/json"), step: event.NormalizeContentType, attr: "datacontenttype", want: "application/json",
		},
		"NormalizeContentType keeps no content type": {
			in: withType(""), step: event.NormalizeContentType, attr: "datacontenttype", want: "",
		},
		"NormalizeContentType drops a charset": {
			in: withType("application/json; charset=utf-8"), step: event.NormalizeContentType, attr: "datacontenttype", want: "application/json",
		},
		"NormalizeContentType lowers the case": {
			in: withType("Application/JSON"), step: event.NormalizeContentType, attr: "datacontenttype", want: "application/json",
		},
		"NormalizeContentType leaves text/plain to Validate": {
			in: withType("text/plain"), step: event.NormalizeContentType, attr: "datacontenttype", want: "text/plain",
		},
		"NormalizeContentType leaves a broken type to Validate": {
			in: withType("application/json; charset"), step: event.NormalizeContentType, attr: "datacontenttype", want: "application/json; charset",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := tc.in()
			before := attributes(e)
			tc.step(e)
			after := attributes(e)
			wantAttr(t, tc.attr, after[tc.attr], tc.want)
			for name, was := range before {
				if name != tc.attr && after[name] != was {
					t.Errorf("the step changed %s from %q to %q", name, was, after[name])
				}
			}
		})
	}
}

// attributes are e's attributes and data as text, by name.
func attributes(e *ce.Event) map[string]string {
	return map[string]string{
		"id": e.ID(), "source": e.Source(), "type": e.Type(), "subject": e.Subject(),
		"time": e.Time().String(), "datacontenttype": e.DataContentType(), "data": string(e.Data()),
	}
}

func wantAttr(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

// meteringAttributes are the only attributes Konnect's MeteringEvent takes.
var meteringAttributes = []string{"id", "source", "specversion", "type", "subject", "time", "data", "datacontenttype", "dataschema"}

// encodeCases are events as producers send them, with the attributes
// Konnect should find in the encoded JSON.
func encodeCases() map[string]struct {
	event *ce.Event
	want  map[string]any
} {
	tricky := func(id, typ, subject string) *ce.Event {
		e := agentRun(id)
		v1(e).Type = typ
		v1(e).Subject = &subject
		return e
	}
	guide := map[string]any{
		"specversion": "1.0", "id": "8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "source": "acme-platform", "type": "agent_run",
		"subject": "acme-inc", "time": "2026-11-27T08:00:00Z", "datacontenttype": "application/json",
		"data": map[string]any{"agent_name": "summarizer"},
	}
	// Strings a producer may send as they come: JSON needs them escaped,
	// and invalid UTF-8 becomes U+FFFD as encoding/json would make it.
	return map[string]struct {
		event *ce.Event
		want  map[string]any
	}{
		"the guide's event": {agentRun("8655CDD7-0775-4AEA-AF8C-89C47EBC8828"), guide},
		"extensions left out": {func() *ce.Event {
			e := agentRun("8655CDD7-0775-4AEA-AF8C-89C47EBC8828")
			e.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			e.SetExtension("partitionkey", "acme-inc")
			e.SetExtension("sequence", 7)
			return e
		}(), guide},
		"quotes and backslashes": {
			tricky(`run "7" \ of 9`, `agent\run`, `acme "inc"`),
			map[string]any{"id": `run "7" \ of 9`, "type": `agent\run`, "subject": `acme "inc"`},
		},
		"control characters": {
			tricky("run\x001\x1f", "agent\nrun\ttype\r", "acme\x7f\x08inc\x0c"),
			map[string]any{"id": "run\x001\x1f", "type": "agent\nrun\ttype\r", "subject": "acme\x7f\x08inc\x0c"},
		},
		"invalid UTF-8": {
			tricky("run-\xff\xfe-1", "agent_run\xc3", "acme-\xe2\x82inc"),
			map[string]any{"id": "run-\ufffd\ufffd-1", "type": "agent_run\ufffd", "subject": "acme-\ufffd\ufffdinc"},
		},
		"non-ASCII text kept as it is": {
			tricky("lauf-ü-東京-🙂", "agent_run\u2028", "zürich-ag"),
			map[string]any{"id": "lauf-ü-東京-🙂", "type": "agent_run\u2028", "subject": "zürich-ag"},
		},
		"no time, no data": {func() *ce.Event {
			e := agentRun("run-2")
			e.SetTime(time.Time{})
			e.DataEncoded = nil
			return e
		}(), map[string]any{"id": "run-2", "time": nil, "data": nil, "datacontenttype": nil}},
		"data null left out": {func() *ce.Event {
			e := agentRun("run-3")
			e.DataEncoded = []byte(" null ")
			return e
		}(), map[string]any{"id": "run-3", "data": nil, "datacontenttype": nil}},
		"data without a content type": {func() *ce.Event {
			e := agentRun("run-4")
			v1(e).DataContentType = nil
			e.DataEncoded = []byte("\n {\"tokens\": {\"in\": 12, \"out\": 30}}\n")
			return e
		}(), map[string]any{"id": "run-4", "datacontenttype": "application/json", "data": map[string]any{"tokens": map[string]any{"in": 12.0, "out": 30.0}}}},
		"time with nanoseconds and an offset": {func() *ce.Event {
			e := agentRun("run-5")
			e.SetTime(time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("CET", 3600)))
			return e
		}(), map[string]any{"id": "run-5", "time": "2026-11-27T09:00:00.123456789+01:00"}},
		"dataschema": {func() *ce.Event {
			e := agentRun("run-6")
			e.SetDataSchema("https://acme.example/schemas/agent_run.json")
			return e
		}(), map[string]any{"id": "run-6", "dataschema": "https://acme.example/schemas/agent_run.json"}},
	}
}

func TestAppendJSON(t *testing.T) {
	for name, tc := range encodeCases() {
		t.Run(name, func(t *testing.T) {
			if err := event.Validate(tc.event); err != nil {
				t.Fatalf("the test's event is not valid: %v", err)
			}
			prefix := []byte(`[{"earlier":"event"},`)
			out := event.AppendJSON(slices.Clone(prefix), tc.event)
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("AppendJSON lost what was in the buffer: %q", out)
			}
			got := out[len(prefix):]
			if !json.Valid(got) {
				t.Fatalf("not valid JSON: %q", got)
			}
			var attrs map[string]any
			if err := json.Unmarshal(got, &attrs); err != nil {
				t.Fatal(err)
			}
			for k := range attrs {
				if !slices.Contains(meteringAttributes, k) {
					t.Errorf("attribute %q is not a MeteringEvent attribute; Konnect would refuse the batch: %s", k, got)
				}
			}
			for k, want := range tc.want {
				v, present := attrs[k]
				if want == nil {
					if present {
						t.Errorf("%s = %v, want it left out", k, v)
					}
					continue
				}
				if gotJSON, wantJSON := mustJSON(t, v), mustJSON(t, want); gotJSON != wantJSON {
					t.Errorf("%s = %s, want %s", k, gotJSON, wantJSON)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKonnectAcceptsWhatAppendJSONWrites posts every encoded case as one
// batch to the Konnect stand-in, which enforces the MeteringEvent schema:
// the encoder meets the contract, tricky strings and extensions included.
func TestKonnectAcceptsWhatAppendJSONWrites(t *testing.T) {
	k := testkit.NewKonnect(t)
	cases := encodeCases()
	body := []byte("[")
	var ids []string
	for name, tc := range cases {
		// Every case goes in under an id of its own, so none is taken for
		// a duplicate of another.
		e := tc.event.Clone()
		e.SetID(name)
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = event.AppendJSON(body, &e)
		ids = append(ids, name)
	}
	body = append(body, ']')

	resp, err := http.Post(k.URL, "application/cloudevents-batch+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		reqs := k.Requests()
		t.Fatalf("Konnect answered %d (%s) to %s", resp.StatusCode, reqs[len(reqs)-1].Detail, body)
	}
	got := map[string]bool{}
	for _, e := range k.Events() {
		got[e.ID] = true
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("Konnect does not hold event %q", id)
		}
	}
	if len(got) != len(ids) {
		t.Errorf("Konnect holds %d events, want %d", len(got), len(ids))
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := agentRun("8655CDD7-0775-4AEA-AF8C-89C47EBC8828")
	e.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	buf := event.AppendJSON(nil, e)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = event.AppendJSON(buf[:0], e)
	}
}
