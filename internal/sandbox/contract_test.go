package sandbox_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

type problem struct {
	Type, Title, Detail, Instance string
	Status                        int
	InvalidParameters             []struct{ Field, Rule, Reason string } `json:"invalid_parameters"`
}

// assertRejected checks a 400 problem naming field in its invalid_parameters
// and in its detail, and that nothing of the request was stored.
func assertRejected(t *testing.T, sb *sandbox.Sandbox, a answer, field, detail string) problem {
	t.Helper()
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d %s, want 400", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("problem %s: %v", a.body, err)
	}
	if p.Status != 400 || p.Title != "Bad Request" || p.Type == "" || !strings.HasPrefix(p.Instance, "kong:trace:") {
		t.Errorf("problem %s, want status 400, title Bad Request, a type and a kong:trace instance", a.body)
	}
	if !strings.Contains(p.Detail, detail) {
		t.Errorf("detail %q does not say %q", p.Detail, detail)
	}
	if !slices.ContainsFunc(p.InvalidParameters, func(ip struct{ Field, Rule, Reason string }) bool { return ip.Field == field }) {
		t.Errorf("invalid_parameters %+v do not name %s", p.InvalidParameters, field)
	}
	if n := len(sb.Events()); n != 0 {
		t.Errorf("%d events stored from a rejected request, want none", n)
	}
	return p
}

func TestOneInvalidEventRejectsTheBatch(t *testing.T) {
	set := func(k string, v any) func(map[string]any) { return func(e map[string]any) { e[k] = v } }
	del := func(k string) func(map[string]any) { return func(e map[string]any) { delete(e, k) } }
	tests := map[string]struct {
		change func(map[string]any)
		field  string
	}{
		"id missing":                   {del("id"), "[1].id"},
		"id empty":                     {set("id", ""), "[1].id"},
		"id a number":                  {set("id", 7), "[1].id"},
		"id null":                      {set("id", nil), "[1].id"},
		"source missing":               {del("source"), "[1].source"},
		"source not a URI-reference":   {set("source", "%zz"), "[1].source"},
		"specversion missing":          {del("specversion"), "[1].specversion"},
		"specversion 0.3":              {set("specversion", "0.3"), "[1].specversion"},
		"type missing":                 {del("type"), "[1].type"},
		"type a boolean":               {set("type", true), "[1].type"},
		"subject missing":              {del("subject"), "[1].subject"},
		"subject empty":                {set("subject", ""), "[1].subject"},
		"time not RFC 3339":            {set("time", "2026-01-02 03:04:05"), "[1].time"},
		"time without zone":            {set("time", "2026-01-02T03:04:05"), "[1].time"},
		"time a unix number":           {set("time", 1767323045), "[1].time"},
		"data an array":                {set("data", []any{1}), "[1].data"},
		"data a string":                {set("data", `{"agent_name":"x"}`), "[1].data"},
		"data a number":                {set("data", 3), "[1].data"},
		"datacontenttype text/plain":   {set("datacontenttype", "text/plain"), "[1].datacontenttype"},
		"datacontenttype with charset": {set("datacontenttype", "application/json; charset=utf-8"), "[1].datacontenttype"},
		"dataschema relative":          {set("dataschema", "schemas/run.json"), "[1].dataschema"},
		"dataschema empty":             {set("dataschema", ""), "[1].dataschema"},
		"extension traceparent":        {set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), "[1].traceparent"},
		"data_base64":                  {set("data_base64", "e30="), "[1].data_base64"},
		"unknown attribute":            {set("foo", "bar"), "[1].foo"},
		"attribute in the wrong case":  {set("ID", "b"), "[1].ID"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t)
			bad := run("b", "acme-platform", "summarizer")
			tt.change(bad)
			batch := []any{run("a", "acme-platform", "summarizer"), bad, run("c", "acme-platform", "translator")}
			assertRejected(t, sb, post(t, srv.URL+ingest, batchType, batch), tt.field, tt.field)
		})
	}
}

func TestMalformedBodiesAreRejected(t *testing.T) {
	event := guideEvent("a", "summarizer")
	tests := map[string]struct {
		contentType, body, field string
	}{
		"not JSON":                  {batchType, `[` + event, "body"},
		"trailing garbage":          {batchType, `[` + event + `] x`, "body"},
		"empty batch":               {batchType, `[]`, "body"},
		"a batch sent as one event": {oneType, `[` + event + `]`, "body"},
		"one event sent as a batch": {batchType, event, "body"},
		"a number":                  {"application/json", `3`, "body"},
		"null":                      {"application/json", `null`, "body"},
		"a batch holding a number":  {batchType, `[` + event + `, 1]`, "[1]"},
		"a batch holding null":      {"application/json", `[null]`, "[0]"},
		"one event without subject": {oneType, strings.Replace(event, `"subject"`, `"subjekt"`, 1), "subject"},
		"unsupported content type":  {"text/plain", `[` + event + `]`, "Content-Type"},
		"no content type":           {"", `[` + event + `]`, "Content-Type"},
		"structured XML":            {"application/cloudevents+xml", event, "Content-Type"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t)
			assertRejected(t, sb, post(t, srv.URL+ingest, tt.contentType, tt.body), tt.field, tt.field)
		})
	}
}

func TestValidEventsAreAccepted(t *testing.T) {
	set := func(k string, v any) func(map[string]any) { return func(e map[string]any) { e[k] = v } }
	del := func(k string) func(map[string]any) { return func(e map[string]any) { delete(e, k) } }
	tests := map[string]func(map[string]any){
		"as the guide sends it":       func(map[string]any) {},
		"time null":                   set("time", nil),
		"time absent":                 del("time"),
		"time with fraction and zone": set("time", "2026-01-02T03:04:05.123456+02:00"),
		"data null":                   set("data", nil),
		"data absent":                 del("data"),
		"data nested":                 set("data", map[string]any{"agent_name": "x", "tokens": map[string]any{"in": 3}}),
		"datacontenttype null":        set("datacontenttype", nil),
		"datacontenttype absent":      del("datacontenttype"),
		"dataschema absolute":         set("dataschema", "https://schemas.example.com/agent_run/v1.json"),
		"dataschema null":             set("dataschema", nil),
		"source a URI":                set("source", "//bridge.example.com/agent.runs"),
		"source a URN":                set("source", "urn:acme:platform"),
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t)
			e := run("a", "acme-platform", "summarizer")
			change(e)
			if a := post(t, srv.URL+ingest, batchType, []any{e}); a.status != http.StatusAccepted {
				t.Fatalf("status %d %s, want 202", a.status, a.body)
			}
			if got := ids(sb.Events()); !slices.Equal(got, []string{e["source"].(string) + "/a"}) {
				t.Errorf("stored %v", got)
			}
		})
	}
}

func TestRejectRule(t *testing.T) {
	sb, srv := start(t, sandbox.WithReject(func(e sandbox.Event) string {
		if e.Subject == "ghost-inc" {
			return "no customer [ghost-inc]"
		}
		return ""
	}))
	ghost := run("b", "p", "translator")
	ghost["subject"] = "ghost-inc"
	p := assertRejected(t, sb, post(t, srv.URL+ingest, batchType, []any{run("a", "p", "summarizer"), ghost}), "[1]", "ghost-inc")
	if p.Detail != "no customer [ghost-inc]" {
		t.Errorf("detail %q, want the rule's own", p.Detail)
	}
	if a := post(t, srv.URL+ingest, batchType, []any{run("a", "p", "summarizer")}); a.status != http.StatusAccepted {
		t.Errorf("status %d %s for events the rule allows, want 202", a.status, a.body)
	}
}
