package bridge

import (
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// Option adds to what Run runs.
type Option func(*options)

type options struct {
	tracer *tracing.Tracer
}

// WithTracer traces every batch and dead letter with t (nil: off).
func WithTracer(t *tracing.Tracer) Option {
	return func(o *options) { o.tracer = t }
}

// trace hands the tracer to the parts that make spans: the dead letters
// (and with them the sources that dead-letter through them, which then
// carry each event's trace context) and the publisher.
func (o options) trace(dlq *deadletter.DeadLetters, pub *publish.Publisher) {
	dlq.Trace(o.tracer)
	pub.Trace(o.tracer)
}
