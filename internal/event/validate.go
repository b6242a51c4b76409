package event

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// ErrInvalid marks an event Konnect would refuse. It is never worth a retry:
// the caller dead-letters the event with the error's text as the reason.
var ErrInvalid = errors.New("invalid event")

// JSON is the only data content type Konnect takes.
const JSON = "application/json"

// Validate reports the first rule of Konnect's MeteringEvent that e breaks,
// wrapped in ErrInvalid, or nil when Konnect would accept it. Extension
// attributes are not checked: Encode leaves them out.
func Validate(e *ce.Event) error {
	if e.Context == nil {
		return invalid("specversion", "missing")
	}
	if v := e.SpecVersion(); v != ce.CloudEventsVersionV1 {
		return invalid("specversion", fmt.Sprintf("%q is not 1.0", v))
	}
	for _, f := range []struct{ name, value string }{
		{"id", e.ID()}, {"source", source(e)}, {"type", e.Type()}, {"subject", e.Subject()},
	} {
		if strings.TrimSpace(f.value) == "" {
			return invalid(f.name, "required, must be a non-empty string")
		}
	}
	if ct := e.DataContentType(); ct != "" && ct != JSON {
		return invalid("datacontenttype", fmt.Sprintf("%q is not application/json", ct))
	}
	if s := e.DataSchema(); s != "" {
		if u, err := url.Parse(s); err != nil || !u.IsAbs() {
			return invalid("dataschema", fmt.Sprintf("%q is not an absolute URI", s))
		}
	}
	if e.DataBase64 {
		return invalid("data_base64", "binary data is not accepted; send data as a JSON object")
	}
	if d := bytes.TrimSpace(e.Data()); len(d) > 0 && !bytes.Equal(d, null) && d[0] != '{' {
		return invalid("data", "must be a JSON object")
	}
	return nil
}

var null = []byte("null")

func invalid(field, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, reason)
}
