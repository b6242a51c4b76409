package mapping_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

const runs = "mappings:\n" + testkit.RunRecordRule + `  - subject: "llm.usage"
    type: "'llm_tokens'"
    source: "'gateway'"
    customer: "headers['Customer']"
    data: "{'model': msg.model, 'seq': seq, 'at': stored}"
`

const record = `{"run_id":"r-1","agent":"triage","finished_at":"2026-12-01T10:00:00Z","usage":{"input_tokens":120,"output_tokens":30}}`

func load(t *testing.T, src string) *mapping.Mapping {
	t.Helper()
	m, err := mapping.Parse("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapMakesTheRulesEvent(t *testing.T) {
	m := load(t, runs)
	stored := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for name, c := range map[string]struct {
		msg  mapping.Message
		want map[string]any
	}{
		"run record": {
			msg: mapping.Message{Subject: "agent.runs.raw.acme", Data: []byte(record)},
			want: map[string]any{"specversion": "1.0", "id": "r-1", "type": "agent_run", "source": "acme-platform", "subject": "acme",
				"time": "2026-12-01T10:00:00Z", "datacontenttype": "application/json", "data": map[string]any{"agent_name": "triage", "tokens": 150.0}},
		},
		"customer from a header, no id or time": {
			msg: mapping.Message{Subject: "llm.usage", Header: map[string][]string{"Customer": {"globex"}}, Data: []byte(`{"model":"m-1"}`), Seq: 7, Stored: stored},
			want: map[string]any{"specversion": "1.0", "type": "llm_tokens", "source": "gateway", "subject": "globex",
				"datacontenttype": "application/json", "data": map[string]any{"model": "m-1", "seq": 7.0, "at": "2026-12-01T09:00:00Z"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			out, matched, err := m.Map(c.msg)
			if err != nil || !matched {
				t.Fatalf("Map: matched %v, err %v", matched, err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(c.want)
			if string(g) != string(w) {
				t.Errorf("event\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestMapLeavesUnmatchedMessages(t *testing.T) {
	m := load(t, runs)
	for name, msg := range map[string]mapping.Message{
		"other subject": {Subject: "agent.runs.acme", Data: []byte(record)},
		"when is false": {Subject: "agent.runs.raw.acme", Data: []byte(`{"run_id":"r-2"}`)},
	} {
		t.Run(name, func(t *testing.T) {
			if out, matched, err := m.Map(msg); matched || err != nil || out != nil {
				t.Errorf("Map = %s, %v, %v; want no match", out, matched, err)
			}
		})
	}
}

func TestMapNamesTheRuleAndFieldThatFailed(t *testing.T) {
	m := load(t, runs)
	for name, c := range map[string]struct {
		msg  mapping.Message
		want string
	}{
		"not JSON":        {mapping.Message{Subject: "agent.runs.raw.acme", Data: []byte("run r-1 done")}, `rule 1 (subject "agent.runs.raw.>"): msg: payload is not JSON`},
		"missing field":   {mapping.Message{Subject: "agent.runs.raw.acme", Data: []byte(`{"run_id":"r-1","finished_at":"2026-12-01T10:00:00Z","usage":{}}`)}, `rule 1 (subject "agent.runs.raw.>"): data: no such key: agent`},
		"id not a string": {mapping.Message{Subject: "agent.runs.raw.acme", Data: []byte(`{"run_id":7,"usage":{}}`)}, "rule 1 (subject \"agent.runs.raw.>\"): id: yields double, not string"},
		"time not RFC 3339": {mapping.Message{Subject: "agent.runs.raw.acme", Data: []byte(`{"run_id":"r-1","agent":"a","finished_at":"yesterday","usage":{"input_tokens":1,"output_tokens":1}}`)},
			`rule 1 (subject "agent.runs.raw.>"): time: "yesterday" is not an RFC 3339 time`},
		"empty customer":     {mapping.Message{Subject: "llm.usage", Header: map[string][]string{"Customer": {""}}, Data: []byte(`{"model":"m"}`)}, `rule 2 (subject "llm.usage"): customer: yields an empty string`},
		"no customer header": {mapping.Message{Subject: "llm.usage", Data: []byte(`{"model":"m"}`)}, `rule 2 (subject "llm.usage"): customer: no such key: Customer`},
	} {
		t.Run(name, func(t *testing.T) {
			_, matched, err := m.Map(c.msg)
			if !matched || !errors.Is(err, mapping.ErrUnmappable) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Map: matched %v, err %v; want ErrUnmappable with %q", matched, err, c.want)
			}
		})
	}
}

func TestLoadNamesFileRuleFieldAndCELMessage(t *testing.T) {
	rule := func(field, expr string) string {
		r := map[string]string{"type": "'t'", "source": "'s'", "customer": "'c'", "data": "{}"}
		if expr == "" {
			delete(r, field)
		} else {
			r[field] = expr
		}
		var b strings.Builder
		b.WriteString("mappings:\n  - subject: \"a.b\"\n")
		for k, v := range r {
			b.WriteString("    " + k + ": \"" + v + "\"\n")
		}
		return b.String()
	}
	for name, c := range map[string]struct{ src, want string }{
		"undeclared variable": {rule("customer", "mesage.customer"), `rule 1 (subject "a.b"): customer: undeclared reference to 'mesage'`},
		"syntax":              {rule("data", "{'a': }"), `rule 1 (subject "a.b"): data: Syntax error`},
		"wrong type":          {rule("customer", "42"), `rule 1 (subject "a.b"): customer: yields int, not string`},
		"data not a map":      {rule("data", "[1]"), `rule 1 (subject "a.b"): data: yields list(int), not map(string, dyn)`},
		"when not bool":       {rule("when", "'yes'"), `rule 1 (subject "a.b"): when: yields string, not bool`},
		"missing type":        {rule("type", ""), `rule 1 (subject "a.b"): type: missing; give a CEL expression`},
		"bad subject":         {"mappings:\n  - subject: \"a.>.b\"\n", `rule 1 (subject "a.>.b"): subject has ">" before its last token`},
		"unknown key":         {"mappings:\n  - subjcet: a\n", `field subjcet not found`},
		"no rules":            {"mappings: []\n", `no rules under "mappings:"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mapping.Parse("rules.yaml", []byte(c.src))
			if err == nil || !strings.HasPrefix(err.Error(), "mapping rules.yaml: ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse: %v; want one line naming the file and %q", err, c.want)
			}
		})
	}
	if _, err := mapping.Parse("rules.yaml", []byte(rule("when", "true"))); err != nil {
		t.Errorf("a rule with empty data {}: %v", err)
	}
	if _, err := mapping.Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "point it at an existing file") {
		t.Errorf("Load of a missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(runs), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := mapping.Load(path); err != nil || len(m.Subjects()) != 2 {
		t.Errorf("Load: %v", err)
	}
}

// TestCostLimitStopsHostilePayloads: whatever a producer sends, an
// expression's evaluation stops at the cost limit with an error naming it.
func TestCostLimitStopsHostilePayloads(t *testing.T) {
	m := load(t, `
mappings:
  - subject: "h"
    type: "'t'"
    source: "'s'"
    customer: "'c'"
    data: "{'n': msg.items.map(x, msg.items.map(y, x + y)).size()}"
`)
	items := make([]string, 20_000)
	for i := range items {
		items[i] = "1"
	}
	huge := `{"items":[` + strings.Join(items, ",") + `]}`
	deep := strings.Repeat(`{"items":`, 20_000) + "[]" + strings.Repeat("}", 20_000)
	for name, payload := range map[string]string{"huge list": huge, "deep nesting": deep} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, _, err := m.Map(mapping.Message{Subject: "h", Data: []byte(payload)})
			if !errors.Is(err, mapping.ErrUnmappable) {
				t.Fatalf("Map: %v; want ErrUnmappable", err)
			}
			if want := map[string]string{"huge list": "cost limit exceeded", "deep nesting": "payload is not JSON"}[name]; !strings.Contains(err.Error(), want) {
				t.Errorf("Map: %v; want %q", err, want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Map took %v", d)
			}
		})
	}
}
