package decode_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// FuzzDecodeValidate feeds the decoder whatever a producer might publish:
// headers (one "Name: value" per line; ce-specversion makes it binary mode)
// and a payload. Whatever comes in, Decode must not panic and must account
// for the message; and every event the bridge would deliver (it passes
// Validate after the bridge's own steps) must encode to JSON that Konnect's
// contract accepts, or one bad event would have a whole batch refused.
//
// The committed corpus in testdata/fuzz/FuzzDecodeValidate runs with every
// go test; go test -fuzz=FuzzDecodeValidate ./internal/event/decode/ looks for more.
func FuzzDecodeValidate(f *testing.F) {
	const guide = `{"specversion":"1.0","id":"8655CDD7-0775-4AEA-AF8C-89C47EBC8828","source":"acme-platform","type":"agent_run","subject":"acme-inc","time":"2026-11-27T08:00:00Z","datacontenttype":"application/json","data":{"agent_name":"summarizer"}}`
	const binary = "ce-specversion: 1.0\nce-id: run-1\nce-source: acme-platform\nce-type: agent_run\nce-subject: acme-inc\nce-time: 2026-11-27T08:00:00Z\nContent-Type: application/json"
	f.Add("", []byte(guide))
	f.Add(binary, []byte(`{"agent_name":"summarizer"}`))
	f.Add("", []byte("["+guide+`,{"id":"x"},42,null]`))
	f.Add("", []byte("agent_run acme-inc summarizer"))
	f.Add(strings.Replace(binary, "2026-11-27T08:00:00Z", "yesterday", 1), []byte(`{}`))
	f.Add(binary+"\nce-dataschema: https://acme.example/schemas/run.json", []byte(`[1]`))
	f.Add("", []byte(`{"specversion":"1.0","id":"r\u0000\"1\\","source":"acme-platform","type":"agent_run","subject":"acme-inc","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":null}`))
	f.Add("", []byte(`{"specversion":"1.0","source":"acme-platform","type":"agent_run","subject":"acme-inc","datacontenttype":"application/json; charset=utf-8","data":{"n":1}}`))
	f.Add(binary, []byte{})
	f.Add(binary+"\nce-dataschema: urn:acme:agent-run", []byte(`{"agent_name":"summarizer"}`))
	f.Add("", []byte(`{"specversion":"1.0","id":"r2","source":"//acme platform/runs?a=b#c","type":"agent_run","subject":"acme-inc","dataschema":"https://acme.example/s.json"}`))
	f.Add(strings.Replace(binary, "acme-platform", "urn:acme:platform", 1), []byte(`{"agent_name":"summarizer"}`))

	f.Fuzz(func(t *testing.T, headers string, payload []byte) {
		h := parseHeaders(headers)
		decoded := decode.Decode(h, payload)
		if len(decoded) == 0 {
			t.Fatal("Decode returned no result: the message could never be settled")
		}
		for i, d := range decoded {
			if (d.Event == nil) == (d.Err == nil) {
				t.Fatalf("[%d] want either an event or an error, got event %v and error %v", i, d.Event, d.Err)
			}
			if d.Err != nil {
				if !errors.Is(d.Err, decode.ErrUndecodable) && !errors.Is(d.Err, event.ErrInvalid) {
					t.Fatalf("[%d] error %v wraps neither ErrUndecodable nor ErrInvalid: the dead letter would have no kind", i, d.Err)
				}
				continue
			}
			if d.Raw != nil && !json.Valid(d.Raw) {
				t.Fatalf("[%d] Raw %q is not JSON", i, d.Raw)
			}
			// The bridge's own steps, as for a message stored at a known time.
			e := d.Event
			event.NormalizeContentType(e)
			event.FillID(e, "AGENT_RUNS/1")
			event.FillTime(e, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
			if event.Validate(e) != nil {
				continue
			}
			body := event.AppendJSON(nil, e)
			checkMeteringEvent(t, body)
			var attrs map[string]any
			_ = json.Unmarshal(body, &attrs)
			for _, a := range []struct{ name, value string }{{"id", e.ID()}, {"type", e.Type()}, {"subject", e.Subject()}} {
				if utf8.ValidString(a.value) && attrs[a.name] != a.value {
					t.Fatalf("%s %q arrives at Konnect as %q", a.name, a.value, attrs[a.name])
				}
			}
			// The stand-in enforces the whole contract; ask it, in process.
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/v3/openmeter/events", bytes.NewReader(append(append([]byte("["), body...), ']')))
			req.Header.Set("Content-Type", "application/cloudevents-batch+json")
			sandbox.New().ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("an event that passed Validate was refused by Konnect's contract: %d %s\nevent: %s", rec.Code, rec.Body, body)
			}
		}
	})
}

// parseHeaders reads "Name: value" lines; lines without a colon are ignored.
func parseHeaders(s string) nats.Header {
	if s == "" {
		return nil
	}
	h := nats.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			continue
		}
		h[k] = append(h[k], strings.TrimPrefix(v, " "))
	}
	return h
}

// checkMeteringEvent checks an encoded event against the MeteringEvent
// schema as konnect/INGEST.md states it.
func checkMeteringEvent(t *testing.T, body []byte) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("AppendJSON wrote invalid JSON: %q", body)
	}
	var attrs map[string]any
	if err := json.Unmarshal(body, &attrs); err != nil {
		t.Fatalf("AppendJSON wrote %q, not an object: %v", body, err)
	}
	allowed := map[string]bool{"id": true, "source": true, "specversion": true, "type": true, "subject": true,
		"time": true, "data": true, "datacontenttype": true, "dataschema": true}
	for k := range attrs {
		if !allowed[k] {
			t.Fatalf("attribute %q is not a MeteringEvent attribute: %s", k, body)
		}
	}
	for _, k := range []string{"id", "source", "specversion", "type", "subject"} {
		if s, ok := attrs[k].(string); !ok || s == "" {
			t.Fatalf("required %s is %#v, want a non-empty string: %s", k, attrs[k], body)
		}
	}
	if attrs["specversion"] != "1.0" {
		t.Fatalf("specversion %v, want 1.0", attrs["specversion"])
	}
	if d, ok := attrs["data"]; ok && d != nil {
		if _, ok := d.(map[string]any); !ok {
			t.Fatalf("data %#v is not a JSON object: %s", d, body)
		}
	}
	if ct, ok := attrs["datacontenttype"]; ok && ct != "application/json" {
		t.Fatalf("datacontenttype %v, want application/json: %s", ct, body)
	}
	if tm, ok := attrs["time"]; ok {
		if s, _ := tm.(string); s == "" {
			t.Fatalf("time %#v is not a string: %s", tm, body)
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Fatalf("time %q is not RFC 3339: %s", s, body)
		}
	}
	if ds, ok := attrs["dataschema"]; ok {
		s, _ := ds.(string)
		if u, err := url.Parse(s); err != nil || !u.IsAbs() {
			t.Fatalf("dataschema %#v is not an absolute URI: %s", ds, body)
		}
	}
}
