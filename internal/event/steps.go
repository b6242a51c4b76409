package event

import (
	"mime"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// The steps below complete an event that belongs to the caller, such as
// one just decoded from a message, in place, so that making an event
// deliverable copies nothing: the Fill steps set one attribute only where
// the event lacks it, and NormalizeContentType rewrites a JSON content type
// that carries parameters. An event another part of the program may still read must not be
// given to them.

// FillID gives e the id when it has none. The producer's id always wins:
// Konnect deduplicates on (source, id).
func FillID(e *ce.Event, id string) {
	if e.ID() == "" && id != "" {
		e.SetID(id)
	}
}

// FillTime stamps e with t when it has no time, so that usage is billed in
// the period the event was produced, not delivered.
func FillTime(e *ce.Event, t time.Time) {
	if e.Time().IsZero() && !t.IsZero() {
		e.SetTime(t)
	}
}

// FillSubject makes e bill customer when it names none.
func FillSubject(e *ce.Event, customer string) {
	if e.Subject() == "" && customer != "" {
		e.SetSubject(customer)
	}
}

// NormalizeContentType removes parameters such as a charset from a JSON
// datacontenttype. Other media types are left for Validate.
func NormalizeContentType(e *ce.Event) {
	ct := e.DataContentType()
	if ct == "" || ct == JSON {
		return
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == JSON {
		e.SetDataContentType(JSON)
	}
}
