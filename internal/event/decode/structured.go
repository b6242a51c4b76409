package decode

import (
	"net/url"
	"strings"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// structured is everything a structured-mode event read by readStructured
// points to, allocated at once: the event, its context, the attributes the
// context holds by pointer, and the Decoded that Decode returns for a
// message holding this one event.
type structured struct {
	event   ce.Event
	context ce.EventContextV1
	subject string
	ctype   string
	time    types.Timestamp
	decoded [1]Decoded
}

// readStructured reads the common shape of a structured-mode event in a
// single pass that also checks the JSON: specversion 1.0, the
// MeteringEvent attributes at most once each, string values without
// escapes, data that is JSON. It returns the same event as the CloudEvents
// SDK's UnmarshalJSON would, with data pointing into the message rather
// than copied, or nil for anything else: JSON that is not valid,
// extensions, escapes, a repeated or unusual attribute, a value the SDK
// refuses. The caller then checks the JSON with encoding/json and lets the
// SDK read the event, and report what is wrong with it. data starts with
// '{'.
func readStructured(data []byte) *structured {
	at, seen, ok := locate(data)
	if !ok || seen&(1<<attrSpecVersion) == 0 {
		return nil
	}
	s := &structured{}
	if !s.fill(data, at, seen) {
		return nil
	}
	c := &s.context
	if mt, _ := c.GetDataMediaType(); seen&(1<<attrData) != 0 && !jsonMediaType(mt) {
		return nil // the SDK reads such data as a string
	}
	s.event.Context = c
	return s
}

// locate is readStructured's first pass: where each attribute's value is,
// and which are there. ok is false for anything readStructured leaves to
// the SDK.
func locate(data []byte) (at [attrCount]span, seen uint16, ok bool) {
	i := skipSpace(data, 1)
	if i < len(data) && data[i] == '}' {
		return at, 0, false // no specversion
	}
	for {
		key, ok := stringAt(data, i)
		if !ok {
			return at, 0, false
		}
		i = skipSpace(data, key.end+1)
		if i >= len(data) || data[i] != ':' {
			return at, 0, false
		}
		i++
		a := attrOf(string(data[key.start:key.end]))
		if a < 0 || seen&(1<<a) != 0 {
			return at, 0, false // an extension, or an attribute given twice
		}
		seen |= 1 << a
		end := 0
		if a == attrData {
			// The SDK keeps what follows the colon, spaces included.
			end = jsonValue(data, skipSpace(data, i), 1)
			at[a] = span{i, end}
		} else {
			at[a], ok = stringAt(data, skipSpace(data, i))
			end = at[a].end + 1 // past the closing quote
		}
		if !ok || end < 0 {
			return at, 0, false // not valid, or a string with escapes
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return at, 0, false
		}
		if data[i] == '}' {
			return at, seen, skipSpace(data, i+1) == len(data)
		}
		if data[i] != ',' {
			return at, 0, false
		}
		i = skipSpace(data, i+1)
	}
}

// fill is readStructured's second pass: the event, its strings in one
// copy. It reports false for a value the SDK would read otherwise or
// refuse.
func (s *structured) fill(data []byte, at [attrCount]span, seen uint16) bool {
	n := 0
	for a, v := range at {
		if a != attrData {
			n += v.end - v.start
		}
	}
	var text strings.Builder
	text.Grow(n)
	for a, v := range at {
		if a != attrData {
			text.Write(data[v.start:v.end])
		}
	}
	all := text.String()
	for a := range attrCount {
		if a == attrData {
			if seen&(1<<a) != 0 {
				s.event.DataEncoded = data[at[a].start:at[a].end:at[a].end]
			}
			continue
		}
		v := all[:at[a].end-at[a].start]
		all = all[len(v):]
		if seen&(1<<a) != 0 && !s.set(a, v) {
			return false
		}
	}
	return true
}

// set gives the event attribute a the value v.
func (s *structured) set(a int, v string) bool {
	c := &s.context
	switch a {
	case attrSpecVersion:
		return v == ce.CloudEventsVersionV1
	case attrID:
		c.ID = v
	case attrType:
		c.Type = v
	case attrSource:
		return s.setSource(v)
	case attrSubject:
		if v != "" {
			s.subject = v
			c.Subject = &s.subject
		}
	case attrTime:
		if v != "" {
			t, err := types.ParseTime(v)
			if err != nil {
				return false
			}
			s.time.Time = t
			c.Time = &s.time
		}
	case attrContentType:
		if v == "" {
			return false // the SDK reads "" differently before and after specversion
		}
		s.ctype = v
		c.DataContentType = &s.ctype
	case attrDataSchema:
		c.DataSchema = types.ParseURI(v)
	}
	return true
}

// setSource reads the source as the SDK would, kept verbatim (see
// verbatimSource).
func (s *structured) setSource(v string) bool {
	c := &s.context
	if plainPath(v) {
		// url.Parse makes a URL of nothing but Path from a string of
		// unreserved characters.
		c.Source.Path = v
		return true
	}
	ref := types.ParseURIRef(v)
	if ref == nil {
		return false
	}
	c.Source = *ref
	if keepVerbatim(ref.String(), v) {
		c.Source = types.URIRef{URL: url.URL{Opaque: v}} // as verbatimSource
	}
	return true
}

// Attributes readStructured knows, in the order their strings are copied.
const (
	attrSpecVersion = iota
	attrID
	attrSource
	attrType
	attrSubject
	attrTime
	attrContentType
	attrDataSchema
	attrData
	attrCount
)

// attrOf is the attribute named key, -1 for any other name.
func attrOf(key string) int {
	switch key {
	case "specversion":
		return attrSpecVersion
	case "id":
		return attrID
	case "source":
		return attrSource
	case "type":
		return attrType
	case "subject":
		return attrSubject
	case "time":
		return attrTime
	case "datacontenttype":
		return attrContentType
	case "dataschema":
		return attrDataSchema
	case "data":
		return attrData
	}
	return -1
}

// jsonMediaType is the SDK's list of media types whose data is JSON.
func jsonMediaType(mt string) bool {
	switch mt {
	case "", ce.ApplicationJSON, ce.TextJSON, ce.ApplicationCloudEventsJSON, ce.ApplicationCloudEventsBatchJSON:
		return true
	}
	return false
}

// plainPath reports whether s is non-empty and made of RFC 3986 unreserved
// characters only: url.Parse reads such a string as a URL holding only a
// Path, and URL.String gives it back unchanged.
func plainPath(s string) bool { return s != "" && event.Unreserved(s) }
