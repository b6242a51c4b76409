package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// mappedHostileSubject is where the mapped phases publish: a subject of
// mappedRules, customer "hostile".
const mappedHostileSubject = mappedPrefix + "hostile"

// mappedPhases are the worst input a producer of run records can send on
// a mapped subject, each message at max_payload and a good run record
// after each; the bridge runs with mappedRules. Each hostile message is
// a run record (or meant to pass for one) that makes the rule's
// expressions, or the decoding before them, work as hard as it can.
var mappedPhases = []hostilePhase{
	{"mapped: huge array", "each dead-lettered as unmappable (the payload is a list, not a record); good records between them delivered", true,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			junk := junkArray(p.max)
			return p.interleave(ctx, "mapped-array", n, func(int) (*nats.Msg, string) { return p.msg(junk), "" })
		}},
	{"mapped: huge tool list", "each record's tool list filtered until the cost limit stops it (at 1 MiB it does), then dead-lettered as unmappable; delivered if under it; good records between them delivered", true,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			return p.interleave(ctx, "mapped-tools", n, func(i int) (*nats.Msg, string) {
				id := "mapped-tools-" + strconv.Itoa(i)
				return p.msg(toolsRecord(p.max, id)), id
			})
		}},
	{"mapped: deep nesting", "each dead-lettered as unmappable (nested past 10,000 levels it is not JSON); good records between them delivered", true,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			return p.interleave(ctx, "mapped-deep", n, func(i int) (*nats.Msg, string) {
				return p.msg(deepRecord(p.max, "mapped-deep-"+strconv.Itoa(i))), ""
			})
		}},
	{"mapped: long string", "each dead-lettered as unmappable (a token count that is a string), its reason short; good records between them delivered", true,
		func(ctx context.Context, p hostilePublisher, n int) (published, error) {
			return p.interleave(ctx, "mapped-string", n, func(i int) (*nats.Msg, string) {
				return p.msg(longStringRecord(p.max, "mapped-string-"+strconv.Itoa(i))), ""
			})
		}},
}

// recordHead is the start of a run record with id, up to its usage.
func recordHead(id string) []byte {
	return []byte(`{"run_id":"` + id + `","agent":"summarizer","model":"gpt-5-mini","finished_at":"2026-11-27T08:00:00.123Z","duration_ms":200,"usage":`)
}

// toolsRecord is a valid run record of size bytes whose tool list, every
// call failed, is as long as it takes: the rule's filter walks all of it.
func toolsRecord(size int, id string) []byte {
	b := append(recordHead(id), `{"input_tokens":1000,"output_tokens":100},"tools":[{"ok":false}`...)
	const call = `,{"ok":false}`
	for len(b)+len(call)+2 <= size {
		b = append(b, call...)
	}
	return fill(b, size, ' ', "]}")
}

// deepRecord is a run record of size bytes whose usage nests objects as
// deep as it takes: far past the 10,000 levels Go's decoder takes.
func deepRecord(size int, id string) []byte {
	b := recordHead(id)
	const open, close = `{"u":`, "}"
	k := (size - len(b) - len("1}")) / (len(open) + len(close))
	return fill(b, size, ' ', strings.Repeat(open, k)+"1"+strings.Repeat(close, k)+"}")
}

// longStringRecord is a run record of size bytes whose input token count
// is a string as long as it takes.
func longStringRecord(size int, id string) []byte {
	b := append(recordHead(id), `{"output_tokens":100,"input_tokens":"`...)
	return fill(b, size, '9', `"}}`)
}
