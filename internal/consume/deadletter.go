package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// Dead-letter headers: the reason and where the message came from. The
// original headers and payload are kept as they were.
const (
	HeaderReason     = "Konnect-Bridge-Reason"
	HeaderKind       = "Konnect-Bridge-Reason-Kind"
	HeaderStatus     = "Konnect-Bridge-Konnect-Status"
	HeaderSubject    = "Konnect-Bridge-Subject"
	HeaderStream     = "Konnect-Bridge-Stream"
	HeaderSequence   = "Konnect-Bridge-Sequence"
	HeaderDeliveries = "Konnect-Bridge-Deliveries"
	HeaderIndex      = "Konnect-Bridge-Index"
	HeaderTruncated  = "Konnect-Bridge-Truncated"
	// HeaderOriginal prefixes the producer's Nats-* headers (Nats-Msg-Id,
	// Nats-Expected-Stream, Nats-TTL, ...), kept under this name so that
	// JetStream does not act on them when storing the dead letter; replay
	// restores them.
	HeaderOriginal = "Konnect-Bridge-Original-"
	headerPrefix   = "Konnect-Bridge-"
)

// DeadLetter is one event that will never be delivered, and why.
type DeadLetter struct {
	// Index is the event's place in its message (0 for a single event).
	Index int
	// Raw is the event's own JSON when its message held several events;
	// nil means the whole original payload is the dead letter.
	Raw []byte
	// Kind is invalid, undecodable, rejected or too_large.
	Kind   string
	Reason string
	// Status is Konnect's answer, 0 when the bridge refused the event itself.
	Status int
}

// DeadLetters stores dead letters in a JetStream stream of their own.
// Safe for concurrent use.
type DeadLetters struct {
	js         jetstream.JetStream
	subject    string
	stream     string
	log        zerolog.Logger
	metrics    *metrics.Metrics
	retryDelay time.Duration
	tracer     tracer
	// pending counts messages whose dead letters are being stored.
	pending sync.WaitGroup
}

// Wait returns once every message whose dead letters were being stored is
// settled. Call it after the sources and the publisher stopped, before the
// connection is drained.
func (d *DeadLetters) Wait() { d.pending.Wait() }

// NewDeadLetters stores on cfg's BRIDGE_DLQ_SUBJECT in BRIDGE_DLQ_STREAM. A
// message whose dead letter cannot be stored is handed back after NakDelay.
func NewDeadLetters(js jetstream.JetStream, cfg config.Config, log zerolog.Logger, m *metrics.Metrics) *DeadLetters {
	return &DeadLetters{
		js: js, subject: cfg.Bridge.DLQSubject, stream: cfg.Bridge.DLQStream,
		log: log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second}), metrics: m, retryDelay: cfg.Retry.NakDelay,
	}
}

// Ensure creates the dead-letter stream when it is missing, and refuses one
// that does not capture the dead-letter subject.
func (d *DeadLetters) Ensure(ctx context.Context) error {
	s, err := d.js.Stream(ctx, d.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = d.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        d.stream,
			Description: "konnect-bridge dead letters: events Konnect will not accept, with the reason in headers",
			Subjects:    []string{d.subject},
			Storage:     jetstream.FileStorage,
			Duplicates:  10 * time.Minute,
		})
		if err != nil {
			return fmt.Errorf("create dead-letter stream %s: %w", d.stream, err)
		}
		d.log.Info().Str("stream", d.stream).Str("subject", d.subject).Msg("created the dead-letter stream")
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up dead-letter stream %s: %w", d.stream, err)
	}
	for _, subj := range s.CachedInfo().Config.Subjects {
		if config.SubjectCovers(subj, d.subject) {
			return nil
		}
	}
	return fmt.Errorf("BRIDGE_DLQ_STREAM %s exists but does not capture BRIDGE_DLQ_SUBJECT %s: add the subject to the stream or choose another BRIDGE_DLQ_STREAM", d.stream, d.subject)
}

// Publish stores one dead letter and returns once JetStream acknowledged it
// (or had it already: a message handed back after its dead letter was
// stored is dead-lettered again with the same message id). A dead letter
// too large for the server is stored without its payload, the reason still
// whole, rather than handed back forever.
func (d *DeadLetters) Publish(orig *nats.Msg, o Origin, dl DeadLetter) error {
	m := nats.NewMsg(d.subject)
	m.Data = orig.Data
	if dl.Raw != nil {
		m.Data = dl.Raw
	}
	for k, v := range orig.Header {
		if strings.HasPrefix(k, "Nats-") {
			k = HeaderOriginal + k
		}
		m.Header[k] = append([]string(nil), v...)
	}
	m.Header.Set(HeaderReason, dl.Reason)
	m.Header.Set(HeaderKind, dl.Kind)
	m.Header.Set(HeaderSubject, o.Subject)
	if dl.Status != 0 {
		m.Header.Set(HeaderStatus, strconv.Itoa(dl.Status))
	}
	opts := []jetstream.PublishOpt{}
	if o.Stream != "" {
		m.Header.Set(HeaderStream, o.Stream)
		m.Header.Set(HeaderSequence, strconv.FormatUint(o.Sequence, 10))
		m.Header.Set(HeaderDeliveries, strconv.FormatUint(o.Deliveries, 10))
		// The stream's identity, not only its name: a stream recreated
		// within the duplicate window restarts its sequences.
		opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("dlq/%s/%d/%d", o.StreamID, o.Sequence, dl.Index)))
	}
	if dl.Raw != nil {
		m.Header.Set(HeaderIndex, strconv.Itoa(dl.Index))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := d.js.PublishMsg(ctx, m, opts...)
	if errors.Is(err, nats.ErrMaxPayload) {
		m.Header.Set(HeaderTruncated, fmt.Sprintf("payload of %d bytes left out: larger than the server's max_payload with the reason headers", len(m.Data)))
		m.Data = nil
		ack, err = d.js.PublishMsg(ctx, m, opts...)
	}
	d.traceDeadLetter(m, dl.Kind, o.Subject, err)
	if err != nil {
		return fmt.Errorf("publish dead letter to %s: %w", d.subject, err)
	}
	if ack.Duplicate {
		return nil
	}
	d.metrics.EventsDeadLettered.WithLabelValues(dl.Kind).Inc()
	d.log.Warn().Str("kind", dl.Kind).Str("reason", dl.Reason).Str("subject", o.Subject).Uint64("seq", o.Sequence).Msg("event dead-lettered")
	return nil
}

// originalHeaders strips the dead-letter headers and restores the
// producer's Nats-* headers, for a replay.
func originalHeaders(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		switch {
		case strings.HasPrefix(k, HeaderOriginal):
			out[strings.TrimPrefix(k, HeaderOriginal)] = v
		case !strings.HasPrefix(k, headerPrefix):
			out[k] = v
		}
	}
	return out
}
