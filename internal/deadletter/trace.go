package deadletter

import (
	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// tracer is the dead letters' tracer; nil when tracing is off.
type tracer = *tracing.Tracer

// Trace records a span of every dead letter with t, and has the sources
// that dead-letter through d (JetStream and core NATS) hand each event's
// trace context on to the publisher with its Item. Call it before the
// first message is read; a nil t leaves tracing off.
func (d *DeadLetters) Trace(t *tracing.Tracer) { d.tracer = t }

// Traced reports whether tracing is on for the sources of d.
func (d *DeadLetters) Traced() bool { return d != nil && d.tracer != nil }

// traceDeadLetter records storing the dead letter m (err when it failed),
// of kind, from subject, linked to the trace context of its event: read
// from its payload and the original headers it keeps.
func (d *DeadLetters) traceDeadLetter(m *nats.Msg, kind, subject string, err error) {
	if d.tracer == nil {
		return
	}
	tp := decode.Traceparent(decode.Read(m.Header, m.Data, 1).At(0), m.Header)
	d.tracer.DeadLetter(tp, subject, kind, m.Header.Get(HeaderReason), err)
}
