package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// hostileSubject is where the hostile messages and the good events
// between them are published: one producer's subject, shared by both.
const hostileSubject = "agent.runs.hostile"

// goodSource is the source of every good event (agentRun's).
const goodSource = "acme-platform"

// hostilePhase is one kind of hostile input.
type hostilePhase struct {
	name string
	// expect is what a bridge that bounds its input should make of it.
	expect string
	// mapped: published on a subject of mappedRules, to a bridge running
	// with them, good events as run records in the runner's own shape.
	mapped bool
	// publish sends n hostile messages and the good events among them or
	// between them.
	publish func(ctx context.Context, p hostilePublisher, n int) (published, error)
}

// published is the ids of the events a phase published.
type published struct {
	// good events must all reach the sink.
	good []string
	// large events are valid but at max_payload: delivered, or
	// dead-lettered when the sink refuses their size (-sink-max-body).
	large []string
}

// hostilePhases are the worst inputs the NATS server accepts, in order.
var hostilePhases = []hostilePhase{
	{"junk arrays", "each message dead-lettered whole, once; good events between them delivered", false,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			junk := junkArray(p.max)
			return p.interleave(ctx, "junk", n, func(int) (*nats.Msg, string) { return p.msg(junk), "" })
		}},
	{"packed valid arrays", "every event delivered", false,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			var sent published
			for i := range n {
				var data []byte
				data, sent.good = packedArray(p.max, i, sent.good)
				if err := p.publish(ctx, p.msg(data)); err != nil {
					return sent, err
				}
			}
			return sent, nil
		}},
	{"giant single events", "each delivered alone, or dead-lettered when Konnect refuses its size; good events between them delivered", false,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			return p.interleave(ctx, "giant", n, func(i int) (*nats.Msg, string) {
				id := "giant-" + strconv.Itoa(i)
				return p.msg(giantEvent(p.max, id)), id
			})
		}},
	{"one good event + huge junk", "the good event delivered, the junk dead-lettered, each message held until then", false,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			var sent published
			for i := range n {
				id := "mixed-" + strconv.Itoa(i)
				sent.good = append(sent.good, id)
				if err := p.publish(ctx, p.msg(mixedArray(p.max, id, i))); err != nil {
					return sent, err
				}
			}
			return sent, nil
		}},
	{"binary mode", "each delivered alone, or dead-lettered when Konnect refuses its size; good events between them delivered", false,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			return p.interleave(ctx, "binary", n, func(i int) (*nats.Msg, string) {
				id := "binary-" + strconv.Itoa(i)
				return binaryEvent(p.max, id), id
			})
		}},
}

// hostilePublisher publishes to JetStream messages of max bytes, headers
// included: the server's max_payload; on mappedHostileSubject when mapped.
type hostilePublisher struct {
	js     jetstream.JetStream
	max    int
	mapped bool
}

func (p hostilePublisher) msg(data []byte) *nats.Msg {
	if p.mapped {
		return &nats.Msg{Subject: mappedHostileSubject, Data: data}
	}
	return &nats.Msg{Subject: hostileSubject, Data: data}
}

func (p hostilePublisher) publish(ctx context.Context, m *nats.Msg) error {
	if _, err := p.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish %d bytes on %s: %w", len(m.Data), m.Subject, err)
	}
	return nil
}

// interleave publishes a good event, then each of n hostile messages
// followed by a good event (a run record when mapped). hostile gives
// message i, and the id of its event when it is a valid but large one.
func (p hostilePublisher) interleave(ctx context.Context, name string, n int, hostile func(i int) (*nats.Msg, string)) (published, error) {
	sent := published{good: make([]string, 0, n+1)}
	good := func(i int) error {
		id := name + "-good-" + strconv.Itoa(i)
		sent.good = append(sent.good, id)
		if p.mapped {
			return p.publish(ctx, p.msg(runRecord(nil, id, i)))
		}
		return p.publish(ctx, p.msg(agentRun(nil, id, i, false)))
	}
	if err := good(0); err != nil {
		return sent, err
	}
	for i := range n {
		m, large := hostile(i)
		if large != "" {
			sent.large = append(sent.large, large)
		}
		if err := p.publish(ctx, m); err != nil {
			return sent, err
		}
		if err := good(i + 1); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// junkArray is a JSON array of size bytes holding only 1s: about size/2
// elements, none of them an event.
func junkArray(size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, '[')
	if size%2 == 0 { // "[1,1,...,1]" has an odd length
		b = append(b, ' ')
	}
	b = append(b, '1')
	for len(b)+3 <= size {
		b = append(b, ',', '1')
	}
	return append(b, ']')
}

// packedArray is a JSON array of size bytes packed with agent runs
// "packed-<msg>-<n>", as many as fit; it appends their ids to ids.
func packedArray(size, msg int, ids []string) ([]byte, []string) {
	b := make([]byte, 0, size)
	b = append(b, '[')
	var e []byte
	for n := 0; ; n++ {
		id := "packed-" + strconv.Itoa(msg) + "-" + strconv.Itoa(n)
		e = agentRun(e[:0], id, n, false)
		if len(b)+len(e)+2 > size {
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
		ids = append(ids, id)
	}
	return fill(b, size, ' ', "]"), ids
}

// giantEvent is one valid agent run of size bytes: its data holds a
// prompt as long as it takes.
func giantEvent(size int, id string) []byte {
	b := []byte(`{"specversion":"1.0","id":"` + id + `","time":"2026-11-27T08:00:00.123Z","source":"` + goodSource +
		`","type":"agent_run","subject":"customer-1","datacontenttype":"application/json","data":{"agent_name":"summarizer","prompt":"`)
	return fill(b, size, 'x', `"}}`)
}

// mixedArray is a JSON array of size bytes: agent run id, then one string
// as long as it takes, which is not an event.
func mixedArray(size int, id string, n int) []byte {
	b := append([]byte{'['}, agentRun(nil, id, n, false)...)
	return fill(append(b, ',', '"'), size, 'x', `"]`)
}

// binaryEvent is a binary-mode agent run (ce-* headers) of size bytes,
// headers included: its data holds a prompt as long as it takes.
func binaryEvent(size int, id string) *nats.Msg {
	m := nats.NewMsg(hostileSubject)
	for k, v := range map[string]string{
		"ce-specversion": "1.0", "ce-id": id, "ce-source": goodSource, "ce-type": "agent_run",
		"ce-subject": "customer-1", "ce-time": "2026-11-27T08:00:00.123Z", "content-type": "application/json",
	} {
		m.Header.Set(k, v)
	}
	m.Data = fill([]byte(`{"agent_name":"summarizer","prompt":"`), size-headerSize(m.Header), 'x', `"}`)
	return m
}

// headerSize is how many bytes h takes on the wire, as nats.go writes it.
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n") + len("\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// fill appends pad to prefix, then suffix, so that the result is size
// bytes long.
func fill(prefix []byte, size int, pad byte, suffix string) []byte {
	if n := size - len(prefix) - len(suffix); n > 0 {
		prefix = append(prefix, bytes.Repeat([]byte{pad}, n)...)
	}
	return append(prefix, suffix...)
}
