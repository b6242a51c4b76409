package consume

import (
	"strconv"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// Deliverable is event i of the n decoded from a message with header h,
// exactly as delivery sends it to Konnect: the producer's id, else the
// Nats-Msg-Id header, else one from idBase (with "/i" for an array); the
// producer's time, else stored; a JSON content type without parameters. An
// error means delivery dead-letters it (it wraps ErrUndecodable or
// event.ErrInvalid). Delivery and `bridge reconcile` both call it, so they
// always agree on an event's id.
func Deliverable(d Decoded, i, n int, h nats.Header, idBase func() string, stored time.Time) (*ce.Event, error) {
	if d.Err != nil {
		return nil, d.Err
	}
	e := event.NormalizeContentType(d.Event)
	if e.ID() == "" {
		base := h.Get(jetstream.MsgIDHeader)
		if base == "" {
			base = idBase()
		}
		if n > 1 {
			base += "/" + strconv.Itoa(i)
		}
		e = event.EnsureID(e, base)
	}
	e = event.DefaultTime(e, stored)
	if err := event.Validate(e); err != nil {
		return nil, err
	}
	return e, nil
}

// StoredIDBase is the id base of a message stored in a JetStream stream:
// "<stream identity>-<sequence>", where the identity tells the stream apart
// from an earlier one of the same name.
func StoredIDBase(info *jetstream.StreamInfo, seq uint64) string {
	return sequenceID(StreamIdentity(info), seq)
}

// StreamIdentity is the stream's name and creation time: the same for as
// long as the stream lives, different for a stream created again.
func StreamIdentity(info *jetstream.StreamInfo) string {
	return info.Config.Name + "-" + strconv.FormatInt(info.Created.UnixNano(), 36)
}
