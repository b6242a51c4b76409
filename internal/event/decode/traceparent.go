package decode

// Traceparent is the producer's trace context of event d of a message with
// headers h, as it came: the event's traceparent extension attribute
// (structured mode), its ce-traceparent header (binary mode), else the
// message's traceparent header. Read only when tracing is on.
func Traceparent(d Decoded, h Header) string {
	if d.Event != nil {
		if v, ok := d.Event.Extensions()["traceparent"].(string); ok && v != "" {
			return v
		}
	}
	if v, ok := CEHeader(h, "traceparent"); ok {
		return v
	}
	return HeaderFold(h, "traceparent")
}
