package event

import (
	"bytes"
	"time"
	"unicode/utf8"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// AppendJSON appends e as Konnect takes it: the MeteringEvent attributes
// only. Extension attributes (traceparent, partitionkey, ...) are left out,
// since Konnect refuses any attribute it does not know. e must have passed
// Validate.
func AppendJSON(b []byte, e *ce.Event) []byte {
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendString(b, e.ID())
	b = append(b, `,"source":`...)
	b = appendString(b, source(e))
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type())
	b = append(b, `,"subject":`...)
	b = appendString(b, e.Subject())
	if t := e.Time(); !t.IsZero() {
		b = append(b, `,"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if s := e.DataSchema(); s != "" {
		b = append(b, `,"dataschema":`...)
		b = appendString(b, s)
	}
	if d := bytes.TrimSpace(e.Data()); len(d) > 0 && !bytes.Equal(d, null) {
		b = append(b, `,"datacontenttype":"application/json","data":`...)
		b = append(b, d...)
	}
	return append(b, '}')
}

// Source is e's source as delivered, without allocating for a plain name.
func Source(e *ce.Event) string { return source(e) }

// source is e.Source() without its allocation in the usual case, a source
// that is a plain name such as "acme-platform": url.URL.String builds a new
// string on every call, but for a URL that holds nothing but a Path of
// unreserved characters (RFC 3986) it gives back that Path unchanged.
func source(e *ce.Event) string {
	if c, ok := e.Context.(*ce.EventContextV1); ok {
		u := &c.Source.URL
		if u.Scheme == "" && u.Opaque == "" && u.User == nil && u.Host == "" && !u.OmitHost &&
			u.RawPath == "" && !u.ForceQuery && u.RawQuery == "" && u.Fragment == "" && Unreserved(u.Path) {
			return u.Path
		}
	}
	return e.Source()
}

// Unreserved reports whether s is made of RFC 3986 unreserved characters
// only: a URL holding nothing but such a Path writes it back unchanged.
func Unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaping what JSON requires and
// replacing invalid UTF-8 with U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
