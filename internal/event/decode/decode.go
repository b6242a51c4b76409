// Package decode reads CloudEvents from the bytes a producer published:
// binary mode (ce- headers carry the attributes, the payload is the data),
// structured mode (the payload is the event's JSON) and JSON arrays of
// structured events. It owns the fast reader of the common structured
// shape, which gives exactly what the CloudEvents SDK would (fuzzed against
// it), and the one JSON scanner behind it. It never touches NATS or HTTP:
// headers are a plain map (Header and http.Header convert), and what
// an event must be for Konnect is the event package's.
package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// Header is a message's headers by name, as Header holds them.
type Header = map[string][]string

// ErrUndecodable marks a message that is not JSON or not a CloudEvent at
// all. The caller dead-letters it raw; it is never retried.
var ErrUndecodable = errors.New("undecodable message")

// Decoded is one event read from a message, or why it could not be read.
type Decoded struct {
	Event *ce.Event
	// Raw is the event's own JSON when the message held an array of events;
	// nil when the event is the whole message.
	Raw []byte
	// Err wraps ErrUndecodable or event.ErrInvalid.
	Err error
}

// ErrTooManyEvents marks a message holding more events than
// BRIDGE_MAX_EVENTS_PER_MESSAGE. The caller dead-letters it whole, once;
// none of its events is decoded.
var ErrTooManyEvents = errors.New("too many events in one message")

// Events is one message read as events, each decoded only when asked
// for, so that what a message costs does not grow with how many events it
// packs. The zero value holds no event.
type Events struct {
	h    Header
	data []byte
	// raws are the elements of an array message; nil for one event.
	raws []json.RawMessage
	// err, when set, is the message's only event: it could not be split.
	err error
}

// Read splits a message into its events in the forms producers send:
// binary mode (ce-* headers carry the attributes, the payload is the data),
// structured mode (the payload is the event's JSON) and a JSON array of
// structured events. An array of more than max events is one event whose
// error wraps ErrTooManyEvents. A message always holds at least one event.
func Read(h Header, data []byte, max int) Events {
	x := Events{h: h, data: data}
	if _, ok := CEHeader(h, "specversion"); ok {
		return x
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return x
	}
	raws, err := splitArray(trimmed, max)
	switch {
	case errors.Is(err, ErrTooManyEvents):
		x.err = fmt.Errorf("%w: more than %d (BRIDGE_MAX_EVENTS_PER_MESSAGE)", ErrTooManyEvents, max)
	case err != nil:
		x.err = fmt.Errorf("%w: not a JSON array of events: %v", ErrUndecodable, err)
	case len(raws) == 0:
		x.err = fmt.Errorf("%w: empty array of events", ErrUndecodable)
	default:
		x.raws = raws
	}
	return x
}

// Failed is a message whose only event is err: one the caller could not
// read as events at all (a mapping that failed, for one).
func Failed(err error) Events { return Events{err: err} }

// Len is how many events the message holds.
func (x Events) Len() int { return max(1, len(x.raws)) }

// Raw is event i's own JSON when the message is an array of events; nil
// when the event is the whole message.
func (x Events) Raw(i int) []byte {
	if x.raws == nil {
		return nil
	}
	return x.raws[i]
}

// At decodes event i, afresh on every call: the event returned is the
// caller's own, to complete in place (see event.FillID), and shares nothing
// another call returns but the message's bytes, which nothing writes.
func (x Events) At(i int) Decoded {
	switch {
	case x.err != nil:
		return Decoded{Err: x.err}
	case x.raws != nil:
		d := decodeStructured(x.raws[i])[0]
		d.Raw = x.Raw(i)
		return d
	}
	if v, ok := CEHeader(x.h, "specversion"); ok {
		e, err := decodeBinary(x.h, v, x.data)
		return Decoded{Event: e, Err: err}
	}
	return decodeStructured(x.data)[0]
}

// Decode reads every event of a message at once (see Read), with no cap on
// how many.
func Decode(h Header, data []byte) []Decoded {
	x := Read(h, data, math.MaxInt)
	out := make([]Decoded, x.Len())
	for i := range out {
		out[i] = x.At(i)
	}
	return out
}

// splitArray returns the elements of a JSON array, pointing into data, or
// ErrTooManyEvents when it holds more than max: checked and split in one
// pass of the scanner. data starts with '['.
func splitArray(data []byte, max int) ([]json.RawMessage, error) {
	raws := make([]json.RawMessage, 0, 8)
	i := skipSpace(data, 1)
	n := 0
	if i < len(data) && data[i] == ']' {
		i++
	} else {
		for {
			end := jsonValue(data, i, 2)
			if end < 0 {
				return splitSlowly(data, max)
			}
			if n < max {
				raws = append(raws, data[i:end:end])
			}
			n++
			if i = skipSpace(data, end); i >= len(data) {
				return splitSlowly(data, max)
			}
			if data[i] == ']' {
				i++
				break
			}
			if data[i] != ',' {
				return splitSlowly(data, max)
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return splitSlowly(data, max)
	}
	if n > max {
		return nil, ErrTooManyEvents
	}
	return raws, nil
}

// splitSlowly is splitArray for what the scanner does not take: JSON that
// is not valid (encoding/json says why) or nested deeper than maxDepth.
func splitSlowly(data []byte, max int) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, err
	}
	if len(raws) > max {
		return nil, ErrTooManyEvents
	}
	return raws, nil
}
