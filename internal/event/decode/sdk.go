package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

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
