package consume

import (
	"math"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
)

// Rules are what decides, besides the event itself, how delivery reads a
// message: the cap on events per message, the fence and the mapping. The
// zero value has none of them.
type Rules struct {
	MaxEvents int
	Fence     *fence.Rule
	// Mapping maps messages in a producer's own shape; nil: off.
	Mapping *mapping.Mapping
}

// RulesOf are cfg's rules; the mapping file is loaded and compiled.
func RulesOf(cfg config.Config) (Rules, error) {
	rule, err := cfg.Fence.Rule()
	if err != nil {
		return Rules{}, err
	}
	r := Rules{MaxEvents: cfg.Batch.MaxEventsPerMessage, Fence: rule}
	if cfg.Bridge.Mapping != "" {
		r.Mapping, err = mapping.Load(cfg.Bridge.Mapping)
	}
	return r, err
}

// read splits msg into its events: the one event the first matching
// mapping rule makes of it (or why it could not), else the events it holds
// as CloudEvents (see decode.Read). p is the message's provenance.
func (r Rules) read(msg *nats.Msg, p provenance, limit int) decode.Events {
	if r.Mapping != nil {
		e, matched, err := r.Mapping.Map(mapping.Message{Subject: msg.Subject, Header: msg.Header, Data: msg.Data, Seq: p.seq, Stored: p.stored})
		switch {
		case err != nil:
			return decode.Failed(err)
		case matched:
			return decode.Read(nil, e, limit)
		}
	}
	return decode.Read(msg.Header, msg.Data, limit)
}

// Deliverables calls each with every event of msg exactly as delivery
// sends it to Konnect, or with the error delivery dead-letters it for
// (wrapping decode.ErrUndecodable, decode.ErrTooManyEvents,
// mapping.ErrUnmappable, fence.ErrRefused or event.ErrInvalid): a non-nil
// err means undeliverable, and e is then the event as far as it was
// completed, nil when it could not be decoded. idBase, seq (its stream
// sequence; 0 when not known) and stored are what the source knows of the
// message (see provenance). Delivery and `bridge reconcile` share this
// path, so they always agree on an event's id and time.
func Deliverables(r Rules, msg *nats.Msg, idBase func() string, seq uint64, stored time.Time, each func(i int, e *ce.Event, err error) error) error {
	limit := r.MaxEvents
	if limit <= 0 {
		limit = math.MaxInt
	}
	p := provenance{base: idBase(), seq: seq, stored: stored}.withHeaders(msg.Header)
	events := r.read(msg, p, limit)
	n := events.Len()
	for i := range n {
		e, _, err := deliverable(events.At(i), i, n, msg.Subject, p, r.Fence, event.Clock{})
		if err := each(i, e, err); err != nil {
			return err
		}
	}
	return nil
}

// deliverable makes event i of n of a message deliverable: the producer's
// id, else one derived from the message (see provenance); the producer's
// time, else the time the message was stored; a JSON content type without
// parameters; and, with the fence on, a customer the subject it arrived on
// allows. The decoded event is the caller's own: it is completed in place.
// An event the fence or validation refuses is returned with the error. The
// bound the producer's time breaks, as of clock, is returned too: with
// BRIDGE_TIME_POLICY=deadletter, with an error wrapping event.ErrOutOfTime.
// A time the bridge fills in breaks none.
func deliverable(d decode.Decoded, i, n int, subject string, p provenance, rule *fence.Rule, clock event.Clock) (*ce.Event, event.Bound, error) {
	if d.Err != nil {
		return nil, event.InTime, d.Err
	}
	e := d.Event
	event.NormalizeContentType(e)
	if e.ID() == "" {
		event.FillID(e, p.eventID(i, n))
	}
	bound, late := event.InTime, error(nil)
	if e.Time().IsZero() {
		event.FillTime(e, p.stored)
	} else {
		bound, late = clock.Check(e)
	}
	if err := rule.Admit(e, subject); err != nil {
		return e, bound, err
	}
	if err := event.Validate(e); err != nil {
		return e, bound, err
	}
	return e, bound, late
}

// StoredIDBase is the id base of a message stored in a JetStream stream:
// "<stream identity>-<sequence>", where the identity tells the stream apart
// from an earlier one of the same name.
func StoredIDBase(info *jetstream.StreamInfo, seq uint64) string {
	return sequenceID(StreamIdentity(info), seq)
}

// StreamIdentity is the id base of a stream: the one in its metadata
// (IDBaseMetadata) when there is one, which a stream the bridge created
// keeps through a backup and restore; else its name and creation time. It
// is the same for as long as the stream lives, and different for a stream
// created again.
func StreamIdentity(info *jetstream.StreamInfo) string {
	if base := info.Config.Metadata[IDBaseMetadata]; base != "" {
		return base
	}
	return identityAt(info.Config.Name, info.Created)
}
