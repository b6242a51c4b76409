package event

import (
	"mime"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// EnsureID returns e when it has an id, else a copy with the given id. The
// producer's id always wins: Konnect deduplicates on (source, id).
func EnsureID(e *ce.Event, id string) *ce.Event {
	if e.ID() != "" || id == "" {
		return e
	}
	c := e.Clone()
	c.SetID(id)
	return &c
}

// DefaultTime returns e when it has a time, else a copy stamped with t, so
// that usage is billed in the period the event was produced, not delivered.
func DefaultTime(e *ce.Event, t time.Time) *ce.Event {
	if !e.Time().IsZero() || t.IsZero() {
		return e
	}
	c := e.Clone()
	c.SetTime(t)
	return &c
}

// NormalizeContentType returns e when its datacontenttype is absent or
// exactly application/json, else a copy with parameters such as a charset
// removed from a JSON media type. Other media types are left for Validate.
func NormalizeContentType(e *ce.Event) *ce.Event {
	ct := e.DataContentType()
	if ct == "" || ct == JSON {
		return e
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != JSON {
		return e
	}
	c := e.Clone()
	c.SetDataContentType(JSON)
	return &c
}
