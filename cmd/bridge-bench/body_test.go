package main

import (
	"strings"
	"testing"
)

// The sink refuses what Konnect refuses, naming the attribute, and keeps the
// (source, id) of every event of a body it accepts.
func TestSinkChecksBodiesAsKonnectDoes(t *testing.T) {
	const good = `{"specversion":"1.0","type":"agent_run","id":"run-1","source":"acme-platform","time":"2026-11-27T08:00:00Z","subject":"acme-inc","data":{"agent_name":"summarizer"}}`
	with := func(old, new string) string { return "[" + strings.Replace(good, old, new, 1) + "]" }
	refused := map[string]struct{ body, says string }{
		"not JSON":             {`[{"id":`, "not JSON"},
		"not an array":         {good, "not a JSON array"},
		"empty batch":          {`[]`, "empty batch"},
		"no id":                {with(`"id":"run-1",`, ``), "id: required"},
		"empty subject":        {with(`"acme-inc"`, `" "`), "subject: required, must be a non-empty string"},
		"specversion 0.3":      {with(`"1.0"`, `"0.3"`), "specversion"},
		"time not RFC 3339":    {with(`2026-11-27T08:00:00Z`, `yesterday`), "time:"},
		"data an array":        {with(`{"agent_name":"summarizer"}`, `[1]`), "data: must be a JSON object or null"},
		"text content":         {with(`"subject"`, `"datacontenttype":"text/plain","subject"`), "datacontenttype"},
		"an extension":         {with(`"subject"`, `"traceparent":"00-x","subject"`), "traceparent: additional properties are not allowed"},
		"one bad event of two": {"[" + good + "," + strings.Replace(good, `"type":"agent_run",`, ``, 1) + "]", "event 1: type: required"},
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := parseBatch([]byte(c.body), false, nil)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("parseBatch = %v, want an error saying %q", err, c.says)
			}
		})
	}
	second := strings.Replace(good, `"run-1"`, `"run-2"`, 1)
	got, err := parseBatch([]byte("[ "+good+" ,\n"+second+" ]"), false, nil)
	if err != nil {
		t.Fatalf("parseBatch refused two good events: %v", err)
	}
	if len(got) != 2 || string(got[0].id) != "run-1" || string(got[1].id) != "run-2" || string(got[1].source) != "acme-platform" {
		t.Errorf("parseBatch kept %q, want run-1 and run-2 from acme-platform", got)
	}
	if one, err := parseBatch([]byte(good), true, nil); err != nil || len(one) != 1 {
		t.Errorf("a single event in structured mode: %v, %d events", err, len(one))
	}
}
