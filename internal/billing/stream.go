package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
)

// Window is a span of time, From inclusive, Until exclusive; a zero Until
// is open. Its JSON is the spec's ClosedPeriod.
type Window struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"to"`
}

func (w Window) String() string {
	until := "now"
	if !w.Until.IsZero() {
		until = w.Until.UTC().Format(time.RFC3339)
	}
	return w.From.UTC().Format(time.RFC3339) + " .. " + until
}

// Read is one event of a stored message, as delivery sends it. When
// delivery dead-letters it instead, Err says why, and Event is the event as
// far as it was read (nil when it could not be decoded).
type Read struct {
	Sequence uint64
	// Index is the event's place in its message (0 for a message of one).
	Index  int
	Stored time.Time
	Event  *ce.Event
	Err    error
}

// Stream reads a JetStream stream's messages without consuming them.
type Stream struct {
	JS      jetstream.JetStream
	Name    string
	Subject string // the subjects delivery reads (BRIDGE_SUBJECT)
	// Rules read messages as delivery does (the event cap, the fence).
	Rules consume.Rules
}

// StreamOf reads cfg's stream as delivery does.
func StreamOf(js jetstream.JetStream, cfg config.Config) (Stream, error) {
	r, err := consume.RulesOf(cfg)
	return Stream{JS: js, Name: cfg.Bridge.Stream, Subject: cfg.Bridge.Subject, Rules: r}, err
}

// fetchBatch is how many messages one fetch asks for.
const fetchBatch = 256

// Read calls each, oldest first, for every event of the messages stored
// in w, computing ids exactly as delivery does (consume.Deliverables). It
// reads through an ordered consumer of its own, which acknowledges nothing
// and leaves the bridge's durable consumer alone. newest > 0 reads at most
// that many of the latest messages. Messages stored after Read started are
// left out. It stops at each's first error.
func (s Stream) Read(ctx context.Context, w Window, newest uint64, each func(Read) error) error {
	return s.read(ctx, w, 0, func(state jetstream.StreamState) *jetstream.OrderedConsumerConfig {
		if state.Msgs == 0 || state.LastTime.Before(w.From) {
			return nil
		}
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{s.Subject}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &w.From}
		if newest > 0 && state.LastSeq > newest {
			cfg.DeliverPolicy, cfg.OptStartTime, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, state.LastSeq-newest+1
		}
		return &cfg
	}, each)
}

// Above calls each, oldest first, for every event of the messages stored
// after sequence floor (a consumer's ack floor: what it has not delivered
// yet), as Read does, reading at most limit messages (0: no limit).
func (s Stream) Above(ctx context.Context, floor uint64, limit int, each func(Read) error) error {
	return s.read(ctx, Window{}, limit, func(state jetstream.StreamState) *jetstream.OrderedConsumerConfig {
		if state.Msgs == 0 || state.LastSeq <= floor {
			return nil
		}
		return &jetstream.OrderedConsumerConfig{FilterSubjects: []string{s.Subject}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: floor + 1}
	}, each)
}

// read calls each for the events of the messages stored in w, from where
// start says (nil: none to read), at most limit messages when > 0.
func (s Stream) read(ctx context.Context, w Window, limit int, start func(jetstream.StreamState) *jetstream.OrderedConsumerConfig, each func(Read) error) error {
	if s.JS == nil {
		return errors.New("NATS is not reachable")
	}
	st, err := s.JS.Stream(ctx, s.Name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.Name, err)
	}
	info := st.CachedInfo()
	last := info.State.LastSeq
	cfg := start(info.State)
	if cfg == nil {
		return nil
	}
	oc, err := st.OrderedConsumer(ctx, *cfg)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", s.Name, err)
	}
	read := 0
	for {
		// No wait: the messages are stored already; an empty answer means
		// there are no more.
		batch, err := oc.FetchNoWait(fetchBatch)
		if err != nil {
			return fmt.Errorf("read stream %s: %w", s.Name, err)
		}
		n, done := 0, false
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil || done {
				continue
			}
			if md.Sequence.Stream > last || (!w.Until.IsZero() && !md.Timestamp.Before(w.Until)) {
				done = true
				continue
			}
			if !md.Timestamp.Before(w.From) {
				if err := eachEvent(info, s.Rules, msg, md, each); err != nil {
					return err
				}
			}
			read++
			done = md.NumPending == 0 || md.Sequence.Stream == last || read == limit
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("read stream %s: %w", s.Name, err)
		}
		if done || n == 0 || ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// eachEvent decodes one message and calls each for every event in it.
func eachEvent(info *jetstream.StreamInfo, r consume.Rules, msg jetstream.Msg, md *jetstream.MsgMetadata, each func(Read) error) error {
	raw := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	idBase := func() string { return consume.StoredIDBase(info, md.Sequence.Stream) }
	return consume.Deliverables(r, raw, idBase, md.Sequence.Stream, md.Timestamp, func(i int, e *ce.Event, err error) error {
		return each(Read{Sequence: md.Sequence.Stream, Index: i, Stored: md.Timestamp, Event: e, Err: err})
	})
}
