package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// mappedRules is the BRIDGE_MAPPING of the mapped runs: docs/MAPPING.md's
// agent-runner rule, with agentRun's data, the tokens summed as the guide
// does, and a count of the failed tool calls a record may list: the
// comprehension a hostile record can make expensive.
const mappedRules = `mappings:
  - subject: "agent.runs.raw.>"
    when: "has(msg.usage)"
    id: "msg.run_id"
    type: "'agent_run'"
    source: "'` + goodSource + `'"
    customer: "subject.split('.')[3]"
    time: "msg.finished_at"
    data: >-
      {'agent_name': msg.agent, 'model': msg.model,
       'input_tokens': msg.usage.input_tokens, 'output_tokens': msg.usage.output_tokens,
       'tokens': msg.usage.input_tokens + msg.usage.output_tokens,
       'duration_ms': msg.duration_ms,
       'failed_tools': has(msg.tools) ? size(msg.tools.filter(t, !t.ok)) : 0}
`

// mappedPrefix is where mapped run records are published: one subject per
// customer, "agent.runs.raw.<customer>".
const mappedPrefix = "agent.runs.raw."

// writeMapping writes mappedRules into dir and returns its path.
func writeMapping(dir string) (string, error) {
	path := filepath.Join(dir, "mapping.yaml")
	return path, os.WriteFile(path, []byte(mappedRules), 0o600)
}

// mappedSubject is the subject of run record n: its customer's.
func mappedSubject(n int) string { return mappedPrefix + "customer-" + strconv.Itoa(n%1000) }

// runRecord appends run record n as an agent runner publishes it, in its
// own shape: what agentRun carries, without the CloudEvents envelope.
func runRecord(b []byte, id string, n int) []byte {
	b = append(b, `{"run_id":"`...)
	b = append(b, id...)
	b = append(b, `","agent":"summarizer","model":"gpt-5-mini","finished_at":"2026-11-27T08:00:00.123Z","duration_ms":`...)
	b = strconv.AppendInt(b, int64(200+n%4999), 10)
	b = append(b, `,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(1000+n%7919), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(100+n%997), 10)
	return append(b, `}}`...)
}

// mappedDrain drains o.n run records in the runner's own shape, mapped by
// mappedRules, with a fresh bridge, and reports it beside the CloudEvents
// drain: what the mapping costs per event.
func (b *bench) mappedDrain(ctx context.Context) error {
	path, err := writeMapping(b.dir)
	if err != nil {
		return err
	}
	if err := freshStream(ctx, b.js); err != nil {
		return err
	}
	took, err := preload(ctx, b.js, b.o.n, func(buf []byte, i int) ([]byte, string) {
		return runRecord(buf, "run-"+strconv.Itoa(i), i), mappedSubject(i)
	})
	if err != nil {
		return err
	}
	b.report.add("preload mapped (async publish)", rate(b.o.n, took), fmt.Sprintf("%d run records in the runner's own shape on %s<customer>", b.o.n, mappedPrefix))
	b.snk.reset(b.o.n, 0)
	p, err := startBridge(append(bridgeArgs(b.o, b.natsURL, b.snk.url), "--mapping", path), "", "", b.o.gogc, nil)
	if err != nil {
		return err
	}
	d, err := drain(p, b.snk, b.o.n)
	if stop := p.stop(); err == nil && stop != nil {
		err = fmt.Errorf("the mapping bridge stopped with %v", stop)
	}
	if err != nil {
		return fmt.Errorf("mapped drain: %w", err)
	}
	b.report.mapped = d
	b.report.drained("mapped", b.o.n, d)
	b.report.add("mapped / CloudEvents", fmt.Sprintf("%.2f x CPU per event", b.report.mappedCPURatio()),
		fmt.Sprintf("drain %.2f x the CloudEvents drain's events/s", d.rate/b.report.drain))
	return nil
}
