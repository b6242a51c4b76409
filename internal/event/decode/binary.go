package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// decodeBinary builds an event from ce- headers, the content-type header
// and the payload as data, per the CloudEvents NATS binding.
func decodeBinary(h Header, specversion string, data []byte) (*ce.Event, error) {
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
	ct := HeaderFold(h, "Content-Type")
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

// ceName is the attribute a binary-mode header names: what follows "ce-"
// (or "ce_", in any case); ok is false for any other header.
func ceName(k string) (name string, ok bool) {
	if len(k) < 4 {
		return "", false
	}
	if p := k[:3]; !strings.EqualFold(p, "ce-") && !strings.EqualFold(p, "ce_") {
		return "", false
	}
	return k[3:], true
}

// CEHeader reads a binary-mode attribute header: "ce-" followed by the
// attribute name, in any case ("ce_" is accepted too).
func CEHeader(h Header, name string) (string, bool) {
	for k, v := range h {
		if n, ok := ceName(k); ok && len(v) > 0 && strings.EqualFold(n, name) {
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

// ceHeaders reads every attribute header of ceNames, as CEHeader would,
// in one pass over h.
func ceHeaders(h Header) (a ceAttrs) {
	for k, v := range h {
		n, ok := ceName(k)
		if !ok || len(v) == 0 {
			continue
		}
		for i, name := range ceNames {
			if strings.EqualFold(n, name) {
				a[i] = v[0]
				break
			}
		}
	}
	return a
}

// HeaderFold reads a header in any case: NATS headers are case-sensitive,
// and producers write content-type (the CloudEvents binding's spelling) as
// often as Content-Type.
func HeaderFold(h Header, name string) string {
	if v := h[name]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
