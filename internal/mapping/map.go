package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// ErrUnmappable marks a message a rule matched but could not map: a field
// failed to evaluate or yielded what an event cannot hold. The caller
// dead-letters the message with the error's text; it is never retried.
var ErrUnmappable = errors.New("unmappable message")

// Message is what an expression sees of a NATS message. Headers are seen
// as a map of each header's first value; Seq and Stored are zero where
// there is no stream.
type Message struct {
	Subject string
	Header  map[string][]string
	Data    []byte
	Seq     uint64
	Stored  time.Time
}

// Map maps msg by the first rule whose subject and when match it: the
// structured CloudEvent's JSON, without id or time when the rule gives
// none (the bridge derives them as for any event). matched is false when
// no rule matches; the message is then read as a CloudEvent. An error
// wraps ErrUnmappable and names the rule and the field.
func (m *Mapping) Map(msg Message) (event []byte, matched bool, err error) {
	var vars map[string]any
	for i := range m.rules {
		r := &m.rules[i]
		if !config.SubjectMatches(r.subject, msg.Subject) {
			continue
		}
		if vars == nil {
			if vars, err = variables(msg); err != nil {
				return nil, true, r.fail("msg", err)
			}
		}
		if r.when != nil {
			ok, err := eval(r.when, vars)
			if err != nil {
				return nil, true, r.fail("when", err)
			}
			if b, isBool := ok.Value().(bool); !isBool {
				return nil, true, r.fail("when", fmt.Errorf("yields %s, not bool", ok.Type()))
			} else if !b {
				continue
			}
		}
		event, err = r.event(vars)
		return event, true, err
	}
	return nil, false, nil
}

// variables are msg's values by the names expressions use.
func variables(msg Message) (map[string]any, error) {
	var body any
	if err := json.Unmarshal(msg.Data, &body); err != nil {
		return nil, fmt.Errorf("payload is not JSON: %v", err)
	}
	headers := make(map[string]string, len(msg.Header))
	for k, v := range msg.Header {
		if len(v) > 0 {
			headers[k] = v[0]
		}
	}
	return map[string]any{
		"msg": body, "subject": msg.Subject, "headers": headers,
		"seq": int64(msg.Seq), "stored": msg.Stored,
	}, nil
}

// attributes are the event's attributes the fields give, by field.
var attributes = [...]string{fieldID: "id", fieldType: "type", fieldSource: "source", fieldCustomer: "subject", fieldTime: "time"}

// event evaluates r's fields into the structured CloudEvent's JSON, its
// members in the order encoding/json gives a map's keys, written straight
// from CEL's values.
func (r *rule) event(vars map[string]any) ([]byte, error) {
	var text [fieldData]string
	for f := range text {
		if r.fields[f] == nil {
			continue
		}
		v, err := eval(r.fields[f], vars)
		if err != nil {
			return nil, r.fail(fieldNames[f], err)
		}
		if text[f], err = value(f, v); err != nil {
			return nil, r.fail(fieldNames[f], err)
		}
	}
	data, err := eval(r.fields[fieldData], vars)
	if err != nil {
		return nil, r.fail("data", err)
	}
	b := append(make([]byte, 0, 512), `{"data":`...)
	if b, err = appendData(b, data); err != nil {
		return nil, r.fail("data", err)
	}
	b = append(b, `,"datacontenttype":"application/json"`...)
	for _, f := range [...]int{fieldID, fieldSource, -1, fieldCustomer, fieldTime, fieldType} {
		switch {
		case f < 0:
			b = append(b, `,"specversion":"1.0"`...)
		case r.fields[f] != nil:
			b = append(append(append(b, `,"`...), attributes[f]...), `":`...)
			b = appendString(b, text[f])
		}
	}
	return append(b, '}'), nil
}

// value is what the attribute field f's result v becomes in the event.
func value(f int, v ref.Val) (string, error) {
	if f == fieldTime {
		switch t := v.Value().(type) {
		case time.Time:
			return t.UTC().Format(time.RFC3339Nano), nil
		case string:
			p, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return "", fmt.Errorf("%q is not an RFC 3339 time", clip(t))
			}
			return p.Format(time.RFC3339Nano), nil
		}
		return "", fmt.Errorf("yields %s, not an RFC 3339 string or a timestamp", v.Type())
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("yields %s, not string", v.Type())
	}
	if f == fieldCustomer && strings.TrimSpace(s) == "" {
		return "", errors.New("yields an empty string; the customer must be a non-empty string")
	}
	return s, nil
}

// eval runs prg on vars; a CEL error value is an error.
func eval(prg cel.Program, vars map[string]any) (ref.Val, error) {
	v, _, err := prg.Eval(vars)
	if err != nil {
		return nil, err
	}
	if types.IsError(v) {
		return nil, v.(*types.Err)
	}
	return v, nil
}

func (r *rule) fail(field string, err error) error {
	return fmt.Errorf("%w: rule %d (subject %q): %s: %v", ErrUnmappable, r.index, r.subject, field, err)
}

// clip shortens text a producer controls before it reaches a reason.
func clip(s string) string {
	const most = 64
	if len(s) > most {
		return s[:most] + "…"
	}
	return s
}
