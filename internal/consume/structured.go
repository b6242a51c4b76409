package consume

import (
	"net/url"
	"strings"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
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
	// First pass: where each attribute's value is.
	var at [attrCount]span
	var seen uint16
	i := skipSpace(data, 1)
	if i < len(data) && data[i] == '}' {
		return nil // no specversion
	}
	for {
		key, ok := stringAt(data, i)
		if !ok {
			return nil
		}
		i = skipSpace(data, key.end+1)
		if i >= len(data) || data[i] != ':' {
			return nil
		}
		i++
		a := attrOf(string(data[key.start:key.end]))
		if a < 0 || seen&(1<<a) != 0 {
			return nil // an extension, or an attribute given twice
		}
		seen |= 1 << a
		if a == attrData {
			// The SDK keeps what follows the colon, spaces included.
			end := jsonValue(data, skipSpace(data, i), 1)
			if end < 0 {
				return nil
			}
			at[a] = span{i, end}
			i = end
		} else {
			v, ok := stringAt(data, skipSpace(data, i))
			if !ok {
				return nil // not a string, or one with escapes
			}
			at[a] = v
			i = v.end + 1
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil
		}
		if data[i] == '}' {
			break
		}
		if data[i] != ',' {
			return nil
		}
		i = skipSpace(data, i+1)
	}
	if skipSpace(data, i+1) != len(data) || seen&(1<<attrSpecVersion) == 0 {
		return nil
	}

	// Second pass: the event, its strings in one copy.
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
	value := func(a int) string {
		v := all[:at[a].end-at[a].start]
		all = all[len(v):]
		return v
	}
	s := &structured{}
	c := &s.context
	for a := range attrCount {
		if seen&(1<<a) == 0 {
			continue
		}
		if a == attrData {
			s.event.DataEncoded = data[at[a].start:at[a].end:at[a].end]
			continue
		}
		v := value(a)
		switch a {
		case attrSpecVersion:
			if v != ce.CloudEventsVersionV1 {
				return nil
			}
		case attrID:
			c.ID = v
		case attrType:
			c.Type = v
		case attrSource:
			if !plainPath(v) {
				ref := types.ParseURIRef(v)
				if ref == nil {
					return nil
				}
				c.Source = *ref
				if keepVerbatim(ref.String(), v) {
					c.Source = types.URIRef{URL: url.URL{Opaque: v}} // as verbatimSource
				}
				break
			}
			// url.Parse makes a URL of nothing but Path from a string
			// of unreserved characters.
			c.Source.Path = v
		case attrSubject:
			if v != "" {
				s.subject = v
				c.Subject = &s.subject
			}
		case attrTime:
			if v != "" {
				t, err := types.ParseTime(v)
				if err != nil {
					return nil
				}
				s.time.Time = t
				c.Time = &s.time
			}
		case attrContentType:
			if v == "" {
				return nil // the SDK reads "" differently before and after specversion
			}
			s.ctype = v
			c.DataContentType = &s.ctype
		case attrDataSchema:
			c.DataSchema = types.ParseURI(v)
		}
	}
	if mt, _ := c.GetDataMediaType(); seen&(1<<attrData) != 0 && !jsonMediaType(mt) {
		return nil // the SDK reads such data as a string
	}
	s.event.Context = c
	return s
}

// span is where a value lies in the message: [start, end).
type span struct{ start, end int }

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

// stringAt finds the JSON string that starts at b[i] and returns where its
// content lies; ok is false when none starts there, or when it holds an
// escape or is not valid JSON.
func stringAt(b []byte, i int) (v span, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return span{}, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return span{i + 1, j}, true
		case c == '\\' || c < 0x20:
			return span{}, false
		}
	}
	return span{}, false
}

// plainPath reports whether s is non-empty and made of RFC 3986 unreserved
// characters only: url.Parse reads such a string as a URL holding only a
// Path, and URL.String gives it back unchanged.
func plainPath(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// maxDepth bounds the nesting readStructured checks itself; deeper data
// is left to encoding/json.
const maxDepth = 64

// jsonValue checks the JSON value that starts at b[i] as json.Valid
// would, and returns the index after it, or -1 when it is not valid (or
// nested deeper than maxDepth).
func jsonValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return jsonString(b, i)
	case c == '{' || c == '[':
		if depth > maxDepth {
			return -1
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == end {
			return i + 1
		}
		for {
			if c == '{' {
				if i = jsonString(b, i); i < 0 {
					return -1
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return -1
				}
				i = skipSpace(b, i+1)
			}
			if i = jsonValue(b, i, depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			switch b[i] {
			case end:
				return i + 1
			case ',':
				i = skipSpace(b, i+1)
			default:
				return -1
			}
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return jsonNumber(b, i)
	}
	return -1
}

// jsonString returns the index after the JSON string at b[i], or -1.
func jsonString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i++; i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// jsonNumber returns the index after the JSON number at b[i], or -1.
func jsonNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// skipValue returns the index after the JSON value starting at b[i], which
// json.Valid has accepted.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && !(b[i] == ',' || b[i] == '}' || b[i] == ']' || b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++ // a number, true, false or null
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}
