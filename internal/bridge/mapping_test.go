package bridge_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// runnerRules map the agent runner's own run records, published on
// agent.runs.raw.<customer>, to agent_run events.
const runnerRules = `
mappings:
  - subject: "agent.runs.raw.>"
    when: "has(msg.usage)"
    id: "msg.run_id"
    type: "'agent_run'"
    source: "'acme-runner'"
    customer: "subject.split('.')[3]"
    time: "msg.finished_at"
    data: "{'agent_name': msg.agent, 'tokens': msg.usage.input_tokens + msg.usage.output_tokens}"
`

// "Producers that don't speak CloudEvents": with BRIDGE_MAPPING, a run
// record in the runner's own shape is delivered as the event its rule
// makes, with the record's id, customer and time; a record the rule cannot
// map is dead-lettered as unmappable, as it was sent, with a reason naming
// the rule and the field; the CloudEvents around them flow on.
func TestMappedRecordsAreDeliveredAndUnmappableOnesDeadLettered(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(rules, []byte(runnerRules), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, func(c *config.Config) { c.Bridge.Mapping = rules })
	finished := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	record := func(id, agent string) []byte {
		r := map[string]any{"run_id": id, "finished_at": finished.Format(time.RFC3339), "usage": map[string]int{"input_tokens": 120, "output_tokens": 30}}
		if agent != "" {
			r["agent"] = agent
		}
		b, _ := json.Marshal(r)
		return b
	}
	noAgent := record("r-2", "")
	testkit.Publish(t, e.js, "agent.runs.acme", run("ce-before").JSON())
	testkit.Publish(t, e.js, "agent.runs.raw.globex", record("r-1", "triage"))
	testkit.Publish(t, e.js, "agent.runs.raw.globex", noAgent)
	testkit.Publish(t, e.js, "agent.runs.acme", run("ce-after").JSON())

	e.waitHeld(3)
	e.waitSettled()
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) >= 1 }, "the unmappable record was not dead-lettered")
	got := map[string]string{}
	for _, ev := range e.konnect.Events() {
		got[ev.ID] = ev.Source + " " + ev.Subject
		if ev.ID == "r-1" {
			var data struct {
				Agent  string  `json:"agent_name"`
				Tokens float64 `json:"tokens"`
			}
			_ = json.Unmarshal(ev.Data, &data)
			if data.Agent != "triage" || data.Tokens != 150 || ev.Type != "agent_run" {
				t.Errorf("mapped event r-1 is %s with data %s, want agent_run with agent_name triage and 150 tokens", ev.Type, ev.Data)
			}
			if at, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil || !at.Equal(finished) {
				t.Errorf("mapped event r-1 timed %q, want the record's finished_at %s", ev.Time, finished.Format(time.RFC3339))
			}
		}
	}
	want := map[string]string{"ce-before": "acme-platform acme-inc", "r-1": "acme-runner globex", "ce-after": "acme-platform acme-inc"}
	if len(got) != len(want) {
		t.Errorf("Konnect holds %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("event %s in Konnect is %q (source customer), want %q", id, got[id], w)
		}
	}
	dls := e.deadLetters()
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want the one unmappable record", len(dls))
	}
	h := dls[0].Header
	const reason = `rule 1 (subject "agent.runs.raw.>"): data: no such key: agent`
	if h.Get("Konnect-Bridge-Reason-Kind") != "unmappable" || !strings.Contains(h.Get("Konnect-Bridge-Reason"), reason) {
		t.Errorf("dead letter is %s %q, want unmappable saying %q", h.Get("Konnect-Bridge-Reason-Kind"), h.Get("Konnect-Bridge-Reason"), reason)
	}
	if string(dls[0].Data) != string(noAgent) || h.Get("Konnect-Bridge-Subject") != "agent.runs.raw.globex" {
		t.Errorf("dead letter holds %s from %s, want the record as sent, from agent.runs.raw.globex", dls[0].Data, h.Get("Konnect-Bridge-Subject"))
	}
	if got := e.scrape().value(t, `konnect_bridge_events_dead_lettered_total{reason="unmappable"}`); got != 1 {
		t.Errorf(`konnect_bridge_events_dead_lettered_total{reason="unmappable"} = %v, want 1`, got)
	}
}

// A rule that does not compile stops the start, naming the file, the rule,
// the field and CEL's message.
func TestMappingThatDoesNotCompileStopsTheStart(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "mapping.yaml")
	bad := strings.Replace(runnerRules, "subject.split('.')[3]", "subjct.split('.')[3]", 1)
	if err := os.WriteFile(rules, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testkit.Config("nats://127.0.0.1:1", "http://127.0.0.1:1/v3/openmeter/events")
	cfg.Bridge.Mapping = rules
	ctx, stop := context.WithTimeout(context.Background(), wait)
	defer stop()
	err := bridge.Run(ctx, cfg, zerolog.Nop(), nil)
	want := "mapping " + rules + `: rule 1 (subject "agent.runs.raw.>"): customer: undeclared reference to 'subjct'`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("start: %v; want %q", err, want)
	}
}

// A producer floods a mapped subject with messages at the server's
// max_payload, each a list a rule's comprehension walks in quadratic time.
// The cost limit stops each evaluation: the message is dead-lettered as
// unmappable, naming the limit, and the good records around it are mapped
// and delivered. The test logs what one such message costs the bridge.
func TestMappingCostLimitStopsHostilePayloads(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "mapping.yaml")
	const quadratic = `
mappings:
  - subject: "agent.runs.raw.>"
    id: "msg.run_id"
    type: "'agent_run'"
    source: "'acme-runner'"
    customer: "subject.split('.')[3]"
    data: "{'agent_name': msg.agent, 'pairs': msg.items.map(x, msg.items.map(y, x + y)).size()}"
`
	if err := os.WriteFile(rules, []byte(quadratic), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, func(c *config.Config) { c.Bridge.Mapping = rules })
	const subject = "agent.runs.raw.acme"
	items := junkArray((int(e.nc.MaxPayload()) - 4<<10) / 2)
	hostile := append(append([]byte(`{"run_id":"junk","agent":"a","items":`), items...), '}')
	good := func(id string) []byte { return []byte(`{"run_id":"` + id + `","agent":"triage","items":[1,2,3]}`) }
	testkit.Publish(t, e.js, subject, good("before"))
	const floods = 3
	began := time.Now()
	for range floods {
		testkit.Publish(t, e.js, subject, hostile)
	}
	testkit.Publish(t, e.js, subject, good("after"))

	e.waitHeld(2)
	e.waitSettled()
	t.Logf("%d hostile messages of %d bytes mapped, dead-lettered and settled, with 2 good ones, in %v", floods, len(hostile), time.Since(began))
	if got := e.konnect.IDs(); !got["acme-runner/before"] || !got["acme-runner/after"] || len(got) != 2 {
		t.Errorf("Konnect holds %v, want the two good records", got)
	}
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) >= floods }, "fewer than %d dead letters", floods)
	for _, d := range e.deadLetters() {
		if h := d.Header; h.Get("Konnect-Bridge-Reason-Kind") != "unmappable" || !strings.Contains(h.Get("Konnect-Bridge-Reason"), "data: operation cancelled: actual cost limit exceeded") {
			t.Errorf("dead letter %s %q, want unmappable naming the cost limit", h.Get("Konnect-Bridge-Reason-Kind"), h.Get("Konnect-Bridge-Reason"))
		}
	}
}
