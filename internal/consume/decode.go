package consume

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode/utf8"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

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
	h    nats.Header
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
func Read(h nats.Header, data []byte, max int) Events {
	x := Events{h: h, data: data}
	if _, ok := ceHeader(h, "specversion"); ok {
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

// Len is how many events the message holds.
func (x Events) Len() int { return max(1, len(x.raws)) }

// At decodes event i.
func (x Events) At(i int) Decoded {
	switch {
	case x.err != nil:
		return Decoded{Err: x.err}
	case x.raws != nil:
		d := decodeStructured(x.raws[i])[0]
		d.Raw = x.raws[i]
		return d
	}
	if v, ok := ceHeader(x.h, "specversion"); ok {
		e, err := decodeBinary(x.h, v, x.data)
		return Decoded{Event: e, Err: err}
	}
	return decodeStructured(x.data)[0]
}

// Decode reads every event of a message at once (see Read), with no cap on
// how many.
func Decode(h nats.Header, data []byte) []Decoded {
	x := Read(h, data, math.MaxInt)
	out := make([]Decoded, x.Len())
	for i := range out {
		out[i] = x.At(i)
	}
	return out
}

// splitArray returns the elements of a JSON array, pointing into data, or
// ErrTooManyEvents as soon as it finds more than max.
func splitArray(data []byte, max int) ([]json.RawMessage, error) {
	if !json.Valid(data) {
		var raws []json.RawMessage
		err := json.Unmarshal(data, &raws) // for the error's text
		return nil, err
	}
	raws := make([]json.RawMessage, 0, 8)
	for i := skipSpace(data, 1); data[i] != ']'; {
		if len(raws) == max {
			return nil, ErrTooManyEvents
		}
		end := skipValue(data, i)
		raws = append(raws, data[i:end:end])
		i = skipSpace(data, end)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return raws, nil
}

// decodeStructured reads one structured-mode event, in a Decoded of its
// own. The common shape is read (and its JSON checked) by readStructured;
// everything else is checked by encoding/json and read by the CloudEvents
// SDK, which also says what is wrong with an event.
func decodeStructured(data []byte) []Decoded {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if s := readStructured(trimmed); s != nil {
			s.decoded[0].Event = &s.event
			return s.decoded[:]
		}
	}
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return []Decoded{{Err: fmt.Errorf("%w: not a JSON object (nor binary-mode ce- headers)", ErrUndecodable)}}
	}
	e := ce.New()
	if err := e.UnmarshalJSON(trimmed); err != nil {
		return []Decoded{{Err: fmt.Errorf("%w: %s", event.ErrInvalid, sdkReason(err))}}
	}
	var raw struct {
		Source string `json:"source"`
	}
	if json.Unmarshal(trimmed, &raw) == nil {
		verbatimSource(&e, raw.Source)
	}
	return []Decoded{{Event: &e}}
}

// verbatimSource keeps the producer's source exactly as written. The SDK
// holds a source as a parsed URI reference and writes it back re-encoded
// ("acme platform" becomes "acme%20platform"), while Konnect bills and
// deduplicates on (source, id) as the producer wrote them. An opaque URL
// writes its text back unchanged.
func verbatimSource(e *ce.Event, raw string) {
	if c, ok := e.Context.(*ce.EventContextV1); ok && keepVerbatim(c.Source.String(), raw) {
		c.Source = types.URIRef{URL: url.URL{Opaque: raw}}
	}
}

// keepVerbatim reports whether a source the SDK writes back as parsed
// should be replaced by raw, the producer's text: only when they differ,
// the SDK could parse it at all (one it could not is refused as missing),
// and both are valid UTF-8 (the encoder writes U+FFFD for what is not, and
// JSON decoding may already have done so in raw).
func keepVerbatim(parsed, raw string) bool {
	return raw != "" && parsed != "" && parsed != raw &&
		utf8.ValidString(parsed) && utf8.ValidString(raw) && !strings.ContainsRune(raw, utf8.RuneError)
}

// sdkReason names the attribute in the SDK's one error that does not: a
// time that is not RFC 3339.
func sdkReason(err error) string {
	if msg := err.Error(); strings.Contains(msg, "time.Time") {
		return "time: " + msg
	}
	return err.Error()
}

// decodeBinary builds an event from ce- headers, the content-type header
// and the payload as data, per the CloudEvents NATS binding.
func decodeBinary(h nats.Header, specversion string, data []byte) (*ce.Event, error) {
	if specversion != ce.CloudEventsVersionV1 {
		return nil, fmt.Errorf("%w: ce-specversion: %q is not 1.0", event.ErrInvalid, specversion)
	}
	e := ce.New(ce.CloudEventsVersionV1)
	attrs := ceHeaders(h)
	get := attrs.get
	e.SetID(get("id"))
	e.SetSource(get("source"))
	verbatimSource(&e, get("source"))
	e.SetType(get("type"))
	if s := get("subject"); s != "" {
		e.SetSubject(s)
	}
	if s := get("time"); s != "" {
		t, err := types.ParseTime(s)
		if err != nil {
			return nil, fmt.Errorf("%w: ce-time: %q is not RFC 3339", event.ErrInvalid, s)
		}
		e.SetTime(t)
	}
	if s := get("dataschema"); s != "" {
		e.SetDataSchema(s)
	}
	ct := headerFold(h, "Content-Type")
	if ct == "" {
		ct = get("datacontenttype")
	}
	if ct != "" {
		e.SetDataContentType(ct)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if !json.Valid(data) {
			return nil, fmt.Errorf("%w: data: the payload of a binary-mode event is not JSON", event.ErrInvalid)
		}
		e.DataEncoded = data
	}
	return &e, nil
}

// ceHeader reads a binary-mode attribute header: "ce-" followed by the
// attribute name, in any case ("ce_" is accepted too).
func ceHeader(h nats.Header, name string) (string, bool) {
	for k, v := range h {
		if len(k) != 3+len(name) || len(v) == 0 {
			continue
		}
		if p := k[:3]; (strings.EqualFold(p, "ce-") || strings.EqualFold(p, "ce_")) && strings.EqualFold(k[3:], name) {
			return v[0], true
		}
	}
	return "", false
}

// ceNames are the attributes decodeBinary reads from headers.
var ceNames = [...]string{"id", "source", "type", "subject", "time", "dataschema", "datacontenttype"}

// ceAttrs holds the binary-mode attribute headers of a message, by name.
type ceAttrs [len(ceNames)]string

func (a *ceAttrs) get(name string) string {
	for i, n := range ceNames {
		if n == name {
			return a[i]
		}
	}
	return ""
}

// ceHeaders reads every attribute header of ceNames, as ceHeader would,
// in one pass over h.
func ceHeaders(h nats.Header) (a ceAttrs) {
	for k, v := range h {
		if len(k) < 4 || len(v) == 0 {
			continue
		}
		if p := k[:3]; !strings.EqualFold(p, "ce-") && !strings.EqualFold(p, "ce_") {
			continue
		}
		for i, name := range ceNames {
			if strings.EqualFold(k[3:], name) {
				a[i] = v[0]
				break
			}
		}
	}
	return a
}

// headerFold reads a header in any case: NATS headers are case-sensitive,
// and producers write content-type (the CloudEvents binding's spelling) as
// often as Content-Type.
func headerFold(h nats.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
