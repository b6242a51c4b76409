package consume

import (
	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// Trace hands each event's trace context on to the publisher with its
// Item, for the span of its batch, when t is on. Call it before Run.
func (j *JetStream) Trace(t *tracing.Tracer) { j.emitter.traced = t != nil }

// Trace is JetStream's Trace for core NATS.
func (c *Core) Trace(t *tracing.Tracer) { c.emitter.traced = t != nil }

// Trace records a span of every dead letter with t. Call it before the
// first message is read; a nil t leaves tracing off.
func (d *DeadLetters) Trace(t *tracing.Tracer) { d.tracer = t }

// traceparent is the producer's trace context of event d of a message with
// headers h, as it came: the event's traceparent extension attribute
// (structured mode), its ce-traceparent header (binary mode), else the
// message's traceparent header. Read only when tracing is on.
func traceparent(d Decoded, h nats.Header) string {
	if d.Event != nil {
		if v, ok := d.Event.Extensions()["traceparent"].(string); ok && v != "" {
			return v
		}
	}
	if v, ok := ceHeader(h, "traceparent"); ok {
		return v
	}
	return headerFold(h, "traceparent")
}

// traceDeadLetter records storing dead letter dl of orig (err when it
// failed), linked to the trace context of its event.
func (d *DeadLetters) traceDeadLetter(orig *nats.Msg, o Origin, dl DeadLetter, err error) {
	if d.tracer == nil {
		return
	}
	payload := orig.Data
	if dl.Raw != nil {
		payload = dl.Raw
	}
	d.tracer.DeadLetter(traceparent(Decode(orig.Header, payload)[0], orig.Header), o.Subject, dl.Kind, dl.Reason, err)
}
