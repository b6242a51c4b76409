package consume

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
)

// benchMessage is one NATS message as producers of agent runs send it.
type benchMessage struct {
	name   string
	header nats.Header
	data   []byte
	events int
}

// benchMessages are the forms the bridge reads most: a structured-mode
// event with an id and a time, the same event in binary mode, one without
// id or time (the bridge derives the id and stamps the stored time), and a
// message holding an array of ten events.
func benchMessages() []benchMessage {
	const structured = `{"specversion":"1.0","id":"8655CDD7-0775-4AEA-AF8C-89C47EBC8828","source":"acme-platform","type":"agent_run","subject":"acme-inc","time":"2026-11-27T08:00:00Z","datacontenttype":"application/json","data":{"agent_name":"summarizer","tokens":1234,"duration_ms":5678}}`
	const withoutID = `{"specversion":"1.0","source":"acme-platform","type":"agent_run","subject":"acme-inc","datacontenttype":"application/json","data":{"agent_name":"summarizer","tokens":1234,"duration_ms":5678}}`
	array := []byte{'['}
	for i := range 10 {
		if i > 0 {
			array = append(array, ',')
		}
		array = append(array, `{"specversion":"1.0","id":"run-`...)
		array = strconv.AppendInt(array, int64(i), 10)
		array = append(array, `","source":"acme-platform","type":"agent_run","subject":"acme-inc","time":"2026-11-27T08:00:00Z","data":{"agent_name":"summarizer","tokens":1234}}`...)
	}
	array = append(array, ']')
	binary := nats.Header{}
	for k, v := range map[string]string{
		"ce-specversion": "1.0", "ce-id": "8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "ce-source": "acme-platform",
		"ce-type": "agent_run", "ce-subject": "acme-inc", "ce-time": "2026-11-27T08:00:00Z", "Content-Type": "application/json",
	} {
		binary.Set(k, v)
	}
	return []benchMessage{
		{name: "structured", data: []byte(structured), events: 1},
		{name: "binary", header: binary, data: []byte(`{"agent_name":"summarizer","tokens":1234,"duration_ms":5678}`), events: 1},
		{name: "without_id", data: []byte(withoutID), events: 1},
		{name: "array_of_10", data: array, events: 10},
	}
}

// BenchmarkDecode reads a message into events.
func BenchmarkDecode(b *testing.B) {
	for _, m := range benchMessages() {
		b.Run(m.name, func(b *testing.B) {
			perEvent(b, m.events, func() {
				if d := decode.Decode(m.header, m.data); len(d) != m.events || d[0].Err != nil {
					b.Fatalf("decoded %d events, first error %v", len(d), d[0].Err)
				}
			})
		})
	}
}

// BenchmarkPrepare is the bridge's whole per-event path: decode the
// message, normalise the content type, ensure the id, default the time,
// validate, encode the event as it goes into a batch body, and append it to
// the body, with each producer's time held to BRIDGE_MAX_FUTURE and the
// billing period; "fenced/" also holds each event to its subject, which must
// add no allocation.
func BenchmarkPrepare(b *testing.B) {
	ts, _ := fence.ParseTemplates("agent.runs.{customer}")
	cs, _ := fence.ParseCustomers("acme=acme-inc,globex=globex-corp")
	for _, rule := range []*fence.Rule{nil, fence.New(ts, cs, false)} {
		name := ""
		if rule != nil {
			name = "fenced/"
		}
		benchPrepare(b, name, &emitter{log: zerolog.Nop(), rules: Rules{Fence: rule}, time: &event.TimeBounds{MaxFuture: 5 * time.Minute}})
	}
}

// BenchmarkPrepareMapped is BenchmarkPrepare's path for a run record in
// the runner's own shape, mapped by a BRIDGE_MAPPING rule: "mapped" against
// "structured" is what the mapping adds per event.
func BenchmarkPrepareMapped(b *testing.B) {
	const rules = `
mappings:
  - subject: "agent.runs.raw.>"
    when: "has(msg.usage)"
    id: "msg.run_id"
    type: "'agent_run'"
    source: "'acme-platform'"
    customer: "subject.split('.')[3]"
    time: "msg.finished_at"
    data: "{'agent_name': msg.agent, 'tokens': msg.usage.input_tokens + msg.usage.output_tokens, 'duration_ms': msg.duration_ms}"
`
	m, err := mapping.Parse("bench.yaml", []byte(rules))
	if err != nil {
		b.Fatal(err)
	}
	x := &emitter{log: zerolog.Nop(), rules: Rules{Mapping: m}, time: &event.TimeBounds{MaxFuture: 5 * time.Minute}}
	msg := &nats.Msg{Subject: "agent.runs.raw.acme-inc", Data: []byte(`{"run_id":"8655CDD7-0775-4AEA-AF8C-89C47EBC8828","agent":"summarizer","finished_at":"2026-11-27T08:00:00Z","duration_ms":5678,"usage":{"input_tokens":1000,"output_tokens":234}}`)}
	p := provenance{stream: "AGENT_RUNS-1a2b3c", seq: 123456, stored: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	clock := x.time.At(p.stored.Add(time.Minute))
	var body []byte
	perEvent(b, 1, func() {
		events := x.rules.read(msg, p, 100_000)
		if body, err = x.prepare(events.At(0), 0, 1, msg.Subject, p, clock); err != nil {
			b.Fatal(err)
		}
	})
	if len(body) < 100 {
		b.Fatalf("event %q is too short", body)
	}
}

func benchPrepare(b *testing.B, prefix string, x *emitter) {
	p := provenance{
		stream: "AGENT_RUNS-1a2b3c", seq: 123456,
		stored: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC),
	}
	for _, m := range benchMessages() {
		b.Run(prefix+m.name, func(b *testing.B) {
			msg := &nats.Msg{Subject: "agent.runs.acme", Header: m.header, Data: m.data}
			body := make([]byte, 0, 64<<10)
			now := p.stored.Add(time.Minute)
			perEvent(b, m.events, func() {
				events := decode.Read(m.header, m.data, 100_000)
				mp := p.withHeaders(m.header)
				clock := x.time.At(now)
				body = append(body[:0], '[')
				for i := range events.Len() {
					js, err := x.prepare(events.At(i), i, events.Len(), msg.Subject, mp, clock)
					if err != nil {
						b.Fatalf("event %d: %v", i, err)
					}
					if i > 0 {
						body = append(body, ',')
					}
					body = append(body, js...)
				}
				body = append(body, ']')
			})
			if len(body) < 100 {
				b.Fatalf("batch body %q is too short", body)
			}
		})
	}
}

// perEvent runs op b.N times and reports the time, bytes and allocations
// per event besides the per-message figures of -benchmem.
func perEvent(b *testing.B, events int, op func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		op()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N * events)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
}
