package consume

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
)

// emitter turns one NATS message into Items for the publisher, shared by
// the JetStream and the core NATS sources.
type emitter struct {
	dlq     *DeadLetters
	log     zerolog.Logger
	metrics *metrics.Metrics
}

// provenance is what the source knows about a message that the events may
// need: an id base for events without one, and the time it was stored.
type provenance struct {
	// idBase derives ids for events without one; it must give the same
	// answer on every redelivery of the message.
	idBase func() string
	stored time.Time
}

// emit decodes raw and sends each deliverable event to out; events that
// cannot be delivered settle at once as dead letters. hold registers the
// message while it is in the bridge and returns what releases it once the
// message is settled. It reports false when ctx ended first (the events not
// sent are handed back).
func (x *emitter) emit(ctx context.Context, raw *nats.Msg, s settler, p provenance, out chan<- publish.Item, hold func(*message) (release func())) bool {
	decoded := Decode(raw.Header, raw.Data)
	m := newMessage(raw, s, x.dlq, len(decoded))
	m.released = hold(m)
	x.metrics.EventsReceived.Add(float64(len(decoded)))
	for i, d := range decoded {
		body, err := x.prepare(d, i, len(decoded), raw.Header, p)
		if err != nil {
			kind := "invalid"
			if errors.Is(err, ErrUndecodable) {
				kind = "undecodable"
			}
			m.done(i, d.Raw, publish.Outcome{Verdict: publish.Rejected, Cause: kind, Reason: err.Error()})
			continue
		}
		idx, rawEvent := i, d.Raw
		it := publish.Item{JSON: body, Done: func(o publish.Outcome) { m.done(idx, rawEvent, o) }}
		if x.dlq.traced() {
			it.Traceparent = traceparent(d, raw.Header)
		}
		if ctx.Err() != nil {
			it.Done(publish.Outcome{Verdict: publish.RetryLater, Reason: "shutting down"})
			continue
		}
		select {
		case out <- it:
		case <-ctx.Done():
			it.Done(publish.Outcome{Verdict: publish.RetryLater, Reason: "shutting down"})
		}
	}
	return ctx.Err() == nil
}

// prepare makes one decoded event deliverable: the producer's id, else the
// Nats-Msg-Id header, else one derived from the message's place in the
// stream; the producer's time, else the time the message was stored.
func (x *emitter) prepare(d Decoded, i, n int, h nats.Header, p provenance) ([]byte, error) {
	if d.Err != nil {
		return nil, d.Err
	}
	e := event.NormalizeContentType(d.Event)
	if e.ID() == "" {
		base := h.Get(jetstream.MsgIDHeader)
		if base == "" {
			base = p.idBase()
		}
		if n > 1 {
			base += "/" + strconv.Itoa(i)
		}
		e = event.EnsureID(e, base)
	}
	e = event.DefaultTime(e, p.stored)
	if err := event.Validate(e); err != nil {
		return nil, err
	}
	if x.log.Debug().Enabled() {
		x.log.Debug().Str("id", e.ID()).Str("source", e.Source()).Str("subject", e.Subject()).Msg("event received")
	}
	return event.AppendJSON(make([]byte, 0, 256+len(e.Data())), e), nil
}
