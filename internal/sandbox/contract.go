package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"
)

// violation is a request body that breaks the contract: the detail names what
// broke, params lists every broken rule, and nothing of the body is stored.
type violation struct {
	detail string
	params []invalidParameter
}

// invalidParameter is one broken rule, shaped like the items of the OpenAPI's
// BadRequestError.invalid_parameters. Field is "[3].subject" in a batch and
// "subject" in a single event; "body" or "Content-Type" for the request.
type invalidParameter struct {
	Field   string   `json:"field"`
	Rule    string   `json:"rule,omitempty"`
	Source  string   `json:"source"`
	Reason  string   `json:"reason"`
	Minimum int      `json:"minimum,omitempty"`
	Choices []string `json:"choices,omitempty"`
}

// bodyShapes says which JSON shapes each accepted media type takes.
var bodyShapes = map[string]struct{ object, array bool }{
	"application/cloudevents+json":       {object: true},
	"application/cloudevents-batch+json": {array: true},
	"application/json":                   {object: true, array: true},
}

// attributes are the only attributes a MeteringEvent may have.
var attributes = map[string]bool{
	"id": true, "source": true, "specversion": true, "type": true, "subject": true,
	"time": true, "data": true, "datacontenttype": true, "dataschema": true,
}

// decode splits an ingest body into its events, checking the whole body against
// the MeteringEvent schema first: one broken rule anywhere returns no events.
func decode(contentType string, body []byte) ([]Event, *violation) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	shape, ok := bodyShapes[mediaType]
	if err != nil || !ok {
		choices := slices.Sorted(maps.Keys(bodyShapes))
		return nil, &violation{
			detail: fmt.Sprintf("unsupported Content-Type [%s]: use one of %s", contentType, strings.Join(choices, ", ")),
			params: []invalidParameter{{Field: "Content-Type", Rule: "enum", Source: "header", Reason: "is not a supported media type", Choices: choices}},
		}
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, bodyViolation("invalid", "the body is not JSON: "+err.Error())
	}
	var objects []json.RawMessage
	switch {
	case raw[0] == '{' && shape.object:
		objects = []json.RawMessage{raw}
	case raw[0] == '[' && shape.array:
		_ = json.Unmarshal(raw, &objects) // raw is a valid array
		if len(objects) == 0 {
			v := bodyViolation("min_items", "the body is an empty batch: send at least one event")
			v.params[0].Minimum = 1
			return nil, v
		}
	case shape.array && shape.object:
		return nil, bodyViolation("type", fmt.Sprintf("the body must be an event object or an array of them for Content-Type [%s]", mediaType))
	case shape.array:
		return nil, bodyViolation("is_array", fmt.Sprintf("the body must be a JSON array of events for Content-Type [%s]", mediaType))
	default:
		return nil, bodyViolation("is_object", fmt.Sprintf("the body must be one event object for Content-Type [%s]", mediaType))
	}

	events := make([]Event, 0, len(objects))
	var params []invalidParameter
	for i, obj := range objects {
		at := ""
		if raw[0] == '[' {
			at = fmt.Sprintf("[%d]", i)
		}
		e, bad := checkEvent(at, obj)
		events = append(events, e)
		params = append(params, bad...)
	}
	if len(params) > 0 {
		return nil, &violation{detail: summarize(params), params: params}
	}
	return events, nil
}

func bodyViolation(rule, detail string) *violation {
	return &violation{detail: detail, params: []invalidParameter{{Field: "body", Rule: rule, Source: "body", Reason: detail}}}
}

// summarize names the broken rules in one detail line.
func summarize(params []invalidParameter) string {
	const shown = 5
	parts := make([]string, 0, shown)
	for _, p := range params[:min(len(params), shown)] {
		parts = append(parts, p.Field+" "+p.Reason)
	}
	detail := "invalid events, none stored: " + strings.Join(parts, "; ")
	if len(params) > shown {
		detail += fmt.Sprintf("; and %d more", len(params)-shown)
	}
	return detail
}

