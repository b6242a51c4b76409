package consume

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// emitter turns one NATS message into Items for the publisher, shared by
// the JetStream and the core NATS sources. It holds at most heldMax bytes
// of messages at once (a larger message alone), whatever producers send.
type emitter struct {
	dlq *deadletter.DeadLetters
	log zerolog.Logger
	// settleLog says, sampled, when settling a message fails.
	settleLog zerolog.Logger
	metrics   *metrics.Metrics
	maxEvents int
	held      *semaphore.Weighted
	heldMax   int64
	// rules map each message (Mapping, nil: off) and hold each event to
	// the subject it arrived on (Fence, nil: off).
	rules Rules
	// time holds each producer's time to BRIDGE_MAX_FUTURE and the
	// customer's billing period.
	time *event.TimeBounds
}

func newEmitter(cfg config.Config, dlq *deadletter.DeadLetters, log zerolog.Logger, m *metrics.Metrics, r Rules) emitter {
	return emitter{
		dlq: dlq, log: log, settleLog: log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second}), metrics: m, maxEvents: cfg.Batch.MaxEventsPerMessage,
		held: semaphore.NewWeighted(int64(cfg.Batch.HeldBytes)), heldMax: int64(cfg.Batch.HeldBytes), rules: r,
		time: &event.TimeBounds{MaxFuture: cfg.Bridge.MaxFuture, DeadLetter: cfg.Bridge.TimePolicy == "deadletter"},
	}
}

// provenance is what the source knows about a message that the events may
// need: an id base for events without one, and the time it was stored.
// The id base must be the same on every redelivery of the message: a stream
// message's is derived from its stream's identity and its sequence (stream
// set), any other's is given (base).
type provenance struct {
	base   string
	stream string
	seq    uint64
	stored time.Time
}

// sequenced is the provenance of message seq of the stream of identity
// stream, stored at stored.
func sequenced(stream string, seq uint64, stored time.Time) provenance {
	return provenance{stream: stream, seq: seq, stored: stored}
}

// idBase derives ids for the message's events without one.
func (p provenance) idBase() string {
	if p.stream != "" {
		return sequenceID(p.stream, p.seq)
	}
	return p.base
}

// withHeaders lets the message's headers speak first: a replayed dead
// letter's recorded id base and time, else the producer's Nats-Msg-Id.
func (p provenance) withHeaders(h nats.Header) provenance {
	if len(h) == 0 {
		return p
	}
	if b := h.Get(deadletter.HeaderIDBase); b != "" {
		p.base, p.stream = b, ""
	} else if b := h.Get(jetstream.MsgIDHeader); b != "" {
		p.base, p.stream = b, ""
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(deadletter.HeaderStoredAt)); err == nil {
		p.stored = t
	}
	return p
}

// eventID is the id event i of n gets when it has none: the message's id
// base, with "/i" for an event of an array.
func (p provenance) eventID(i, n int) string {
	if n == 1 {
		return p.idBase()
	}
	return p.idBase() + "/" + strconv.Itoa(i)
}

// emit decodes m's message (its raw, settler, provenance and keep-alive
// given) and sends each deliverable event to out; events that cannot be
// delivered settle at once as dead letters. It reports false when ctx ended
// first (the events not sent are handed back).
func (x *emitter) emit(ctx context.Context, m *message, out chan<- delivery.Item) bool {
	raw := m.raw
	m.p = m.p.withHeaders(raw.Header)
	events := x.rules.read(raw, m.p, x.maxEvents)
	n := events.Len()
	m.x, m.events = x, events
	m.pending.Store(int32(n))
	if m.alive != nil {
		m.alive.add(m)
	}
	size := min(int64(len(raw.Data)), x.heldMax)
	if err := x.held.Acquire(ctx, size); err != nil {
		for i := range n {
			m.Settle(i, delivery.Later(0, "shutting down"))
		}
		return false
	}
	m.held, m.size = x.held, size
	x.metrics.EventsReceived.Add(float64(n))
	clock := x.time.At(time.Now())
	for i := range n {
		d := events.At(i)
		body, err := x.prepare(d, i, n, raw.Subject, m.p, clock)
		if err != nil {
			x.countRefusal(err)
			m.Settle(i, delivery.Dead(KindOf(err), err.Error(), 0))
			continue
		}
		it := delivery.Item{JSON: body, Owner: m, Index: i}
		if x.dlq.Traced() {
			it.Traceparent = decode.Traceparent(d, raw.Header)
		}
		if ctx.Err() != nil {
			it.Done(delivery.Later(0, "shutting down"))
			continue
		}
		select {
		case out <- it:
		case <-ctx.Done():
			it.Done(delivery.Later(0, "shutting down"))
		}
	}
	return ctx.Err() == nil
}

// countRefusal counts an event the fence refused, by reason.
func (x *emitter) countRefusal(err error) {
	var r *fence.Refusal
	if errors.As(err, &r) {
		x.metrics.FenceRefusals.WithLabelValues(r.Reason).Inc()
	}
}

// KindOf names the dead-letter kind of an event the bridge refuses itself.
func KindOf(err error) delivery.Kind {
	switch {
	case errors.Is(err, decode.ErrTooManyEvents):
		return delivery.KindTooManyEvents
	case errors.Is(err, decode.ErrUndecodable):
		return delivery.KindUndecodable
	case errors.Is(err, mapping.ErrUnmappable):
		return delivery.KindUnmappable
	case errors.Is(err, fence.ErrRefused):
		return delivery.KindFenced
	case errors.Is(err, event.ErrOutOfTime):
		return delivery.KindOutOfTime
	}
	return delivery.KindInvalid
}

// prepare makes one decoded event deliverable (see deliverable) and
// encodes it as Konnect takes it.
func (x *emitter) prepare(d decode.Decoded, i, n int, subject string, p provenance, clock event.Clock) ([]byte, error) {
	e, bound, err := deliverable(d, i, n, subject, p, x.rules.Fence, clock)
	if bound != event.InTime {
		x.metrics.EventsOutOfTime.WithLabelValues(bound.String()).Inc()
	}
	if err != nil {
		return nil, err
	}
	if x.log.Debug().Enabled() {
		x.log.Debug().Str("id", e.ID()).Str("source", e.Source()).Str("subject", e.Subject()).Msg("event received")
	}
	return event.AppendJSON(make([]byte, 0, 256+len(e.Data())), e), nil
}