// checkEvent checks one event against the MeteringEvent schema; at locates it
// in the body ("[3]", or "" for a lone event).
func checkEvent(at string, raw json.RawMessage) (Event, []invalidParameter) {
	c := eventCheck{at: at}
	if err := json.Unmarshal(raw, &c.attrs); err != nil || c.attrs == nil {
		field := at
		if field == "" {
			field = "body"
		}
		return Event{}, []invalidParameter{{Field: field, Rule: "is_object", Source: "body", Reason: "must be an event object"}}
	}
	e := Event{Raw: raw}
	e.ID = c.required("id")
	e.Source = c.required("source")
	if _, err := url.Parse(e.Source); err != nil {
		c.fail("source", "invalid", "must be a URI-reference: "+err.Error())
	}
	if v := c.required("specversion"); v != "" && v != "1.0" {
		c.failChoice("specversion", "must be [1.0]", "1.0")
	}
	e.Type = c.required("type")
	e.Subject = c.required("subject")
	if t, ok := c.optional("time"); ok {
		if _, err := time.Parse(time.RFC3339, t); err != nil {
			c.fail("time", "is_date_time", "must be an RFC 3339 date-time or null")
		}
		e.Time = t
	}
	if ct, ok := c.optional("datacontenttype"); ok {
		if ct != "application/json" {
			c.failChoice("datacontenttype", "must be [application/json] or null", "application/json")
		}
		e.DataContentType = ct
	}
	if ds, ok := c.optional("dataschema"); ok {
		if u, err := url.Parse(ds); err != nil || !u.IsAbs() {
			c.fail("dataschema", "invalid", "must be an absolute URI or null")
		}
		e.DataSchema = ds
	}
	if d, ok := c.attrs["data"]; ok && !isNull(d) {
		if d[0] != '{' {
			c.fail("data", "is_object", "must be a JSON object or null")
		} else {
			e.Data = d
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.attrs)) {
		if !attributes[name] {
			c.fail(name, "unknown_property", "is not allowed: an event takes no attributes beyond the MeteringEvent schema")
		}
	}
	return e, c.bad
}

// eventCheck collects the broken rules of one event.
type eventCheck struct {
	at    string
	attrs map[string]json.RawMessage
	bad   []invalidParameter
}

func (c *eventCheck) fail(name, rule, reason string) {
	field := name
	if c.at != "" {
		field = c.at + "." + name
	}
	c.bad = append(c.bad, invalidParameter{Field: field, Rule: rule, Source: "body", Reason: reason})
}

func (c *eventCheck) failChoice(name, reason string, choices ...string) {
	c.fail(name, "enum", reason)
	c.bad[len(c.bad)-1].Choices = choices
}

// required returns a required non-empty string attribute, or "" after
// recording why it is not one.
func (c *eventCheck) required(name string) string {
	v, ok := c.attrs[name]
	if !ok {
		c.fail(name, "required", "is required")
		return ""
	}
	s, ok := asString(v)
	switch {
	case !ok:
		c.fail(name, "is_string", "must be a string")
	case s == "":
		c.fail(name, "min_length", "must not be empty")
		c.bad[len(c.bad)-1].Minimum = 1
	}
	return s
}

// optional returns a nullable string attribute and whether it is a string:
// false when absent or null, and after recording a failure when it is
// something else.
func (c *eventCheck) optional(name string) (string, bool) {
	v, ok := c.attrs[name]
	if !ok || isNull(v) {
		return "", false
	}
	s, ok := asString(v)
	if !ok {
		c.fail(name, "is_string", "must be a string or null")
	}
	return s, ok
}

func asString(v json.RawMessage) (string, bool) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func isNull(v json.RawMessage) bool { return bytes.Equal(v, []byte("null")) }
